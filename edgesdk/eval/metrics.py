"""Image quality metrics: PSNR and MS-SSIM, with CompressAI's conventions (see edgesdk.eval)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from edgesdk.errors import InvalidArgumentError


#: Per-scale exponents of Wang et al. 2003 (finest scale first).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_K1, _K2 = 0.01, 0.03
_WIN_SIZE, _WIN_SIGMA = 11, 1.5


# --------------------------------------------------------------------------- metrics


def check_pair(reference: np.ndarray, decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images as arrays of one shape; InvalidArgumentError otherwise."""
    a, b = np.asarray(reference), np.asarray(decoded)
    if a.shape != b.shape:
        raise InvalidArgumentError(f"shape mismatch: {a.shape} vs {b.shape}")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise InvalidArgumentError(f"expected H x W or H x W x C images, got shape {a.shape}")
    return a, b


def psnr(reference_uint8: np.ndarray, decoded_uint8: np.ndarray, data_range: float = 255.0,
         where: np.ndarray | None = None) -> float:
    """PSNR in dB over all pixels and channels of one image (``where``: an HxW bool mask, only
    the pixels where it is True, e.g. inside or outside a region of interest); ``inf`` when identical."""
    a, b = check_pair(reference_uint8, decoded_uint8)
    squared = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = float(np.mean(squared if where is None else squared[np.asarray(where, bool)]))
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
    a, b = check_pair(reference_uint8, decoded_uint8)
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
