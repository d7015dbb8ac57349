"""``edgesdk eval`` for images: one run measures a model at all its qualities against JPEG,
WebP and AVIF (Pillow) and CompressAI's published Kodak curves, and reports Bjøntegaard
rates of ours against each (negative: we need fewer bits for the same PSNR)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgesdk.eval.anchors import evaluate_codec, load_images, pillow_codec_points
from edgesdk.eval.bdrate import bd_psnr, bd_rate
from edgesdk.eval.curves import as_curve, rd_plot, reference_curves
from edgesdk.errors import DependencyError, Error, InvalidArgumentError

# Pillow quality settings wide enough to bracket a learned codec's 0.1-1.5 bpp on Kodak.
ANCHOR_QUALITIES = {
    "jpeg": (10, 20, 30, 40, 50, 60, 70, 80, 90),
    "webp": (5, 10, 20, 30, 40, 50, 60, 70, 80, 90),
    "avif": (10, 20, 30, 40, 50, 60, 70, 80),
}


def evaluate_model(codec: Any, images: list, qualities: list[int] | None = None,
                   anchors: tuple[str, ...] = tuple(ANCHOR_QUALITIES), log=print) -> dict:
    """Curves of ``codec`` (an :class:`edgesdk.ImageCodec`) and the anchors on ``images``,
    plus BD-rate and BD-PSNR of ours against every other curve."""
    qualities = qualities or codec.model.qualities
    points = []
    for quality in qualities:
        point = evaluate_codec(images, lambda image, q=quality: codec.encode(image, q), codec.decode,
                                          label=f"edgesdk q{quality}")
        point["quality"] = quality
        log(f"edgesdk {codec.model.name} q{quality}: {point['bpp']:.3f} bpp, {point['psnr']:.2f} dB, "
            f"MS-SSIM {point['ms_ssim']:.4f}, encode {point['encode_s'] * 1e3:.0f} ms, "
            f"decode {point['decode_s'] * 1e3:.0f} ms per image")
        points.append(point)
    ours = as_curve(points, label=f"edgesdk {codec.model.name}")
    curves = {ours["label"]: ours}
    for anchor in anchors:
        try:
            anchor_points = pillow_codec_points(images, anchor, ANCHOR_QUALITIES[anchor])
        except DependencyError as error:
            log(f"{anchor}: skipped ({error})")
            continue
        curves[f"{anchor} (Pillow)"] = as_curve(anchor_points, label=f"{anchor} (Pillow)")
        log(f"{anchor}: measured {len(anchor_points)} qualities")
    for name, curve in reference_curves().items():
        curves[f"{name} (CompressAI, published)"] = curve
    comparisons = {}
    for label, curve in curves.items():
        if label == ours["label"]:
            continue
        try:
            comparisons[label] = {
                "bd_rate_percent": bd_rate(curve["bpp"], curve["psnr"], ours["bpp"], ours["psnr"]),
                "bd_psnr_db": bd_psnr(curve["bpp"], curve["psnr"], ours["bpp"], ours["psnr"]),
            }
        except Error as error:  # e.g. curves that do not overlap in PSNR
            comparisons[label] = {"bd_rate_percent": None, "bd_psnr_db": None, "note": str(error)}
    return {"model": codec.model.describe(), "images": len(images), "curves": curves, "bd": comparisons,
            "points": points, "refine_steps": getattr(codec, "refine_steps", 0)}


def format_table(report: dict) -> str:
    """A plain-text table: our points, then BD-rate/BD-PSNR of ours against each curve."""
    lines = [f"{'quality':>7} {'bpp':>7} {'PSNR dB':>8} {'MS-SSIM':>8} {'enc ms':>7} {'dec ms':>7}"]
    for p in report["points"]:
        lines.append(f"{p['quality']:>7} {p['bpp']:7.3f} {p['psnr']:8.2f} {p['ms_ssim']:8.4f} "
                     f"{p['encode_s'] * 1e3:7.0f} {p['decode_s'] * 1e3:7.0f}")
    lines.append("")
    lines.append(f"{'ours against':<44} {'BD-rate':>9} {'BD-PSNR':>9}")
    for label, bd in report["bd"].items():
        if bd["bd_rate_percent"] is None:
            lines.append(f"{label:<44} {'n/a':>9} {'n/a':>9}  ({bd['note']})")
        else:
            lines.append(f"{label:<44} {bd['bd_rate_percent']:+8.1f}% {bd['bd_psnr_db']:+8.2f}dB")
    return "\n".join(lines)


def write_report(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """report.json, table.txt and rd.png (when matplotlib is installed) under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "table": out / "table.txt"}
    paths["json"].write_text(json.dumps(report, indent=2, default=float) + "\n")
    paths["table"].write_text(format_table(report) + "\n")
    paths["plot"] = rd_plot(report["curves"], out / "rd.png", title=f"Kodak ({report['images']} images), RGB PSNR")
    return paths


def image_folder(folder: str | Path | None) -> list:
    """The images of ``folder`` (e.g. the 24 Kodak images) as (name, array) pairs. No folder
    ships with the package: without one this says a folder is needed."""
    if not folder:
        raise InvalidArgumentError("edgesdk eval needs an image folder (e.g. the Kodak images) or a video clip: "
                                   "edgesdk eval FOLDER")
    path = Path(folder)
    if not path.is_dir():
        raise InvalidArgumentError(f"{path}: no such image folder (pass one: edgesdk eval FOLDER)")
    return load_images(path)
