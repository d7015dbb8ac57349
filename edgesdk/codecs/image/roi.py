"""Region-of-interest quantization of a keyframe's latent (section ``ROI_LATENT``, docs/roi.md).

A frame coded with a region of interest carries, instead of its ``LATENT`` section, one
``ROI_LATENT`` section: a small table of quantizer levels (a step in 1/16 and an integer
shift of the latent table index per level), a map giving each latent cell (16x16 pixels)
its level, and the latent stream. Element (c, i, j) is the symbol
``rint((y − mean) / step[level[i, j]])`` coded with table
``clip(index[c, i, j] + shift[level[i, j]], 0, T − 1)``, and the decoder's
``ŷ = mean + step · symbol``. Everything the parse depends on (the map, the shifts and the
integer hyper-synthesis' indexes) is integers from the stream; the steps are multiples of
1/16, so ŷ is exact in float64 on every platform.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgesdk.errors import CorruptedError, InvalidArgumentError, TruncatedError

MAX_LEVELS = 8  # quantizer levels one frame may declare
STEP_FRACTION_BITS = 4  # steps travel in 1/16, as residual steps do
MAX_STEP_CODE = 1024  # step 64
MAX_SHIFT = 63  # |table index shift| (the latent tables have 64 entries)
CELL = 16  # pixels per latent cell side
DEFAULT_STEPS = (0.5, 2.0)  # (inside, outside): what docs/roi.md measures
_NUM_MAP_TABLES = 48  # the inter tables (edgesdk.codecs.video.residual) code the map


@dataclass(frozen=True)
class QuantMap:
    """Quantizer levels of a latent: ``step_codes[k]`` (step × 16) and ``shifts[k]`` (table
    index shift) of level k, and ``levels`` (uint8 [h, w]), the level of every latent cell."""

    step_codes: tuple[int, ...]
    shifts: tuple[int, ...]
    levels: np.ndarray

    def steps(self) -> np.ndarray:
        """float64 [h, w]: the step of every cell (exact: multiples of 1/16)."""
        return np.asarray(self.step_codes, np.float64)[self.levels] / (1 << STEP_FRACTION_BITS)

    def indexes(self, indexes: np.ndarray, num_tables: int) -> np.ndarray:
        """int32 [M, h, w]: the hyper-synthesis' table ``indexes`` shifted by each cell's level,
        clipped to the ``num_tables`` tables. Integers only."""
        shift = np.asarray(self.shifts, np.int32)[self.levels]
        return np.clip(indexes.astype(np.int32) + shift[None], 0, num_tables - 1).astype(np.int32)


def step_code(step: float) -> int:
    """A step as its code (× 16, rounded); InvalidArgumentError outside 1/16 … 64."""
    code = int(round(float(step) * (1 << STEP_FRACTION_BITS)))
    if not 1 <= code <= MAX_STEP_CODE or not math.isfinite(step):
        raise InvalidArgumentError(f"ROI quantizer step {step} is outside 1/16 … {MAX_STEP_CODE >> STEP_FRACTION_BITS}")
    return code


def region_mask(region, height: int, width: int) -> np.ndarray:
    """A bool HxW pixel mask from ``region``: a bool (or 0/1) HxW array, or rectangles
    (x, y, w, h) in pixels (clipped to the picture). InvalidArgumentError otherwise."""
    if isinstance(region, np.ndarray) and region.ndim == 2:
        if region.shape != (height, width):
            raise InvalidArgumentError(f"ROI mask is {region.shape[1]}x{region.shape[0]}, the picture "
                                       f"{width}x{height}")
        return region.astype(bool)
    mask = np.zeros((height, width), dtype=bool)
    try:
        boxes = [tuple(int(v) for v in box) for box in region]
    except (TypeError, ValueError):
        raise InvalidArgumentError("a region of interest is an HxW bool array or rectangles (x, y, w, h)") from None
    for box in boxes:
        if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
            raise InvalidArgumentError(f"ROI rectangle {box} is not (x, y, w, h) with positive w and h")
        x, y, w, h = box
        mask[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = True
    return mask


def cell_mask(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """bool [h, w]: latent cells that hold at least one pixel of the HxW ``mask``."""
    rows, cols = grid
    padded = np.zeros((rows * CELL, cols * CELL), dtype=bool)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    return padded.reshape(rows, CELL, cols, CELL).any(axis=(1, 3))


def table_log_scales(tables) -> np.ndarray:
    """The natural log of each CDF table's standard deviation (encoder only: any arithmetic)."""
    logs = []
    for row, length, offset in zip(tables.cdfs, tables.cdf_lengths, tables.offsets):
        pmf = np.diff(row[:length].astype(np.float64))[:-1]  # the escape symbol left out
        values = offset + np.arange(pmf.size)
        total = max(pmf.sum(), 1.0)
        mean = (pmf * values).sum() / total
        logs.append(0.5 * math.log(max((pmf * (values - mean) ** 2).sum() / total, 1e-12)))
    return np.asarray(logs)


def index_shift(step: float, tables) -> int:
    """The table index shift that matches dividing a latent by ``step``: its scale is then
    σ/step, so the shift is −log(step) over the tables' mean log-scale spacing, rounded."""
    logs = table_log_scales(tables)
    wide = np.flatnonzero(logs >= 0.0)  # below σ = 1 the integer grid, not the scale, sets a table's spread
    first = int(wide[0]) if wide.size and wide[0] < len(logs) - 1 else 0
    spacing = (logs[-1] - logs[first]) / max(len(logs) - 1 - first, 1)
    if spacing <= 0:
        return 0
    return int(np.clip(round(-math.log(step) / spacing), -MAX_SHIFT, MAX_SHIFT))


def quant_map(cells: np.ndarray, steps: Sequence[float], tables) -> QuantMap:
    """The two-level map of a region: level 0 (``steps[0]``) inside the region's cells, level 1
    (``steps[1]``) outside."""
    if len(steps) != 2:
        raise InvalidArgumentError(f"ROI steps are (inside, outside), not {tuple(steps)}")
    codes = tuple(step_code(s) for s in steps)
    shifts = tuple(index_shift(c / (1 << STEP_FRACTION_BITS), tables) for c in codes)
    return QuantMap(codes, shifts, np.where(cells, 0, 1).astype(np.uint8))


def encode_level_map(levels: np.ndarray) -> bytes:
    """A level map (uint8 [h, w]) as ROI sections code it: grid differences with one inter
    table, its index (u8), the stream's length (u32) and the stream. Shared by ``ROI_LATENT``
    and the inter frames' ``RESIDUAL_ROI`` (edgesdk.codecs.video.roi)."""
    from edgesdk.codecs.video.residual import best_table, grid_differences, inter_tables

    values = grid_differences(levels.astype(np.int64))
    table = best_table(values)
    stream = inter_tables().encode(values[None], np.full((1, *values.shape), table, np.int32))
    return bytes([table]) + struct.pack("<I", len(stream)) + stream


def decode_level_map(data: memoryview, grid: tuple[int, int], count: int) -> tuple[np.ndarray, memoryview]:
    """(level map uint8 [h, w] with levels below ``count``, the bytes after it) of
    :func:`encode_level_map`'s output at the start of ``data``; TruncatedError or
    CorruptedError on damaged input, allocating only the map's cells."""
    from edgesdk.codecs.video.residual import grid_undifferences, inter_tables

    if len(data) < 5:
        raise TruncatedError("ROI map header (table, length) is cut short")
    table = data[0]
    if table >= _NUM_MAP_TABLES:
        raise CorruptedError("ROI section names a CDF table out of range")
    (length,) = struct.unpack_from("<I", data, 1)
    if length > len(data) - 5:
        raise TruncatedError(f"ROI map stream declares {length} bytes, {len(data) - 5} follow")
    diff = inter_tables().decode(data[5:5 + length], np.full((1, *grid), table, np.int32))[0]
    level_map = grid_undifferences(diff.astype(np.int64))
    if level_map.min(initial=0) < 0 or level_map.max(initial=0) >= count:
        raise CorruptedError(f"ROI map has levels outside 0 … {count - 1}")
    return level_map.astype(np.uint8), data[5 + length:]


def encode_section(qmap: QuantMap, latent_stream: bytes) -> bytes:
    """The ``ROI_LATENT`` payload: level count, (step code u16, shift i8) per level, the map
    (:func:`encode_level_map`), then ``latent_stream``."""
    count = len(qmap.step_codes)
    if not 1 <= count <= MAX_LEVELS or len(qmap.shifts) != count:
        raise InvalidArgumentError(f"an ROI map has 1 … {MAX_LEVELS} levels, each with a step and a shift")
    if any(not 1 <= c <= MAX_STEP_CODE for c in qmap.step_codes) or any(abs(s) > MAX_SHIFT for s in qmap.shifts):
        raise InvalidArgumentError("ROI level step or shift out of range")
    header = bytes([count]) + b"".join(struct.pack("<Hb", c, s) for c, s in zip(qmap.step_codes, qmap.shifts))
    return header + encode_level_map(qmap.levels) + bytes(latent_stream)


def decode_section(data: bytes | memoryview, grid: tuple[int, int]) -> tuple[QuantMap, memoryview]:
    """(quantizer map of a latent of ``grid`` cells, the latent stream) of a ``ROI_LATENT``
    payload; TruncatedError or CorruptedError on damaged input, before allocating more than
    the map's cells."""
    data = memoryview(data)
    if len(data) < 1:
        raise TruncatedError("ROI section is empty")
    count = data[0]
    if not 1 <= count <= MAX_LEVELS:
        raise CorruptedError(f"ROI section declares {count} levels, not 1 … {MAX_LEVELS}")
    end = 1 + 3 * count
    if len(data) < end:
        raise TruncatedError("ROI section is shorter than its level table")
    levels = [struct.unpack_from("<Hb", data, 1 + 3 * k) for k in range(count)]
    codes, shifts = tuple(c for c, _ in levels), tuple(s for _, s in levels)
    check_step_codes(codes)
    if any(abs(s) > MAX_SHIFT for s in shifts):
        raise CorruptedError(f"ROI index shifts {shifts} outside ±{MAX_SHIFT}")
    level_map, latent_stream = decode_level_map(data[end:], grid, count)
    return QuantMap(codes, shifts, level_map), latent_stream


def check_step_codes(codes: tuple[int, ...]) -> None:
    """CorruptedError unless every step code read from a stream is in 1 … MAX_STEP_CODE."""
    if any(not 1 <= c <= MAX_STEP_CODE for c in codes):
        raise CorruptedError(f"ROI step codes {codes} outside 1 … {MAX_STEP_CODE}")
