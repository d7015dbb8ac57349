# Over 400 lines: metrics, BD-rate, anchors and plots still share one file; to split into eval/{metrics,bdrate,anchors,plots}.py (issue 11).
"""Image codec evaluation: metrics, Bjøntegaard deltas, Pillow anchors, RD plots.

Independent of any particular codec. Module level imports numpy only; Pillow and
matplotlib are imported inside the functions that need them.

Conventions (chosen to match CompressAI's published Kodak numbers, see
``reference_curves``):

* Images are ``uint8`` arrays ``H x W x 3`` (RGB). ``psnr`` and ``ms_ssim`` also
  accept ``H x W`` (one channel).
* ``psnr``: ``10 log10(255² / MSE)`` with the MSE over all pixels and all three RGB
  channels of one image (CompressAI's ``psnr-rgb``). Identical images give ``inf``.
* ``ms_ssim``: Wang, Simoncelli & Bovik 2003, computed **on each RGB channel separately
  and averaged over the channels**, data range 255 (CompressAI's ``ms-ssim-rgb``, i.e.
  ``pytorch_msssim.ms_ssim(x, y, data_range=255)`` on float RGB). Details below.
* Dataset averages, as CompressAI computes them: for each operating point, the mean over
  images of the per-image bpp, of the per-image PSNR and of the per-image MS-SSIM (not
  the PSNR of the mean MSE).
* bpp: ``8 * len(encoded bytes) / (H * W)``, from the actual encoded byte count.

A *point* is a dict ``{"label", "quality", "bpp", "psnr", "ms_ssim", ...}``; a *curve*
is a dict ``{"label", "bpp": [...], "psnr": [...], "ms_ssim": [...]}``. ``as_curve``
turns a list of points into a curve; ``rd_plot`` accepts either form.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from edgesdk.errors import DependencyError, InvalidArgumentError, NotFoundError

__all__ = [
    "MS_SSIM_WEIGHTS",
    "REFERENCE_DIR",
    "as_curve",
    "bd_psnr",
    "bd_rate",
    "evaluate_codec",
    "load_images",
    "ms_ssim",
    "pillow_codec_points",
    "pillow_codecs",
    "psnr",
    "rd_plot",
    "reference_curves",
]

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"

#: Per-scale exponents of Wang et al. 2003 (finest scale first).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_K1, _K2 = 0.01, 0.03
_WIN_SIZE, _WIN_SIGMA = 11, 1.5

_PILLOW_FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}


# --------------------------------------------------------------------------- metrics


def _check_pair(reference: np.ndarray, decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(reference), np.asarray(decoded)
    if a.shape != b.shape:
        raise InvalidArgumentError(f"shape mismatch: {a.shape} vs {b.shape}")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise InvalidArgumentError(f"expected H x W or H x W x C images, got shape {a.shape}")
    return a, b


def psnr(reference_uint8: np.ndarray, decoded_uint8: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB over all pixels and channels of one image; ``inf`` when identical."""
    a, b = _check_pair(reference_uint8, decoded_uint8)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if mse == 0.0:
        return math.inf
    return 20.0 * math.log10(data_range) - 10.0 * math.log10(mse)


def _gaussian_window(size: int = _WIN_SIZE, sigma: float = _WIN_SIGMA) -> np.ndarray:
    coords = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _blur(x: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation with ``win`` over the last two axes of ``x``.

    The result has its last two axes **swapped** (both passes run along the contiguous
    last axis, which is several times faster); callers only average over them. A
    dimension shorter than the window is left unfiltered, as pytorch_msssim >= 0.2.1
    does (it warns "Skipping Gaussian Smoothing").
    """
    from numpy.lib.stride_tricks import sliding_window_view

    k = win.size
    if x.shape[-1] >= k:
        x = sliding_window_view(x, k, axis=-1) @ win
    x = np.ascontiguousarray(np.swapaxes(x, -1, -2))
    if x.shape[-1] >= k:
        x = sliding_window_view(x, k, axis=-1) @ win
    return x


def _ssim_cs(x: np.ndarray, y: np.ndarray, win: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean SSIM and mean contrast-structure term; x, y: C x H x W float64."""
    c1 = (_K1 * data_range) ** 2
    c2 = (_K2 * data_range) ** 2
    mu_x, mu_y, e_xx, e_yy, e_xy = _blur(np.stack([x, y, x * x, y * y, x * y]), win)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    sigma_xx = e_xx - mu_xx
    sigma_yy = e_yy - mu_yy
    sigma_xy = e_xy - mu_xy
    cs_map = (2.0 * sigma_xy + c2) / (sigma_xx + sigma_yy + c2)
    ssim_map = ((2.0 * mu_xy + c1) / (mu_xx + mu_yy + c1)) * cs_map
    return ssim_map.mean(axis=(1, 2)), cs_map.mean(axis=(1, 2))


def _avg_pool2(x: np.ndarray) -> np.ndarray:
    """``torch.nn.functional.avg_pool2d(x, 2, padding=(H % 2, W % 2))`` on C x H x W.

    Odd dimensions get one zero on each side and zeros count in the average
    (``count_include_pad=True``), exactly as pytorch_msssim downsamples.
    """
    _, h, w = x.shape
    ph, pw = h % 2, w % 2
    if ph or pw:
        x = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    ho, wo = (h + 2 * ph - 2) // 2 + 1, (w + 2 * pw - 2) // 2 + 1
    x = x[:, : 2 * ho, : 2 * wo]
    return 0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2])


def ms_ssim(
    reference_uint8: np.ndarray,
    decoded_uint8: np.ndarray,
    data_range: float = 255.0,
    weights: Sequence[float] = MS_SSIM_WEIGHTS,
) -> float:
    """Multi-scale SSIM (Wang et al. 2003), RGB channels computed separately and averaged.

    Gaussian window 11 taps, sigma 1.5, 'valid' filtering (no padding); K1 = 0.01,
    K2 = 0.03; 5 scales with the standard weights; between scales a 2x2 average pool
    (zero padding on odd sizes, as ``torch.nn.functional.avg_pool2d``). Per channel,
    MS-SSIM = prod_{j<5} relu(cs_j)^w_j * relu(ssim_5)^w_5; the result is the mean over
    channels. This is what ``pytorch_msssim.ms_ssim(X, Y, data_range=255)`` computes,
    the function behind CompressAI's ``ms-ssim-rgb`` (checked against a float64
    transcription of pytorch_msssim 1.0 on Kodak to ~1e-15; CompressAI runs it in
    float32, a difference of ~1e-7). Computed in float64.

    pytorch_msssim refuses images whose shorter side is <= 160; here such images are
    accepted and, at scales where a dimension is shorter than the window, that
    dimension is not smoothed (what pytorch_msssim's ``gaussian_filter`` does). Values
    for such small images are therefore not comparable with published ones.
    """
    a, b = _check_pair(reference_uint8, decoded_uint8)
    if a.ndim == 2:
        a, b = a[:, :, None], b[:, :, None]
    x = np.ascontiguousarray(np.moveaxis(a.astype(np.float64), 2, 0))
    y = np.ascontiguousarray(np.moveaxis(b.astype(np.float64), 2, 0))
    w = np.asarray(weights, dtype=np.float64)
    win = _gaussian_window()
    levels = w.size
    terms = []
    for level in range(levels):
        ssim_c, cs_c = _ssim_cs(x, y, win, data_range)
        if level < levels - 1:
            terms.append(np.maximum(cs_c, 0.0))
            x, y = _avg_pool2(x), _avg_pool2(y)
    terms.append(np.maximum(ssim_c, 0.0))
    per_channel = np.prod(np.stack(terms) ** w[:, None], axis=0)
    return float(per_channel.mean())


# ------------------------------------------------------------------ Bjøntegaard deltas


def _prepare(rates: Sequence[float], psnrs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rates, dtype=np.float64).ravel()
    p = np.asarray(psnrs, dtype=np.float64).ravel()
    if r.size != p.size:
        raise InvalidArgumentError("rates and PSNRs differ in length")
    if r.size < 4:
        raise InvalidArgumentError("the Bjøntegaard cubic fit needs at least 4 points per curve")
    if np.any(r <= 0) or not np.all(np.isfinite(r)) or not np.all(np.isfinite(p)):
        raise InvalidArgumentError("rates must be positive and finite; PSNRs finite")
    return r, p


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson / Fritsch-Butland slopes, the same rules as SciPy's PchipInterpolator."""
    h = np.diff(x)
    delta = np.diff(y) / h
    d = np.zeros_like(y)
    n = x.size
    if n == 2:
        d[:] = delta[0]
        return d
    for k in range(1, n - 1):
        if delta[k - 1] * delta[k] > 0:
            w1 = 2 * h[k] + h[k - 1]
            w2 = h[k] + 2 * h[k - 1]
            d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k])

    def end(h0: float, h1: float, m0: float, m1: float) -> float:
        s = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        if np.sign(s) != np.sign(m0):
            return 0.0
        if np.sign(m0) != np.sign(m1) and abs(s) > abs(3 * m0):
            return 3 * m0
        return s

    d[0] = end(h[0], h[1], delta[0], delta[1])
    d[-1] = end(h[-1], h[-2], delta[-1], delta[-2])
    return d


def _pchip_integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """Integral over [lo, hi] of the PCHIP interpolant through (x, y); x strictly increasing."""
    d = _pchip_slopes(x, y)
    total = 0.0
    for k in range(x.size - 1):
        a, b = max(lo, x[k]), min(hi, x[k + 1])
        if b <= a:
            continue
        h = x[k + 1] - x[k]
        # Hermite cubic in t = (x - x_k)/h; integrate on [ta, tb] exactly.
        c0 = y[k]
        c1 = d[k] * h
        c2 = 3 * (y[k + 1] - y[k]) - (2 * d[k] + d[k + 1]) * h
        c3 = 2 * (y[k] - y[k + 1]) + (d[k] + d[k + 1]) * h
        ta, tb = (a - x[k]) / h, (b - x[k]) / h

        def prim(t: float) -> float:
            return c0 * t + c1 * t**2 / 2 + c2 * t**3 / 3 + c3 * t**4 / 4

        total += h * (prim(tb) - prim(ta))
    return total


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    if method == "cubic":
        poly = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(poly, hi) - np.polyval(poly, lo))
    if method == "pchip":
        order = np.argsort(x)
        xs, ys = x[order], y[order]
        if np.any(np.diff(xs) <= 0):
            raise InvalidArgumentError("the pchip variant needs strictly monotone abscissae (no repeated values)")
        return _pchip_integral(xs, ys, lo, hi)
    raise InvalidArgumentError(f"unknown method {method!r}: use 'cubic' or 'pchip'")


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    if not hi > lo:
        raise InvalidArgumentError("the two curves do not overlap")
    return float(lo), float(hi)


def bd_rate(
    anchor_rates: Sequence[float],
    anchor_psnrs: Sequence[float],
    test_rates: Sequence[float],
    test_psnrs: Sequence[float],
    method: str = "cubic",
) -> float:
    """Bjøntegaard delta rate (VCEG-M33), percent; negative = the test curve saves bits.

    log(rate) is fit as a function of PSNR for each curve (``"cubic"``: least-squares
    cubic via ``numpy.polyfit``, the original method; ``"pchip"``: piecewise cubic
    Hermite interpolation, the variant of JCTVC/JVET common test conditions), each fit is
    integrated over the overlapping PSNR interval, and the mean difference of log-rate
    is turned into a percentage: ``(exp(mean(log r_test - log r_anchor)) - 1) * 100``.
    Any quality metric can be passed for "psnr" (e.g. MS-SSIM in dB).
    """
    ra, pa = _prepare(anchor_rates, anchor_psnrs)
    rt, pt = _prepare(test_rates, test_psnrs)
    lo, hi = _overlap(pa, pt)
    ia = _integral(pa, np.log(ra), lo, hi, method)
    it = _integral(pt, np.log(rt), lo, hi, method)
    return float((math.exp((it - ia) / (hi - lo)) - 1.0) * 100.0)


def bd_psnr(
    anchor_rates: Sequence[float],
    anchor_psnrs: Sequence[float],
    test_rates: Sequence[float],
    test_psnrs: Sequence[float],
    method: str = "cubic",
) -> float:
    """Bjøntegaard delta PSNR in dB (positive = the test curve has higher quality).

    PSNR is fit as a function of log(rate) and integrated over the overlapping log-rate
    interval; the result is the mean difference test - anchor.
    """
    ra, pa = _prepare(anchor_rates, anchor_psnrs)
    rt, pt = _prepare(test_rates, test_psnrs)
    la, lt = np.log(ra), np.log(rt)
    lo, hi = _overlap(la, lt)
    ia = _integral(la, pa, lo, hi, method)
    it = _integral(lt, pt, lo, hi, method)
    return float((it - ia) / (hi - lo))


# --------------------------------------------------------------------- images, codecs


def load_images(folder: str | Path) -> list[tuple[str, np.ndarray]]:
    """All images in ``folder`` (sorted by file name) as ``(name, uint8 H x W x 3 RGB)``."""
    from edgesdk.media.images import IMAGE_EXTENSIONS, read_image

    folder = Path(folder)
    if not folder.is_dir():
        raise NotFoundError(f"{folder}: no such folder")
    out = [(path.name, read_image(path)) for path in sorted(folder.iterdir())
           if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()]
    if not out:
        raise NotFoundError(f"no images in {folder}")
    return out


def _as_image_list(images: Iterable[Any]) -> list[tuple[str, np.ndarray]]:
    out = []
    for i, item in enumerate(images):
        name, array = item if isinstance(item, tuple) else (f"image{i:03d}", item)
        array = np.asarray(array)
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise InvalidArgumentError(f"{name}: expected uint8 H x W x 3, got {array.dtype} {array.shape}")
        out.append((name, array))
    if not out:
        raise InvalidArgumentError("no images")
    return out


def pillow_codecs() -> dict[str, bool]:
    """Which of jpeg / webp / avif the installed Pillow can encode."""
    from PIL import features

    feature = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}  # Pillow's feature names
    return {name: bool(features.check(key)) for name, key in feature.items()}


def _pillow_encoder(codec: str, quality: int, options: Mapping[str, Any]) -> Callable[[np.ndarray], bytes]:
    import io

    from PIL import Image

    fmt = _PILLOW_FORMATS[codec]

    def encode(array: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(array, "RGB").save(buf, format=fmt, quality=int(quality), **options)
        return buf.getvalue()

    return encode


def _pillow_decode(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def evaluate_codec(
    images: Iterable[Any],
    encode: Callable[[np.ndarray], bytes],
    decode: Callable[[bytes], np.ndarray],
    label: str,
    per_image: bool = False,
) -> dict:
    """One operating point of any codec given as callables.

    ``encode(uint8 H x W x 3) -> bytes``, ``decode(bytes) -> uint8 H x W x 3``. ``images``
    is a list of arrays or of ``(name, array)`` pairs (as from ``load_images``). Returns
    ``{"label", "bpp", "psnr", "ms_ssim", "n_images", "encode_s", "decode_s"}``: bpp,
    PSNR and MS-SSIM are means over images of per-image values; ``encode_s`` /
    ``decode_s`` are mean seconds per image (wall clock). With ``per_image=True`` the
    per-image values are added under ``"images"``.
    """
    items = _as_image_list(images)
    rows = []
    for name, array in items:
        t0 = time.perf_counter()
        data = bytes(encode(array))
        t1 = time.perf_counter()
        decoded = np.asarray(decode(data))
        t2 = time.perf_counter()
        if decoded.shape != array.shape or decoded.dtype != np.uint8:
            raise InvalidArgumentError(f"{label}: {name} decoded to {decoded.dtype} {decoded.shape}, expected uint8 {array.shape}")
        h, w = array.shape[:2]
        rows.append(
            {
                "name": name,
                "bytes": len(data),
                "bpp": 8.0 * len(data) / (h * w),
                "psnr": psnr(array, decoded),
                "ms_ssim": ms_ssim(array, decoded),
                "encode_s": t1 - t0,
                "decode_s": t2 - t1,
            }
        )
    result = {"label": label, "n_images": len(rows)}
    for key in ("bpp", "psnr", "ms_ssim", "encode_s", "decode_s"):
        result[key] = float(np.mean([row[key] for row in rows]))
    if per_image:
        result["images"] = rows
    return result


def pillow_codec_points(
    images: Iterable[Any],
    codec: str,
    qualities: Iterable[int],
    per_image: bool = False,
    **save_options: Any,
) -> list[dict]:
    """Rate-distortion points of a Pillow codec, one dict per quality.

    ``codec`` is ``"jpeg"``, ``"webp"`` or ``"avif"``; each image is saved with
    ``Image.save(buf, format=..., quality=q, **save_options)`` (Pillow defaults otherwise,
    as CompressAI's bench: JPEG 4:2:0, WebP method 4, AVIF 4:2:0 speed 6), decoded by
    Pillow, and measured as in ``evaluate_codec``. Each dict also has ``"codec"``,
    ``"quality"`` and ``"pillow"`` (version). Raises ``RuntimeError`` if the installed
    Pillow cannot encode the format (AVIF needs Pillow >= 11.3 built with libavif, or
    the ``pillow-avif-plugin`` package).
    """
    import PIL

    codec = codec.lower()
    if codec not in _PILLOW_FORMATS:
        raise InvalidArgumentError(f"unknown codec {codec!r}: use one of {sorted(_PILLOW_FORMATS)}")
    if codec == "avif" and not pillow_codecs()["avif"]:
        try:  # the plugin registers AVIF on import
            import pillow_avif  # noqa: F401
        except ImportError:
            raise DependencyError(
                "this Pillow has no AVIF support: install Pillow >= 11.3 with libavif or pillow-avif-plugin"
            ) from None
    elif not pillow_codecs()[codec]:
        raise DependencyError(f"this Pillow cannot encode {codec}")
    items = _as_image_list(images)
    points = []
    for quality in qualities:
        point = evaluate_codec(
            items,
            _pillow_encoder(codec, quality, save_options),
            _pillow_decode,
            label=f"{codec} q={quality}",
            per_image=per_image,
        )
        point.update({"codec": codec, "quality": int(quality), "pillow": PIL.__version__})
        points.append(point)
    return points


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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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
