"""A training checkpoint small enough to commit: ``python -m edgesdk_export.slim SRC DST``.

Keeps the model weights (floating ones in bfloat16) and the run's metadata; drops the optimizer
and random states. A run that must outlive a session continues from it with ``--init DST``
(a new optimizer: a few hundred steps of Adam warm-up, far cheaper than the steps behind it).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from edgesdk_export.train import load_checkpoint

KEPT = ("format", "version", "step", "elapsed_s", "config", "quality", "lmbda")


def slim(source: str | Path, destination: str | Path) -> Path:
    """Writes the slim checkpoint of ``source`` to ``destination`` (atomically) and returns it."""
    state = load_checkpoint(source)
    weights = {name: value.to(torch.bfloat16) if value.is_floating_point() else value
               for name, value in state["model"].items()}
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(destination.name + ".tmp")
    torch.save({**{key: state[key] for key in KEPT}, "model": weights}, temporary)
    os.replace(temporary, destination)
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgesdk_export.slim", description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("destination", type=Path)
    args = parser.parse_args(argv)
    path = slim(args.source, args.destination)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
