"""The ``edgesdk`` command line: one module per command group (codec, evaluate, bundles, devices,
importers, store, exchange, call, search, edit, accessory).

Every failure ends in one line on stderr, never a traceback (docs/cli.md lists the exit
statuses): 1 for an error, 2 for a usage error (argparse), 3 for a video decoded with damage
(every decodable frame written, what was lost reported), 4 for encrypted latents without a
key for them, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys

from edgesdk import __version__
from edgesdk.cli import (accessory, bundles, call, codec, devices, edit, evaluate, exchange, importers, search,
                         store)
from edgesdk.errors import Error
from edgesdk.security.encryption import NotAuthorisedError

EXIT_ERROR = 1
EXIT_DAMAGED = 3  # a latent video decoded with damage: what could be decoded was written
EXIT_NOT_AUTHORISED = 4  # encrypted latents and no key for them (none given, or revoked)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def build_parser() -> argparse.ArgumentParser:
    """The ``edgesdk`` argument parser, each command group adding its subcommands."""
    parser = argparse.ArgumentParser(prog="edgesdk", description="Learned image and video codecs on edge devices")
    parser.add_argument("--version", action="version", version=f"edgesdk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (codec, evaluate, bundles, devices, importers, store, exchange, call, search, edit, accessory):
        group.add_commands(commands)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (alpha dropped, a very large image) as one line, without the source location."""
    print(f"edgesdk: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Runs ``edgesdk`` with ``argv`` (default: the process's) and returns the exit status:
    0, 1 and a one-line message on an error, 3 for a damaged video, 4 for encrypted latents
    without a key, 130 after Ctrl-C."""
    import warnings

    args = build_parser().parse_args(argv)
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return args.run(args)
    except NotAuthorisedError as error:
        print(f"edgesdk: error: not authorised: {error}", file=sys.stderr)
        return EXIT_NOT_AUTHORISED
    except Error as error:
        print(f"edgesdk: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("edgesdk: interrupted (nothing partial was left behind)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``edgesdk devices --json | head -1``): not an error of ours.
        # Point stdout at /dev/null so that the interpreter's final flush does not fail again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except MemoryError:
        print("edgesdk: error: out of memory", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"edgesdk: error: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
