"""``edgesdk publish SOURCE nats://HOST:PORT/STREAM`` and ``edgesdk subscribe
nats://HOST:PORT/STREAM DEST`` (docs/exchange.md).

SOURCE: an ``.elv`` latent video (its packets are sent as they are), a store
(``sqlite:///x.db`` or ``x.db``: ``--stream``'s frames), or anything the media layer opens
(a camera, a file, RTSP), encoded on the fly. DEST: an ``.elv`` file (the received packets),
a store (``.db`` or ``sqlite://``), or any media sink (decoded pictures).
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

from edgesdk.cli.latent_io import (
    add_encrypt_options,
    add_key_option,
    encryptor_for,
    is_store,
    open_latent_sink,
    opener_for,
)
from edgesdk.errors import InvalidArgumentError

def _stream_of(uri: str, given: str | None) -> str:
    from urllib.parse import urlsplit

    stream = urlsplit(uri).path.strip("/") or given
    if not stream:
        raise InvalidArgumentError(f"{uri}: name the stream: nats://HOST:PORT/STREAM")
    return stream


def _records(args: argparse.Namespace, stream: str, key_sink=None):
    """Frame records of SOURCE, timestamped when they are ready (capture time for live sources).
    A store's encrypted stream is sent as it is, its wrapped keys first (to ``key_sink``)."""
    from edgesdk.bitstream.packets import read_packets
    from edgesdk.exchange import FrameRecord, open_store

    source = args.source
    if source.lower().endswith(".elv"):
        with open(source, "rb") as handle:
            for packet in read_packets(handle):
                yield FrameRecord.from_packet(stream, packet.to_bytes(), time.time())
        return
    if is_store(source):
        if not args.stream:
            raise InvalidArgumentError("publishing from a store needs --stream (the stored stream to send)")
        with open_store(source) as store:
            epochs = store.key_epochs(args.stream)
            if epochs and stream != args.stream:
                raise InvalidArgumentError(f"stream {args.stream} is stored encrypted, bound to its name; publish it "
                                           f"as nats://HOST:PORT/{args.stream}")
            for epoch in epochs:
                if key_sink is not None:
                    key_sink(stream, epoch, store.keys_of(stream, epoch))
            for record in store.get(args.stream, features=True):
                yield record.with_stream(stream)
        return
    from edgesdk.cli.common import open_codec
    from edgesdk.codecs.video import VideoEncoder
    from edgesdk.media import open_source

    with open_codec(args) as codec, open_source(source) as frames:
        rate = Fraction(frames.fps) if frames.fps else None
        encoder = VideoEncoder(codec.codec(), keyframe_interval=args.keyframe_interval, b_frames=args.b_frames,
                               frame_rate=(rate.numerator, rate.denominator) if rate else None)
        count = 0
        for frame in frames:
            if args.max_frames is not None and count >= args.max_frames:
                break
            count += 1
            encoder.push(frame.pixels)
            for packet in encoder.pull():
                yield FrameRecord.from_packet(stream, packet.to_bytes(), time.time())
        encoder.flush()
        for packet in encoder.pull():
            yield FrameRecord.from_packet(stream, packet.to_bytes(), time.time())


def _publish(args: argparse.Namespace) -> int:
    from edgesdk.exchange import open_transport

    stream = _stream_of(args.destination, None)
    sent = duplicates = size = 0
    start = time.perf_counter()
    with open_transport(args.destination, publish_timeout=args.publish_timeout) as transport:
        encryptor = encryptor_for(args, stream, transport.publish_keys, transport.key_epochs)
        for record in _records(args, stream, transport.publish_keys):
            if encryptor is not None:
                record = encryptor.encrypt(record)
            if transport.publish(record):
                sent += 1
            else:
                duplicates += 1
            size += record.size
    elapsed = time.perf_counter() - start
    sealed = (f", encrypted for {len(encryptor.encryptor.decoders)} decoder(s) (key epochs "
              f"{encryptor.first_epoch}..{encryptor.encryptor.epoch})" if encryptor else "")
    print(f"published {sent} frame(s) ({size} bytes) to {args.destination} in {elapsed:.2f} s{sealed}"
          + (f"; {duplicates} already stored (same message id)" if duplicates else ""))
    return 0


def _subscribe(args: argparse.Namespace) -> int:
    from edgesdk.exchange import open_transport

    stream = _stream_of(args.source, None)
    with open_transport(args.source) as transport:
        opened = opener_for(args, transport.keys_of, keep_sealed=is_store(args.destination))
        sink = open_latent_sink(args, args.destination, transport.keys_of)
        try:
            for record in transport.subscribe(stream, from_start=args.from_start, timeout=args.timeout,
                                              max_frames=args.max_frames, idle_timeout=args.idle_timeout):
                sink.add(opened(record))
        finally:
            sink.close()
    print(f"received {sink.frames} frame(s) of {stream}{sink.describe()}")
    return 0


def add_sender_options(parser: argparse.ArgumentParser) -> None:
    """The options of a command that sends SOURCE (``publish``, ``call``): encoding a media
    source, retrying, encrypting."""
    parser.add_argument("--max-frames", type=int, help="media sources: stop after this many")
    parser.add_argument("--keyframe-interval", type=int, default=32)
    parser.add_argument("--b-frames", type=int, default=0, help="B frames between anchors (0 for low latency)")
    parser.add_argument("--publish-timeout", type=float, default=30.0,
                        help="seconds to keep retrying one frame while the broker is away (default 30)")
    add_encrypt_options(parser)


def add_commands(commands) -> None:
    """Adds ``edgesdk publish`` and ``edgesdk subscribe`` to the CLI's subcommands."""
    from edgesdk.cli.common import add_codec_options

    publish = commands.add_parser("publish", help="send latents to a NATS JetStream stream (nats://HOST:PORT/STREAM)")
    publish.add_argument("source", help=".elv, a store (with --stream), or a media source (camera, file, rtsp://)")
    publish.add_argument("destination", help="nats://HOST:PORT/STREAM")
    publish.add_argument("--stream", help="the stream to send when SOURCE is a store")
    add_sender_options(publish)
    add_codec_options(publish)
    publish.set_defaults(run=_publish)

    subscribe = commands.add_parser("subscribe", help="receive a NATS JetStream stream into a file, store or sink")
    subscribe.add_argument("source", help="nats://HOST:PORT/STREAM")
    subscribe.add_argument("destination", help=".elv, a store (.db, sqlite://), or a media sink (folder/, .y4m, .mp4)")
    subscribe.add_argument("--from-start", action="store_true", help="every stored frame, not only new ones")
    subscribe.add_argument("--max-frames", type=int, help="stop after this many")
    subscribe.add_argument("--timeout", type=float, help="stop after this many seconds")
    subscribe.add_argument("--idle-timeout", type=float, help="stop when nothing arrived for this many seconds")
    add_key_option(subscribe)
    add_codec_options(subscribe, quality=False)
    subscribe.set_defaults(run=_subscribe)
