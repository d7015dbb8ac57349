"""``edgesdk import``: models trained with other frameworks → bundles (with the export extra).
``import compressai``: docs/import.md."""

from __future__ import annotations

import argparse
from pathlib import Path

ARCHITECTURES = ("bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean")  # as edgesdk_export names them


def _photographs(folder: Path | None, count: int) -> list:
    """Up to ``count`` photographs spread over ``folder`` and its subfolders, else the shipped
sample photograph."""
    from edgesdk.codecs.model import default_sample_image
    from edgesdk.errors import NotFoundError
    from edgesdk.media.images import IMAGE_EXTENSIONS, read_image

    if folder is None:
        return [default_sample_image()]
    if not folder.is_dir():
        raise NotFoundError(f"{folder}: no such folder of photographs")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not paths:
        raise NotFoundError(f"{folder}: no photographs in it or its subfolders")
    return [read_image(path) for path in paths[:: max(1, len(paths) // count)][:count]]


def _import_compressai(args: argparse.Namespace) -> int:
    from edgesdk.cli.bundles import export_extra

    export_extra("import compressai")
    from edgesdk_export.compressai_import import import_compressai

    report = import_compressai(args.checkpoint, args.arch, args.out, _photographs(args.photos, args.count),
                               quality=args.quality, steps=args.steps, overwrite=args.overwrite)
    print(f"integer hyper-synthesis after {report.distill_steps} distillation steps ({report.distill_seconds:.0f} s): "
          f"{report.integer_bits / report.pixels:.4f} bpp in real streams against "
          f"{report.float_bits / report.pixels:.4f} bpp under CompressAI's float h_s "
          f"({report.rate_cost_percent:+.2f}%) on {report.pixels} pixels of the photographs")
    print(f"wrote {args.out}")
    return 0


def add_commands(commands) -> None:
    """Adds ``import`` and its subcommands to the ``edgesdk`` parser's ``commands``."""
    from edgesdk.cli.common import add_subcommand

    compressai = add_subcommand(commands, "import", "turn a model trained with another framework into a bundle",
                                "compressai", "a CompressAI checkpoint → bundle (docs/import.md)")
    compressai.add_argument("checkpoint", type=Path, help="CompressAI checkpoint (a state dict, any key spelling)")
    compressai.add_argument("--arch", required=True, choices=ARCHITECTURES, help="the model's CompressAI architecture")
    compressai.add_argument("--out", required=True, type=Path, help="bundle folder or .edgesdk file to write")
    compressai.add_argument("--quality", type=int, default=3,
                            help="the checkpoint's CompressAI quality 1..8: the bundle's quality level and its λ")
    compressai.add_argument("--photos", type=Path,
                            help="folder of your photographs to distil the integer hyper-synthesis on "
                                 "(default: the shipped sample photograph)")
    compressai.add_argument("--count", type=int, default=16, help="photographs of --photos to use (default: 16)")
    compressai.add_argument("--steps", type=int, default=300, help="distillation steps (default: 300)")
    compressai.add_argument("--overwrite", action="store_true")
    compressai.set_defaults(run=_import_compressai)
