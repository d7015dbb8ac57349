"""The ``edgesdk`` command line."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from edgesdk import __version__
from edgesdk.errors import Error


def _selfcheck(args: argparse.Namespace) -> int:
    from edgesdk import golden

    start = time.perf_counter()
    for line in golden.verify():
        print(line)
    elapsed = (time.perf_counter() - start) * 1000
    print(f"edgesdk {__version__} on {platform.machine()} ({platform.system()}): "
          f"all golden vectors bit-exact in {elapsed:.0f} ms")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgesdk", description="Learned image and video codecs on edge devices")
    parser.add_argument("--version", action="version", version=f"edgesdk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    selfcheck = commands.add_parser("selfcheck", help="verify the entropy coder and container against golden vectors")
    selfcheck.set_defaults(run=_selfcheck)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Error as error:
        print(f"edgesdk: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
