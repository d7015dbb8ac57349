"""Integer-exact, forward-adaptive entropy coding of latent residuals and motion vectors.

Video inter frames (docs/video.md) code integers that no hyperprior describes: the quantized
latent residual ``r`` and motion-vector differences. Both use one fixed set of zero-mean
Gaussian CDF tables (:func:`inter_tables`); the **encoder** picks which table codes which
group of values and sends the choice as small integers, so the decoder's parse depends on
nothing but integers read from the stream (docs/architecture.md: everything below the runners is integer).

The residual's table of element (c, i, j) is ``clip(a[c] + b[tile(i, j)], 0, T - 1)``: one
index per latent channel plus, optionally, one offset per spatial tile (where the picture
moves, every channel's residual is larger). The encoder fits ``a`` and ``b`` to the residual
and keeps the layout (no tiles, or tiles of 2, 4 or 8 latent elements) whose stream is
shortest. Layout of the side information: docs/video.md. A frame with a region of interest
adds a per-cell shift to every index (``clip(clip(a[c] + b[tile]) + shift(i, j))``, docs/roi.md).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from edgesdk.bitstream.entropy import CdfTables
from edgesdk.errors import CorruptedError, Error, InvalidArgumentError, TruncatedError

NUM_TABLES = 48
"""Tables in the inter set: Gaussian scales 0.05 · 1.18^k, k < 48 (0.05 … 120)."""

# Scales are exact dyadic numbers from an integer recurrence, so every platform hands the
# same float64 inputs to the deterministic C++ table builder.
_SCALE_FRACTION_BITS = 16
_FIRST_SCALE = 3277  # 0.05 · 2^16
_SCALE_RATIO = (118, 100)

# sha256 over (cdfs, lengths, offsets) as little-endian int32 of the tables built from the
# scales above. Checked at every build: a platform whose builder disagrees is refused
# instead of parsing streams differently.
INTER_TABLES_SHA256 = "8df682019e80055b6bdc2beec9f0a28a2f1edc8c774beb1e3717766ff50a6dd1"

TILE_SIZES = (0, 2, 4, 8)
"""Residual layouts the encoder tries: 0 = one table index per channel, else per-channel
indexes plus an offset per tile of that many latent elements square."""

FIT_BUDGET = 1 << 16  # channels × tiles above this are not tried: the fit's memory grows with them (~50 MB here)
_BITS_RANGE = 64  # rate estimates clip values to ±this (escapes cost about the same beyond)
_HEADER_BYTES = 4
SKIPS_COPIED = 0x80
"""Bit of the model's first byte: the stream holds no element of copied cells (docs/video.md)."""
_MAX_TILE = 64


def inter_scales() -> np.ndarray:
    """The float64 Gaussian scales of the inter table set (exact dyadic values)."""
    numerators = [_FIRST_SCALE]
    for _ in range(NUM_TABLES - 1):
        numerators.append((numerators[-1] * _SCALE_RATIO[0] + _SCALE_RATIO[1] // 2) // _SCALE_RATIO[1])
    return np.array(numerators, dtype=np.float64) / float(1 << _SCALE_FRACTION_BITS)


def tables_digest(tables: CdfTables) -> str:
    """sha256 of a table set's integers (CDF rows, lengths, offsets)."""
    digest = hashlib.sha256()
    for array in (tables.cdfs, tables.cdf_lengths, tables.offsets):
        digest.update(np.ascontiguousarray(array, dtype="<i4").tobytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def inter_tables() -> CdfTables:
    """The fixed integer tables of residuals and motion vectors, built once per process."""
    tables = CdfTables.gaussian(inter_scales())
    if tables_digest(tables) != INTER_TABLES_SHA256:
        raise Error(
            "this platform builds the video CDF tables differently from the reference; "
            "video streams cannot be parsed reliably here (please report the platform)"
        )
    return tables


@functools.lru_cache(maxsize=1)
def _bits_per_value() -> np.ndarray:
    """[NUM_TABLES, 2·R + 1] estimated bits of coding each value in [-R, R] with each table."""
    tables = inter_tables()
    values = np.arange(-_BITS_RANGE, _BITS_RANGE + 1)
    bits = np.empty((tables.num_tables, values.size))
    for t in range(tables.num_tables):
        cdf = tables.cdfs[t, : tables.cdf_lengths[t]].astype(np.int64)
        n = cdf.size - 2
        symbols = values - tables.offsets[t]
        direct = (symbols >= 0) & (symbols < n)
        freq = np.where(direct, cdf[np.clip(symbols + 1, 1, n)] - cdf[np.clip(symbols, 0, n - 1)], cdf[n + 1] - cdf[n])
        payload = np.where(symbols >= n, 2 * (symbols - n), -2 * symbols - 1)
        chunks = np.maximum(1, np.ceil(np.log2(np.maximum(payload, 1) + 1) / 4))
        bits[t] = 16 - np.log2(freq) + np.where(direct, 0, 4 + 4 * chunks)
    return bits


def _group_costs(values: np.ndarray, groups: np.ndarray, num_groups: int) -> np.ndarray:
    """[num_groups, NUM_TABLES] estimated bits of each group of ``values`` with each table."""
    width = 2 * _BITS_RANGE + 1
    clipped = np.clip(values.ravel(), -_BITS_RANGE, _BITS_RANGE) + _BITS_RANGE
    # A histogram over the whole clipped range (linear time; np.unique sorted and cost as much
    # as the synthesis on 768-channel latents), then only the values present: residuals use few.
    counts = np.bincount(groups.ravel() * width + clipped, minlength=num_groups * width).reshape(num_groups, width)
    present = np.flatnonzero(counts.any(axis=0))
    return counts[:, present].astype(np.float64) @ _bits_per_value()[:, present].T


def best_table(values: np.ndarray) -> int:
    """Index of the inter table that codes ``values`` in the fewest (estimated) bits."""
    values = np.asarray(values)
    if values.size == 0:
        return 0
    costs = _group_costs(values, np.zeros(values.size, dtype=np.int64), 1)
    return int(costs[0].argmin())


# ----------------------------------------------------------------------------- residual


@dataclass(frozen=True)
class ResidualModel:
    """Which inter table codes each residual element: ``clip(channel_indexes[c] + tile_offsets[tile])``."""

    tile_size: int  # latent elements per tile side; 0: no tile offsets
    channel_indexes: np.ndarray  # int32 [M], each in [0, NUM_TABLES)
    tile_offsets: np.ndarray  # int32 [tiles_y, tiles_x] (empty when tile_size is 0)

    def indexes(self, shape: tuple[int, int, int]) -> np.ndarray:
        """int32 table index of every element of a residual of ``shape`` (M, h, w)."""
        m, h, w = shape
        if self.tile_size == 0:
            spatial = np.zeros((h, w), dtype=np.int32)
        else:
            spatial = np.repeat(np.repeat(self.tile_offsets, self.tile_size, 0), self.tile_size, 1)[:h, :w]
        return np.clip(self.channel_indexes[:m, None, None] + spatial[None], 0, NUM_TABLES - 1).astype(np.int32)


def _shifted(indexes: np.ndarray, shifts: np.ndarray | None) -> np.ndarray:
    """Table indexes [M, h, w] plus a region's per-cell ``shifts`` [h, w], clipped to the tables."""
    if shifts is None:
        return indexes
    return np.clip(indexes + shifts[None], 0, NUM_TABLES - 1).astype(np.int32)


def _shifted_costs(values: np.ndarray, groups: np.ndarray, num_groups: int, shifts: np.ndarray | None) -> np.ndarray:
    """[num_groups, NUM_TABLES] estimated bits of each group with each table before a region's
    per-cell ``shifts`` (added to the table of each cell; None: no region)."""
    if shifts is None:
        return _group_costs(values, groups, num_groups)
    levels, level_of = np.unique(shifts, return_inverse=True)  # a region has a few distinct shifts
    level_of = np.broadcast_to(level_of.reshape(shifts.shape)[None], values.shape)
    costs = _group_costs(values, groups * levels.size + level_of, num_groups * levels.size)
    costs = costs.reshape(num_groups, levels.size, NUM_TABLES)
    tables = np.arange(NUM_TABLES)
    return sum(costs[:, k, np.clip(tables + shift, 0, NUM_TABLES - 1)] for k, shift in enumerate(levels))


def _tile_grid(shape: tuple[int, int, int], tile: int) -> tuple[int, int]:
    _, h, w = shape
    return -(-h // tile), -(-w // tile)


def _fit_model(residual: np.ndarray, tile: int, rounds: int = 3, shifts: np.ndarray | None = None,
               coded: np.ndarray | None = None) -> ResidualModel:
    """Channel indexes (and tile offsets) that minimise the estimated bits of ``residual`` at the
    ``coded`` cells (None: all), coded with a region's ``shifts`` added to the indexes."""
    m, h, w = residual.shape
    cells = np.ones((h, w), bool) if coded is None else coded
    values = residual.reshape(m, h * w) if coded is None else residual[:, cells]  # [M, K], the stream's order
    cell_shifts = None if shifts is None or not cells.any() else shifts[cells]  # no cell: nothing to shift
    if tile == 0:
        groups = np.broadcast_to(np.arange(m)[:, None], values.shape)
        costs = _shifted_costs(values, groups, m, cell_shifts)  # [M, T]
        return ResidualModel(0, costs.argmin(1).astype(np.int32), np.zeros((0, 0), np.int32))
    tiles_y, tiles_x = _tile_grid(residual.shape, tile)
    num_tiles = tiles_y * tiles_x
    tile_of = ((np.arange(h) // tile)[:, None] * tiles_x + (np.arange(w) // tile)[None, :])[cells]
    groups = np.arange(m)[:, None] * num_tiles + tile_of[None]
    costs = _shifted_costs(values, groups, m * num_tiles, cell_shifts).reshape(m, num_tiles, NUM_TABLES)
    channel = costs.sum(1).argmin(1)
    offsets = np.zeros(num_tiles, dtype=np.int64)
    costs = costs.astype(np.float32)
    rows, tiles = np.arange(m)[:, None], np.arange(num_tiles)[:, None]
    candidates_b = np.arange(-(NUM_TABLES - 1), NUM_TABLES)
    candidates_a = np.arange(NUM_TABLES)
    for _ in range(rounds):  # coordinate descent: offsets given indexes, then indexes given offsets
        by_offset = costs[rows, :, np.clip(channel[:, None] + candidates_b, 0, NUM_TABLES - 1)].sum(0)  # [B, tiles]
        offsets = candidates_b[by_offset.argmin(0)]
        by_index = costs[:, tiles, np.clip(candidates_a + offsets[:, None], 0, NUM_TABLES - 1)].sum(1)  # [M, A]
        channel = candidates_a[by_index.argmin(1)]
    return ResidualModel(tile, channel.astype(np.int32), offsets.reshape(tiles_y, tiles_x).astype(np.int32))


def _encode_model(model: ResidualModel, skips_copied: bool = False) -> bytes:
    """Header (tile size, base index, two table indexes) + one stream of the side integers:
    a code per channel, then the tile offsets.

    Channels either carry nothing (index 0) or cluster well above it, so code 0 means index 0
    and other indexes are coded around the median of the non-zero ones (:func:`_channel_codes`).
    """
    active = model.channel_indexes[model.channel_indexes > 0]
    base = int(np.median(active)) if active.size else 1
    codes = _channel_codes(model.channel_indexes, base)
    offsets = model.tile_offsets.ravel()
    code_table, offset_table = best_table(codes), best_table(offsets) if offsets.size else 0
    values = np.concatenate([codes, offsets])
    indexes = np.concatenate([np.full(codes.size, code_table), np.full(offsets.size, offset_table)])
    header = bytes([model.tile_size | (SKIPS_COPIED if skips_copied else 0), base, code_table, offset_table])
    return header + inter_tables().encode(values, indexes)


def _channel_codes(indexes: np.ndarray, base: int) -> np.ndarray:
    """0 for index 0; index − base + 1 at or above ``base``; index − base below it."""
    distance = indexes.astype(np.int64) - base
    return np.where(indexes == 0, 0, np.where(distance >= 0, distance + 1, distance))


def _channel_indexes(codes: np.ndarray, base: int) -> np.ndarray:
    """Inverse of :func:`_channel_codes`."""
    return np.where(codes == 0, 0, np.where(codes > 0, codes - 1, codes) + base)


def _decode_model(data: bytes | memoryview, shape: tuple[int, int, int]) -> tuple[ResidualModel, bool]:
    """(the model, whether the stream skips copied cells) of a ``RESIDUAL_MODEL`` section."""
    data = memoryview(data)
    if len(data) < _HEADER_BYTES:
        raise TruncatedError(f"residual model is {len(data)} bytes, shorter than its {_HEADER_BYTES}-byte header")
    layout, base, code_table, offset_table = data[:_HEADER_BYTES]
    tile = layout & ~SKIPS_COPIED
    if max(base, code_table, offset_table) >= NUM_TABLES or base == 0 or tile > _MAX_TILE:
        raise CorruptedError("residual model header names a table or tile size out of range")
    m = shape[0]
    tiles_y, tiles_x = _tile_grid(shape, tile) if tile else (0, 0)
    indexes = np.concatenate([np.full(m, code_table, np.int32), np.full(tiles_y * tiles_x, offset_table, np.int32)])
    values = inter_tables().decode(data[_HEADER_BYTES:], indexes).astype(np.int64)
    codes, offsets = values[:m], values[m:]
    channel = _channel_indexes(codes, base)
    if np.any((codes != 0) & (channel <= 0)) or channel.max(initial=0) >= NUM_TABLES or np.abs(offsets).max(initial=0) >= NUM_TABLES:
        raise CorruptedError("residual model has a table index or tile offset out of range")
    model = ResidualModel(tile, channel.astype(np.int32), offsets.reshape(tiles_y, tiles_x).astype(np.int32))
    return model, bool(layout & SKIPS_COPIED)


def encode_residual(residual: np.ndarray, tile_sizes: tuple[int, ...] = TILE_SIZES,
                    shifts: np.ndarray | None = None, copied: np.ndarray | None = None) -> tuple[bytes, bytes]:
    """Codes an integer residual [M, h, w]; returns (model, stream), the shortest of ``tile_sizes``.
    ``shifts`` (int [h, w], a region of interest's) are added to every element's table index.
    ``copied`` (bool [h, w], the frame's copied cells): their elements are left out of the
    stream (they must be 0; the decoder reads them from ``COPY_BLOCKS``)."""
    residual = np.asarray(residual)
    if residual.ndim != 3 or residual.dtype.kind not in "iu":
        raise InvalidArgumentError(f"expected an integer residual [M, h, w], got {residual.dtype} {residual.shape}")
    if not tile_sizes or any(not 0 <= t <= _MAX_TILE for t in tile_sizes):
        raise InvalidArgumentError(f"tile_sizes must be a non-empty list of values in 0..{_MAX_TILE}")
    coded = None
    if copied is not None:
        coded = ~np.asarray(copied, bool)
        if coded.shape != residual.shape[1:] or residual[:, ~coded].any():
            raise InvalidArgumentError("copied cells must match the residual's grid and carry no residual")
    tables = inter_tables()
    best: tuple[bytes, bytes] | None = None
    levels = 1 if shifts is None else np.unique(shifts).size  # the fit's groups grow with them
    for tile in tile_sizes:
        if tile and residual.shape[0] * np.prod(_tile_grid(residual.shape, tile)) * levels > FIT_BUDGET:
            continue
        model = _fit_model(residual, tile, shifts=shifts, coded=coded)
        indexes = _shifted(model.indexes(residual.shape), shifts)
        stream = tables.encode(residual, indexes) if coded is None else tables.encode(residual[:, coded], indexes[:, coded])
        coded_pair = (_encode_model(model, coded is not None), stream)
        if best is None or len(coded_pair[0]) + len(coded_pair[1]) < len(best[0]) + len(best[1]):
            best = coded_pair
    if best is None:
        raise InvalidArgumentError("every tile size gives too many tiles for this residual; include 0")
    return best


def decode_residual(model: bytes | memoryview, stream: bytes | memoryview, shape: tuple[int, int, int],
                    shifts: np.ndarray | None = None, copied: np.ndarray | None = None) -> np.ndarray:
    """The int32 residual [M, h, w] of :func:`encode_residual`'s output (with the same
    ``shifts`` and ``copied`` cells, which a model that skips them requires); raises on damaged input."""
    residual_model, skips_copied = _decode_model(model, shape)
    indexes = _shifted(residual_model.indexes(shape), shifts)
    if not skips_copied:
        return inter_tables().decode(stream, indexes)
    if copied is None:
        raise CorruptedError("the residual leaves out copied cells but the frame has no COPY_BLOCKS section")
    coded = ~np.asarray(copied, bool)
    residual = np.zeros(shape, np.int32)
    residual[:, coded] = inter_tables().decode(stream, indexes[:, coded])
    return residual


def grid_differences(values: np.ndarray) -> np.ndarray:
    """Each value of a 2-D integer grid minus its left neighbour; the first column minus the
    one above (small numbers for the inter tables when neighbours agree)."""
    v = values.astype(np.int64)
    diff = v.copy()
    diff[:, 1:] -= v[:, :-1]
    diff[1:, 0] -= v[:-1, 0]
    return diff


def grid_undifferences(diff: np.ndarray) -> np.ndarray:
    """The grid :func:`grid_differences` was made from."""
    first_column = np.cumsum(diff[:, 0], axis=0)
    return np.cumsum(np.concatenate([first_column[:, None], diff[:, 1:]], axis=1), axis=1)
