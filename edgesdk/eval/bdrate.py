"""Bjøntegaard deltas between two rate-distortion curves: BD-rate and BD-PSNR."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from edgesdk.errors import InvalidArgumentError


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
