"""``edgesdk search STORE --query …``: find stored frames by their search codes, computed
from latents alone (docs/latent-search.md)."""

from __future__ import annotations

import argparse
import json

from edgesdk.errors import InvalidArgumentError


def _open_for_search(uri: str):
    """The store at ``uri``, read-only where the store supports it (a missing file or table is
    an error, not a new empty store)."""
    from edgesdk.exchange import open_store
    from edgesdk.exchange.registry import split_uri

    scheme, _ = split_uri(uri)
    return open_store(uri, readonly=True) if scheme in ("sqlite", "postgresql", "postgres") else open_store(uri)


def _search(args: argparse.Namespace) -> int:
    from edgesdk.search.store import example_code, search

    if args.query is None and args.like is None:
        raise InvalidArgumentError("give --query PREDICATES, --like IMAGE_OR_ELI, or both "
                                   "(e.g. --query 'face and brightness < 0.3')")
    example = None
    if args.like is not None:
        from edgesdk.cli.common import model_for, open_codec

        if args.model is None:  # a latent example names its model; an image uses the one shipped identifier's
            args.model = model_for(argparse.Namespace(model=None, source=args.like)) or "lite"
        with open_codec(args) as codec:
            example = example_code(codec, args.like)
    with _open_for_search(args.store) as store:
        matches = search(store, args.query, example, k=args.k, stream=args.stream, limit=args.limit)
        names = store.feature_names or tuple(f"c{i}" for i in range(store.dimensions))
    if args.json:
        print(json.dumps([{"stream": m.stream, "frame": m.frame_index, "distance": m.distance,
                           "code": dict(zip(names, m.code))} for m in matches], indent=1))
        return 0
    for m in matches:
        distance = "" if m.distance is None else f"  distance {m.distance:.4f}"
        code = " ".join(f"{name}={value:.3f}" for name, value in zip(names, m.code))
        print(f"{m.stream} {m.frame_index}{distance}  {code}")
    print(f"{len(matches)} frame(s)")
    return 0


def add_commands(commands) -> None:
    """Adds ``edgesdk search`` to the CLI's subcommands."""
    from edgesdk.cli.common import add_codec_options

    parser = commands.add_parser("search", help="find stored frames by their search codes (no decoding)")
    parser.add_argument("store", help="store file, sqlite:///path or postgresql://… (codes stored by 'store put --features')")
    parser.add_argument("--query", help="predicates joined by 'and': 'face and brightness < 0.3'")
    parser.add_argument("--like", help="image or latent image (.eli): order by distance to its code (an image is "
                                       "coded with --model, default: lite, whose identifier the shipped codes use)")
    parser.add_argument("-k", type=int, default=10, help="with --like: how many nearest frames (default 10)")
    parser.add_argument("--stream", help="only this stream")
    parser.add_argument("--limit", type=int, help="without --like: at most this many frames")
    parser.add_argument("--json", action="store_true")
    add_codec_options(parser)
    parser.set_defaults(run=_search)
