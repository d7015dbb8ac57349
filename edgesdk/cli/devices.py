"""Commands on devices: list the profiles, build TensorRT engines."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgesdk.runtime.graphs import PRECISIONS


def _devices(args: argparse.Namespace) -> int:
    import json

    from edgesdk.runtime.devices import detect_profile, list_profiles, load_profile

    detected = detect_profile()
    profiles = [load_profile(name) for name in list_profiles()]
    if args.json:
        print(json.dumps([{**p.to_json(), "detected": p.name == detected} for p in profiles], indent=2))
        return 0
    for p in profiles:
        mark = "*" if p.name == detected else " "
        print(f"{mark} {p.name:22} {p.default_backend:16} {'/'.join(p.precisions):24} {p.description}")
    print(f"* detected on this host: {detected}")
    return 0


def _build_engine(args: argparse.Namespace) -> int:
    from edgesdk.bundle import Bundle
    from edgesdk.bundle.manifest import quality_levels
    from edgesdk.runtime.devices import detect_profile, load_profile
    from edgesdk.runtime.graphs import GRAPHS
    from edgesdk.runtime.tensorrt import prepare_engine

    profile = load_profile(args.device or detect_profile())
    bundle = Bundle.open(args.bundle)
    qualities = args.quality or sorted(int(q) for q in quality_levels(bundle.manifest))
    print(f"device profile {profile.name}, bundle {bundle.bundle_id[:16]}")
    for quality in qualities:
        for graph in GRAPHS:
            precision = args.generator_precision if graph == "generator" and args.generator_precision else args.precision
            prepared = prepare_engine(bundle, graph, quality, profile, precision=precision,
                                      cache_dir=args.cache_dir, dla_core=args.dla_core, force=args.force)
            for note in prepared.notes:
                print(f"note: {note}")
            action = "cached" if prepared.reused else f"built in {prepared.seconds:.1f} s"
            print(f"q{quality} {graph:10} {prepared.plan.precision:4} {action}: {prepared.path}")
    return 0


def add_commands(commands) -> None:
    """Adds this group's subcommands to the ``edgesdk`` parser's ``commands``."""
    devices = commands.add_parser("devices", help="list device profiles and mark the one detected on this host")
    devices.add_argument("--json", action="store_true", help="print the profiles as JSON")
    devices.set_defaults(run=_devices)

    build_engine = commands.add_parser("build-engine", help="build (or reuse) TensorRT engines of a bundle on this GPU")
    build_engine.add_argument("bundle", help="bundle folder or .edgesdk file")
    build_engine.add_argument("--device", help="device profile name or JSON file (default: the detected one)")
    build_engine.add_argument("--precision", choices=PRECISIONS,
                              help="default: the profile's per graph")
    build_engine.add_argument("--generator-precision", choices=PRECISIONS,
                              help="the generator's alone (int8: the Q/DQ graph of edgesdk quantize); default: --precision")
    build_engine.add_argument("--quality", "-q", type=int, nargs="+", help="default: every quality in the bundle")
    build_engine.add_argument("--dla-core", type=int, help="build for this DLA core (with GPU fallback)")
    build_engine.add_argument("--cache-dir", type=Path, help="engine cache (default: $EDGESDK_CACHE_DIR or "
                              "~/.cache/edgesdk/engines)")
    build_engine.add_argument("--force", action="store_true", help="rebuild even when a cached engine matches")
    build_engine.set_defaults(run=_build_engine)
