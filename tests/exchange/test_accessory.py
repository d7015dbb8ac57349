"""Augmentation accessory: the host's frames coded by an accessory process over a Unix socket
(byte-identical to coding locally), bounded queue with busy replies, and fallback to local
coding when the accessory is SIGKILLed mid-stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from edgesdk.errors import InvalidArgumentError
from edgesdk.exchange.accessory import AccessoryClient, AccessoryServer, parse_address

from exchange_helpers import decode_packets, encode_packets, make_clip


def local_packets(codec, frames, keyframe_interval=4):
    from edgesdk.codecs.video import VideoEncoder

    encoder = VideoEncoder(codec.codec(), keyframe_interval=keyframe_interval, b_frames=0)
    out = []
    for frame in frames:
        encoder.push(frame)
        out += [p.to_bytes() for p in encoder.pull()]
    return out


def test_accessory_codes_exactly_what_the_host_would(tmp_path, codec):
    frames = make_clip(8)
    address = f"unix://{tmp_path}/acc.sock"
    server = AccessoryServer(address, codec.codec(), keyframe_interval=4)
    try:
        with AccessoryClient(address, codec.codec, keyframe_interval=4) as host:
            packets = [p for frame in frames for p in host.encode(frame)]
            assert host.remote and host.fallbacks == 0
            pictures = [pic for packet in packets for pic in host.decode(packet)]
        assert packets == local_packets(codec, frames)  # the same bytes as coding on the host
        assert np.array_equal(np.stack(pictures), np.stack(decode_packets(codec, packets)))
        assert server.served == 16
    finally:
        server.close()


def test_bounded_queue_answers_busy_and_nothing_is_lost(tmp_path, codec):
    address = f"unix://{tmp_path}/acc.sock"
    server = AccessoryServer(address, codec.codec(), queue_size=1, keyframe_interval=4, delay=0.03)
    results, errors = {}, []

    def host(name):
        try:
            with AccessoryClient(address, codec.codec, keyframe_interval=4, busy_wait=0.01, busy_retries=400) as client:
                results[name] = ([p for frame in make_clip(4, seed=name) for p in client.encode(frame)],
                                 client.busy_replies, client.fallbacks)
        except BaseException as error:
            errors.append(error)

    try:
        threads = [threading.Thread(target=host, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        server.close()
    assert not errors, errors
    assert server.max_queued <= 1 and server.busy > 0  # backpressure, bounded memory
    for name, (packets, busy, fallbacks) in results.items():
        assert fallbacks == 0
        assert packets == local_packets(codec, make_clip(4, seed=name))
    assert sum(r[1] for r in results.values()) == server.busy


def test_host_falls_back_to_local_coding_when_the_accessory_dies(tmp_path, codec):
    address = f"unix://{tmp_path}/acc.sock"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, "-c", "import sys; from edgesdk.cli import main; sys.exit(main(sys.argv[1:]))",
                                "accessory", "serve", address, "--quality", "1",
                                "--keyframe-interval", "4", "--duration", "120"], stdout=subprocess.PIPE, text=True,
                               env=env)
    try:
        assert "serving" in process.stdout.readline()
        frames = make_clip(10)
        with AccessoryClient(address, codec.codec, keyframe_interval=4, timeout=5) as host:
            packets = [p for frame in frames[:5] for p in host.encode(frame)]
            assert host.remote
            process.send_signal(signal.SIGKILL)  # the dongle is pulled out
            process.wait(10)
            packets += [p for frame in frames[5:] for p in host.encode(frame)]
            assert not host.remote and host.fallbacks == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert len(packets) == 10
    decoded = decode_packets(codec, packets)  # one continuous, valid stream (strict decoder)
    assert len(decoded) == 10
    assert packets[5:] == [p for p in _renumbered(local_packets(codec, frames[5:]), 5)]


def _renumbered(packets, first):
    from edgesdk.bitstream.packets import Packet, parse_packet

    out = []
    for n, data in enumerate(packets):
        packet, _ = parse_packet(data)
        out.append(Packet(packet.stream_id, first + n, packet.payload, packet.flags).to_bytes())
    return out


def test_no_accessory_at_all_codes_locally(tmp_path, codec):
    with AccessoryClient(f"unix://{tmp_path}/none.sock", codec.codec, keyframe_interval=4) as host:
        packets = [p for frame in make_clip(3) for p in host.encode(frame)]
        assert not host.remote
    assert packets == local_packets(codec, make_clip(3))


def test_addresses_are_local_only():
    with pytest.raises(InvalidArgumentError):
        parse_address("tcp://0.0.0.0:9000")
    with pytest.raises(InvalidArgumentError):
        parse_address("http://x")
    assert parse_address("tcp://127.0.0.1:9000")[1] == ("127.0.0.1", 9000)
