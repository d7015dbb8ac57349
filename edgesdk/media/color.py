"""RGB <-> 8-bit YCbCr (BT.601 / BT.709, limited or full range) in integer numpy.

Rounding is specified, so every platform gives the same bytes:

* Coefficients are the exact matrix values rounded to 16 fractional bits.
* RGB -> YCbCr: each output is ``floor(sum + 1/2)`` of the fixed-point sum, clamped to
  [0, 255]. Subsampled chroma is the mean of each 2x2 (4:2:0) or 2x1 (4:2:2) block of
  full-resolution chroma, taken before rounding (one rounding per sample); odd sizes
  replicate the last column/row.
* YCbCr -> RGB: chroma is upsampled with the separable triangle filter (3/4, 1/4 per
  axis, i.e. centred chroma as in JPEG/H.264 "420jpeg"; the edges replicate), kept
  exact in 1/16 units; each RGB value is ``floor(v + 1/2)`` of the fixed-point result,
  clamped to [0, 255].

Limited ("studio", "tv", "mpeg") range puts Y in [16, 235] and Cb/Cr in [16, 240]; full
("pc", "jpeg") range uses [0, 255]. Round trip RGB -> 4:4:4 -> RGB differs by at most a
few code values (see tests/media/test_media.py for the bound measured over the RGB cube).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from edgesdk.errors import InvalidArgumentError
from edgesdk.media.formats import CHROMA_SUBSAMPLING, plane_shapes

# (Kr, Kb) of each matrix.
MATRICES: dict[str, tuple[float, float]] = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}
RANGES = ("limited", "full")

_FRACTION_BITS = 16
_ONE = 1 << _FRACTION_BITS


def _check(matrix: str, color_range: str, chroma: str) -> None:
    if matrix not in MATRICES:
        raise InvalidArgumentError(f"unknown color matrix {matrix!r}; use one of {sorted(MATRICES)}")
    if color_range not in RANGES:
        raise InvalidArgumentError(f"unknown color range {color_range!r}; use one of {list(RANGES)}")
    if chroma not in CHROMA_SUBSAMPLING:
        raise InvalidArgumentError(f"unknown chroma format {chroma!r}; use one of {sorted(CHROMA_SUBSAMPLING)}")


def _scales(color_range: str) -> tuple[float, float, int]:
    """(luma scale, chroma scale, luma offset) from 0..255 analog values to codes."""
    return (219 / 255, 224 / 255, 16) if color_range == "limited" else (1.0, 1.0, 0)


@lru_cache(maxsize=None)
def _forward(matrix: str, color_range: str) -> tuple[np.ndarray, int]:
    """Fixed-point rows (Y, Cb, Cr) x (R, G, B) and the luma offset."""
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    luma_scale, chroma_scale, luma_offset = _scales(color_range)
    luma = np.array([kr, kg, kb])
    rows = [
        luma * luma_scale,
        (np.array([0.0, 0.0, 1.0]) - luma) / (2 * (1 - kb)) * chroma_scale,
        (np.array([1.0, 0.0, 0.0]) - luma) / (2 * (1 - kr)) * chroma_scale,
    ]
    return np.round(np.array(rows) * _ONE).astype(np.int32), luma_offset


@lru_cache(maxsize=None)
def _inverse(matrix: str, color_range: str) -> tuple[int, int, int, int, int, int]:
    """Fixed-point (Y gain, Cr->R, Cb->G, Cr->G, Cb->B) and the luma offset."""
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    luma_scale, chroma_scale, luma_offset = _scales(color_range)
    y_gain = 1 / luma_scale
    cr_r = 2 * (1 - kr) / chroma_scale
    cb_b = 2 * (1 - kb) / chroma_scale
    cb_g = -2 * kb * (1 - kb) / kg / chroma_scale
    cr_g = -2 * kr * (1 - kr) / kg / chroma_scale
    fixed = [int(round(c * _ONE)) for c in (y_gain, cr_r, cb_g, cr_g, cb_b)]
    return (*fixed, luma_offset)


def _round_shift(values: np.ndarray, shift: int) -> np.ndarray:
    """floor(values / 2**shift + 1/2), clamped to uint8."""
    return np.clip((values + (1 << (shift - 1))) >> shift, 0, 255).astype(np.uint8)


def rgb_to_yuv(
    rgb: np.ndarray, chroma: str = "420", *, matrix: str = "bt601", color_range: str = "limited"
) -> tuple[np.ndarray, ...]:
    """uint8 H x W x 3 RGB -> planes (Y, U, V) (or (Y,) for "mono"), sizes as plane_shapes()."""
    _check(matrix, color_range, chroma)
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidArgumentError(f"expected uint8 H x W x 3 RGB, got {rgb.dtype} {rgb.shape}")
    coefficients, luma_offset = _forward(matrix, color_range)
    height, width = rgb.shape[:2]
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))

    def combine(row: np.ndarray) -> np.ndarray:  # |sum| < 2**24: int32 is exact
        return row[0] * r + row[1] * g + row[2] * b

    y = _round_shift(combine(coefficients[0]) + (luma_offset << _FRACTION_BITS), _FRACTION_BITS)
    if chroma == "mono":
        return (y,)
    sx, sy = CHROMA_SUBSAMPLING[chroma]
    (ch, cw) = plane_shapes(width, height, chroma)[1]
    shift = _FRACTION_BITS + (sx * sy).bit_length() - 1
    planes = [y]
    for row in coefficients[1:]:
        full = combine(row)
        if (ch * sy, cw * sx) != full.shape:
            full = np.pad(full, ((0, ch * sy - height), (0, cw * sx - width)), mode="edge")
        block_sum = full.reshape(ch, sy, cw, sx).sum(axis=(1, 3), dtype=np.int32)
        planes.append(_round_shift(block_sum + ((128 * sx * sy) << _FRACTION_BITS), shift))
    return tuple(planes)


def _upsample_2x(plane: np.ndarray, axis: int, length: int) -> np.ndarray:
    """Triangle-filter 2x upsampling along ``axis`` to ``length`` samples, scaled by 4."""
    first = np.take(plane, [0], axis=axis)
    last = np.take(plane, [plane.shape[axis] - 1], axis=axis)
    previous = np.concatenate([first, np.delete(plane, -1, axis=axis)], axis=axis)
    following = np.concatenate([np.delete(plane, 0, axis=axis), last], axis=axis)
    even, odd = 3 * plane + previous, 3 * plane + following
    out = np.stack([even, odd], axis=axis + 1).reshape(
        *plane.shape[:axis], 2 * plane.shape[axis], *plane.shape[axis + 1 :]
    )
    return np.take(out, np.arange(length), axis=axis)


def yuv_to_rgb(
    planes: tuple[np.ndarray, ...] | list[np.ndarray],
    chroma: str = "420",
    *,
    matrix: str = "bt601",
    color_range: str = "limited",
) -> np.ndarray:
    """Planes (Y, U, V) (or (Y,) for "mono") -> uint8 H x W x 3 RGB."""
    _check(matrix, color_range, chroma)
    planes = [np.asarray(p) for p in planes]
    height, width = planes[0].shape
    expected = plane_shapes(width, height, chroma)
    if [p.shape for p in planes] != expected or any(p.dtype != np.uint8 for p in planes):
        raise InvalidArgumentError(
            f"{chroma} planes for {width}x{height} must be uint8 with shapes {expected}, got {[p.shape for p in planes]}"
        )
    y_gain, cr_r, cb_g, cr_g, cb_b, luma_offset = _inverse(matrix, color_range)
    sx, sy = CHROMA_SUBSAMPLING[chroma]
    scale_bits = 2 * ((sx == 2) + (sy == 2))  # each 2x triangle step scales by 4
    shift = _FRACTION_BITS + scale_bits
    luma = (planes[0].astype(np.int32) - luma_offset) * (y_gain << scale_bits)
    if chroma == "mono":
        gray = _round_shift(luma, shift)
        return np.stack([gray, gray, gray], axis=-1)
    chroma_planes = []
    for plane in planes[1:]:
        up = plane.astype(np.int32)
        if sx == 2:
            up = _upsample_2x(up, 1, width)
        if sy == 2:
            up = _upsample_2x(up, 0, height)
        chroma_planes.append(up - (128 << scale_bits))
    cb, cr = chroma_planes
    # |terms| < 2**30 for every 8-bit input, so int32 is exact.
    red = _round_shift(luma + cr_r * cr, shift)
    green = _round_shift(luma + cb_g * cb + cr_g * cr, shift)
    blue = _round_shift(luma + cb_b * cb, shift)
    return np.stack([red, green, blue], axis=-1)
