"""The ``edgesdk`` command line: one module per command group (codec, evaluate, bundles, devices,
store, exchange, accessory)."""

from __future__ import annotations

import argparse
import sys

from edgesdk import __version__
from edgesdk.cli import accessory, bundles, codec, devices, evaluate, exchange, store
from edgesdk.errors import Error


def build_parser() -> argparse.ArgumentParser:
    """The ``edgesdk`` argument parser, each command group adding its subcommands."""
    parser = argparse.ArgumentParser(prog="edgesdk", description="Learned image and video codecs on edge devices")
    parser.add_argument("--version", action="version", version=f"edgesdk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (codec, evaluate, bundles, devices, store, exchange, accessory):
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs ``edgesdk`` with ``argv`` (default: the process's); 1 and a message on an edgesdk error."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Error as error:
        print(f"edgesdk: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
