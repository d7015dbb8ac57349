"""``edgesdk store put|ls|get|export|gc``: the on-device latent store (docs/exchange.md)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from edgesdk.cli.latent_io import ElvSink, add_encrypt_options, add_key_option, encryptor_for, opener_for
from edgesdk.errors import InvalidArgumentError


def _open(args: argparse.Namespace, **options):
    from edgesdk.exchange import open_store

    return open_store(args.store, **options)


def _put(args: argparse.Namespace) -> int:
    from edgesdk.bitstream.packets import read_packets
    from edgesdk.exchange import FrameRecord

    if args.fps <= 0:
        raise InvalidArgumentError("--fps must be positive")
    start = time.time() if args.start_time is None else args.start_time
    stream = args.stream or Path(args.source).stem
    records = []
    with open(args.source, "rb") as handle:
        for position, packet in enumerate(read_packets(handle)):
            records.append(FrameRecord.from_packet(stream, packet.to_bytes(), start + position / args.fps))
    names = None
    if args.features:
        records, names = _with_features(args, records)
    with _open(args, **({} if names is None else {"dimensions": len(names)})) as store:
        if names is not None:
            store.set_feature_names(names)
        if args.encrypt and not hasattr(store, "put_keys"):
            raise InvalidArgumentError(f"{store.label} keeps no stream keys; --encrypt stores into a SQLite store")
        encryptor = encryptor_for(args, stream, getattr(store, "put_keys", None), getattr(store, "key_epochs", None))
        if encryptor is not None:
            if store.frame_indexes(stream):
                raise InvalidArgumentError(f"stream {stream} is already stored; encrypted frames go to a new stream "
                                           "(--stream NAME)")
            records = [encryptor.encrypt(record) for record in records]
        added = store.put_many(records)
    sealed = f", encrypted for {len(encryptor.encryptor.decoders)} decoder(s)" if encryptor else ""
    print(f"{args.store}: stream {stream}: {added} new frame(s), {len(records) - added} already stored{sealed}")
    return 0


def _with_features(args: argparse.Namespace, records: list) -> tuple[list, tuple[str, ...]]:
    """The records with the search codes of their keyframes (docs/latent-search.md), and the
    components' names."""
    import dataclasses

    from edgesdk.cli.common import open_codec
    from edgesdk.search.store import frame_code, identifier_of

    with open_codec(args) as codec:
        names = identifier_of(codec, codec.quality).names
        coded = [dataclasses.replace(r, features=frame_code(codec, r.data)) if r.kind.is_key else r for r in records]
    return coded, names


def _ls(args: argparse.Namespace) -> int:
    with _open(args) as store:
        streams = store.streams()
    if args.json:
        print(json.dumps(streams, indent=2))
        return 0
    for row in streams:
        print(f"{row['stream']:24} {row['frames']:7} frames {row['keyframes']:5} keys {row['bytes']:11} bytes  "
              f"frames {row['first_frame']}..{row['last_frame']}  time {row['first_time']:.3f}..{row['last_time']:.3f}"
              + ("  encrypted" if row.get("encrypted") else ""))
    if not streams:
        print("(empty)")
    return 0


def _write_range(store, args: argparse.Namespace, path) -> int:
    """Writes the range's frame bytes (decrypted with --key) to ``path``, created at the first
    frame: a stream refused at its first frame leaves no file."""
    opened = opener_for(args, store.keys_of, check_replay=False)
    sink = ElvSink(str(path))
    try:
        for record in store.get(args.stream, args.start, args.end, from_keyframe=not args.exact_range):
            sink.add(opened(record))
    finally:
        sink.close()
    return sink.frames


def _get(args: argparse.Namespace) -> int:
    with _open(args) as store:
        count = _write_range(store, args, args.destination)
    if not count:
        raise InvalidArgumentError(f"stream {args.stream} has no frames in that range; nothing written")
    print(f"wrote {count} frame(s) of stream {args.stream} to {args.destination} (the stored packet bytes)")
    return 0


def _export(args: argparse.Namespace) -> int:
    import tempfile

    import time

    from edgesdk.cli import transcode
    from edgesdk.cli.codec import report_batch
    from edgesdk.cli.common import open_codec

    start = time.perf_counter()

    with tempfile.TemporaryDirectory() as folder:
        latent = Path(folder) / f"{args.stream}.elv"
        with _open(args) as store:
            count = _write_range(store, args, latent)
        if not count:
            raise InvalidArgumentError(f"stream {args.stream} has no frames in that range")
        with open_codec(args) as codec:
            batch = transcode.decode(str(latent), args.destination, codec)
    return report_batch(batch, "decoded", start)


def _gc(args: argparse.Namespace) -> int:
    if args.max_age is None and args.max_bytes is None:
        raise InvalidArgumentError("give --max-age and/or --max-bytes")
    with _open(args) as store:
        dropped = store.gc(max_age=args.max_age, max_bytes=args.max_bytes)
    print(f"dropped {dropped['groups']} group(s), {dropped['frames']} frame(s), {dropped['bytes']} bytes")
    return 0


def _range_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stream")
    parser.add_argument("--start", type=float, help="first capture time (seconds since the epoch), inclusive")
    parser.add_argument("--end", type=float, help="last capture time, exclusive")
    parser.add_argument("--exact-range", action="store_true",
                        help="only frames in the range (default: from the keyframe the first one needs)")
    add_key_option(parser)


def add_commands(commands) -> None:
    """Adds ``edgesdk store …`` to the CLI's subcommands."""
    from edgesdk.cli.common import add_codec_options

    store = commands.add_parser("store", help="the on-device latent store (SQLite): put, ls, get, export, gc")
    actions = store.add_subparsers(dest="store_command", required=True)

    put = actions.add_parser("put", help="store the frames of a latent video (.elv)")
    put.add_argument("store", help="store file (created if missing) or sqlite:///path")
    put.add_argument("source", help=".elv file (a packet stream)")
    put.add_argument("--stream", help="stream name (default: the file's stem)")
    put.add_argument("--fps", type=float, default=25.0, help="capture rate for the timestamps (default 25)")
    put.add_argument("--start-time", type=float, help="capture time of the first frame (default: now)")
    add_encrypt_options(put)
    put.add_argument("--features", action="store_true",
                     help="store each keyframe's search code, from its latent (the model's feature identifier)")
    add_codec_options(put)
    put.set_defaults(run=_put)

    ls = actions.add_parser("ls", help="list the streams")
    ls.add_argument("store")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(run=_ls)

    get = actions.add_parser("get", help="write a stream's stored packets (a time range) to an .elv file")
    get.add_argument("store")
    _range_options(get)
    get.add_argument("destination", help=".elv file to write")
    get.set_defaults(run=_get)

    export = actions.add_parser("export", help="decode a stream (a time range) to images or a video")
    export.add_argument("store")
    _range_options(export)
    export.add_argument("destination", help="image folder or video file")
    add_codec_options(export, quality=False)
    export.set_defaults(run=_export)

    gc = actions.add_parser("gc", help="drop the oldest whole groups by age and/or size")
    gc.add_argument("store")
    gc.add_argument("--max-age", type=float, help="seconds; groups whose newest frame is older are dropped")
    gc.add_argument("--max-bytes", type=int, help="drop oldest groups until the frames take at most this")
    gc.set_defaults(run=_gc)
