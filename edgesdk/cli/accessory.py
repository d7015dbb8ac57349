"""``edgesdk accessory serve``: code frames for a host without an accelerator (docs/exchange.md)."""

from __future__ import annotations

import argparse


def _serve(args: argparse.Namespace) -> int:
    from edgesdk.cli.common import open_codec
    from edgesdk.exchange.accessory import AccessoryServer

    with open_codec(args) as codec:
        server = AccessoryServer(args.address, codec.codec(), queue_size=args.queue,
                                 keyframe_interval=args.keyframe_interval)
        where = f"tcp://127.0.0.1:{server.port}" if server.port else args.address
        print(f"accessory serving on {where} (queue {args.queue})", flush=True)
        try:
            server.serve(max_requests=args.max_requests, duration=args.duration)
        except KeyboardInterrupt:
            server.close()
    print(f"served {server.served} request(s), answered busy {server.busy} time(s)")
    return 0


def add_commands(commands) -> None:
    """Adds ``edgesdk accessory serve`` to the CLI's subcommands."""
    from edgesdk.cli.common import add_codec_options, add_subcommand

    serve = add_subcommand(commands, "accessory", "augmentation accessory: code frames for a host", "serve",
                           "serve encode/decode requests on a Unix socket or loopback TCP")
    serve.add_argument("address", nargs="?", default="unix:///tmp/edgesdk-accessory.sock",
                       help="unix:///path or tcp://127.0.0.1:PORT (PORT 0: any free port)")
    serve.add_argument("--queue", type=int, default=4, help="requests held at most; beyond, hosts are told busy")
    serve.add_argument("--keyframe-interval", type=int, default=32)
    serve.add_argument("--max-requests", type=int, help="stop after serving this many")
    serve.add_argument("--duration", type=float, help="stop after this many seconds")
    add_codec_options(serve)
    serve.set_defaults(run=_serve)
