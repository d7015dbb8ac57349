"""CDF-table builders of docs/entropy.md ("Building tables"), in plain Python floats.

Python floats are IEEE-754 doubles and CPython evaluates every operation separately (no
fused multiply-add), so following the documented operation order reproduces the C++ bits.
"""

from __future__ import annotations

import math

TOTAL = 1 << 16
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e+00
INV_SQRT_PI = 0.56418958354775628695
INV_SQRT2 = 0.70710678118654752440
MAX_HALF_WIDTH = (TOTAL + 1 - 3) // 2  # 32767


def det_exp(x: float) -> float:
    if x != x:
        return x
    if x < -746.0:
        return 0.0
    if x > 710.0:
        return math.inf
    kd = math.floor(x * INV_LN2 + 0.5)
    r = (x - kd * LN2_HI) - kd * LN2_LO
    s = 1.0
    for term in range(17, 0, -1):
        s = 1.0 + s * r / term
    return math.ldexp(s, int(kd))


def det_erfc(x: float) -> float:
    if x != x:
        return x
    if x < 0.0:
        return 2.0 - det_erfc(-x)
    if x < 2.5:
        x2 = x * x
        term = x
        s = x
        for n in range(1, 81):
            term = term * 2.0 * x2 / (2 * n + 1)
            s += term
        return 1.0 - 2.0 * INV_SQRT_PI * det_exp(-x2) * s
    if x > 27.3:
        return 0.0
    fraction = x
    for k in range(60, 0, -1):
        fraction = x + (0.5 * k) / fraction
    return INV_SQRT_PI * det_exp(-x * x) / fraction


def quantize_pmf(pmf: list[float], tail_mass: float) -> list[int]:
    """CDF of len(pmf) + 2 entries (escape last), per docs/entropy.md."""
    total = tail_mass
    for p in pmf:
        total += p
    probs = list(pmf) + [tail_mass]
    freq = []
    for p in probs:
        scaled = math.floor(p / total * float(TOTAL) + 0.5)
        freq.append(1 if scaled < 1 else int(scaled))
    symbols = len(freq)
    s = sum(freq)
    if s != TOTAL:
        diff = TOTAL - s
        remove = diff < 0
        magnitude = abs(diff)
        capacity = s - symbols if remove else s
        adjusted = 0
        for i in range(symbols):
            share = ((freq[i] - 1) if remove else freq[i]) * magnitude // capacity
            freq[i] += -share if remove else share
            adjusted += share
        remainder = magnitude - adjusted
        order = sorted(range(symbols), key=lambda i: -freq[i])  # stable: ties keep lower index first
        while remainder > 0:
            before = remainder
            for i in order:
                if remainder == 0:
                    break
                if remove and freq[i] <= 1:
                    continue
                freq[i] += -1 if remove else 1
                remainder -= 1
            if remainder == before:
                raise AssertionError("deficit cannot be placed")
    cdf = [0]
    for f in freq:
        cdf.append(cdf[-1] + f)
    assert cdf[-1] == TOTAL
    return cdf


def gaussian_cdf(scale: float, tail_mass: float = 1e-9) -> tuple[list[int], int]:
    """(CDF, offset) of a zero-mean Gaussian of standard deviation ``scale``."""

    def upper(t: float) -> float:
        return 0.5 * det_erfc(t / scale * INV_SQRT2)

    k = 0
    while k < MAX_HALF_WIDTH and 2.0 * upper(k + 0.5) > tail_mass:
        k = 1 if k == 0 else min(2 * k, MAX_HALF_WIDTH)
    lo, hi = k // 2, k
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if 2.0 * upper(mid + 0.5) <= tail_mass:
            hi = mid
        else:
            lo = mid + 1
    k = hi
    pmf = [0.0] * (2 * k + 1)
    for v in range(k + 1):
        p = 1.0 - 2.0 * upper(0.5) if v == 0 else upper(v - 0.5) - upper(v + 0.5)
        pmf[k + v] = p
        pmf[k - v] = p
    return quantize_pmf(pmf, 2.0 * upper(k + 0.5)), -k
