"""``edgesdk edit IN OUT --transform NAME[=PARAMS]``: transform a latent image without
decoding it (docs/latent-edit.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _edit(args: argparse.Namespace) -> int:
    from edgesdk.cli.common import check_output_file, open_codec, write_atomically
    from edgesdk.codecs.image.codec import read_latent_image
    from edgesdk.edit.recode import edit_frame
    from edgesdk.edit.transforms import parse_transform

    transforms = [parse_transform(text) for text in args.transform]  # refused before any work
    destination = Path(args.destination)
    check_output_file(destination, args.force)
    data = read_latent_image(args.source)
    with open_codec(args) as codec:
        edited = edit_frame(codec, data, transforms)
    write_atomically(destination, edited)
    print(f"{destination}: {', '.join(map(str, transforms))} ({len(data)} -> {len(edited)} bytes)")
    return 0


def add_commands(commands) -> None:
    """Adds ``edgesdk edit`` to the CLI's subcommands."""
    from edgesdk.cli.common import add_codec_options, add_force_option
    from edgesdk.edit.transforms import TRANSFORMS

    parser = commands.add_parser("edit", help="transform a latent image (.eli) in latent space, without decoding")
    parser.add_argument("source", help=".eli file")
    parser.add_argument("destination", help=".eli file to write")
    parser.add_argument("--transform", "-t", action="append", required=True,
                        help="NAME[=P1,P2,...], in order; repeatable: "
                             + "; ".join(f"{name}: {help}" for name, (_, _, help) in TRANSFORMS.items()))
    add_codec_options(parser, quality=False)
    add_force_option(parser)
    parser.set_defaults(run=_edit)
