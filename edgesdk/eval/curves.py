"""Rate-distortion curves: points to curves, the published reference curves shipped in
``edgesdk/data/reference``, and RD plots (matplotlib, imported when plotting)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from edgesdk.errors import InvalidArgumentError
from edgesdk.lazy import require


REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"


# -------------------------------------------------------------- curves, references, plots


def as_curve(points: Any, label: str | None = None) -> dict:
    """Normalize to a curve ``{"label", "bpp": [...], "psnr": [...], "ms_ssim": [...]}``.

    Accepts a list of point dicts (from ``pillow_codec_points`` / ``evaluate_codec``) or
    a curve dict already (returned as a copy, relabelled if ``label`` is given).
    """
    if isinstance(points, Mapping):
        curve = {k: (list(v) if isinstance(v, (list, tuple, np.ndarray)) else v) for k, v in points.items()}
    else:
        points = list(points)
        curve = {"bpp": [p["bpp"] for p in points], "psnr": [p["psnr"] for p in points]}
        if all("ms_ssim" in p for p in points):
            curve["ms_ssim"] = [p["ms_ssim"] for p in points]
        if all("quality" in p for p in points):
            curve["quality"] = [p["quality"] for p in points]
        if points and "codec" in points[0]:
            curve["label"] = points[0]["codec"]
    if label is not None:
        curve["label"] = label
    curve.setdefault("label", "curve")
    return curve


def reference_curves(include_anchors: bool = False) -> dict[str, dict]:
    """CompressAI's published Kodak results (MSE-optimized models), as curves.

    Keys: ``"bmshj2018-factorized"``, ``"bmshj2018-hyperprior"``, ``"mbt2018-mean"``
    (quality 1..8); with ``include_anchors=True`` also CompressAI's ``"jpeg"`` and
    ``"webp"`` curves (Pillow 7.1.2). Each curve: ``label``, ``quality`` (models only),
    ``bpp``, ``psnr``, ``ms_ssim``, ``source`` (repository / path / commit).
    """
    data = json.loads((REFERENCE_DIR / "compressai_kodak.json").read_text(encoding="utf-8"))
    out = {}
    groups = [data["models"]] + ([data["anchors"]] if include_anchors else [])
    for group in groups:
        for name, entry in group.items():
            curve = {k: v for k, v in entry.items()}
            curve.setdefault("label", name)
            out[name] = curve
    return out


def rd_plot(
    curves: Any,
    path: str | Path,
    metric: str = "psnr",
    title: str | None = None,
) -> Path:
    """Write a rate-distortion PNG: bpp on x, PSNR (dB) or MS-SSIM on y, one line per curve.

    ``curves``: a mapping label -> (curve dict or list of points), or a list of curve
    dicts. ``metric``: ``"psnr"``, ``"ms_ssim"`` or ``"ms_ssim_db"`` (-10 log10(1 - MS-SSIM)).
    """
    # The Agg canvas directly: no pyplot, so the caller's backend choice is untouched.
    hint = "the RD plot needs matplotlib: pip install matplotlib"
    FigureCanvasAgg = require("matplotlib.backends.backend_agg", hint).FigureCanvasAgg
    Figure = require("matplotlib.figure", hint).Figure

    if metric not in ("psnr", "ms_ssim", "ms_ssim_db"):
        raise InvalidArgumentError(f"unknown metric {metric!r}")
    if isinstance(curves, Mapping):
        normalized = [as_curve(v, label=str(k)) for k, v in curves.items()]
    else:
        normalized = [as_curve(c) for c in curves]
    fig = Figure(figsize=(7, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    markers = "os^Dv<>pP*Xh"
    for i, curve in enumerate(normalized):
        key = "ms_ssim" if metric.startswith("ms_ssim") else "psnr"
        if key not in curve:
            raise InvalidArgumentError(f"curve {curve['label']!r} has no {key!r}")
        x = np.asarray(curve["bpp"], dtype=np.float64)
        y = np.asarray(curve[key], dtype=np.float64)
        if metric == "ms_ssim_db":
            y = -10.0 * np.log10(np.maximum(1.0 - y, 1e-12))
        order = np.argsort(x)
        ax.plot(x[order], y[order], marker=markers[i % len(markers)], markersize=4, linewidth=1.5, label=curve["label"])
    ylabel = {"psnr": "PSNR (RGB) [dB]", "ms_ssim": "MS-SSIM (RGB)", "ms_ssim_db": "MS-SSIM (RGB) [dB]"}[metric]
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"Rate-distortion: {ylabel}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")
    return path
