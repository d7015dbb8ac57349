"""Region-of-interest quantization of inter frames' latent residuals (section ``RESIDUAL_ROI``,
docs/roi.md).

A P or B frame coded with a region carries its residual in a ``RESIDUAL_ROI`` section instead
of ``LATENT`` (so a decoder that predates it refuses the frame instead of misparsing it), laid
out as the keyframes' ``ROI_LATENT`` (edgesdk.codecs.image.roi): per level a step multiplier
in 1/16 and a table index shift, the level of every latent cell, then the residual stream.
Element (c, i, j) of the residual is
``rint((y − y_pred) / (step · scale[level[i, j]]))``, coded with the residual model's table
``clip(index[c, i, j] + shift[level[i, j]], 0, T − 1)`` (a coarser cell's residual is smaller:
a narrower table), and the decoder's ``ŷ = y_pred + step · scale[level[i, j]] · r``. The parse
reads integers only; step × scale is a multiple of 1/256 with at most 20 significant bits,
exact in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgesdk.codecs.image.roi import QuantMap, cell_mask, decode_section, encode_section, quant_map, region_mask
from edgesdk.codecs.video.residual import inter_tables


def residual_steps(step: float, region: QuantMap | None) -> float | np.ndarray:
    """The quantizer step of a residual: the frame's ``step`` (a multiple of 1/16) without a
    region, else float64 [h, w], step × scale per latent cell (exact). Encoder and decoder
    both take it from here."""
    return step if region is None else region.steps() * step


def residual_shifts(region: QuantMap | None) -> np.ndarray | None:
    """int32 [h, w]: the table index shift of every latent cell (None without a region)."""
    return None if region is None else np.asarray(region.shifts, np.int32)[region.levels]


def residual_region(region, steps: Sequence[float], height: int, width: int, grid: tuple[int, int]) -> QuantMap | None:
    """The two-level map of ``region`` (a mask or rectangles, edgesdk.codecs.image.roi.region_mask)
    on a latent of ``grid`` cells: scale ``steps[0]`` of the frame step inside, ``steps[1]``
    outside, index shifts matched to the inter tables. None for no region or one without a
    pixel in the picture: the frame is then coded uniformly and carries no section."""
    if region is None:
        return None
    cells = cell_mask(region_mask(region, height, width), grid)
    if not cells.any():
        return None
    return quant_map(cells, steps, inter_tables())


def encode_region(region: QuantMap, residual_stream: bytes) -> bytes:
    """The ``RESIDUAL_ROI`` payload: the level table and map, then ``residual_stream``."""
    return encode_section(region, residual_stream)


def decode_region(data: bytes | memoryview, grid: tuple[int, int]) -> tuple[QuantMap, memoryview]:
    """(the region, the residual stream) of a ``RESIDUAL_ROI`` payload for a latent of ``grid``
    cells; TruncatedError or CorruptedError on damaged input, allocating only the map."""
    return decode_section(data, grid)
