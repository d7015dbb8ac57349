"""Block motion for B frames and motion-compensated P frames: estimation on the encoder,
compensation in exact integers.

The decoder must rebuild the encoder's prediction from the same decoded references, so
motion compensation and interpolation are integer numpy (bilinear sub-pel with fixed
weights and rounding); estimation is an encoder choice and may use anything. Motion
vectors travel losslessly in a ``MOTION`` section (layout: docs/video.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from edgesdk.errors import CorruptedError, InvalidArgumentError, TruncatedError
from edgesdk.codecs.video.residual import NUM_TABLES, best_table, grid_differences, grid_undifferences, inter_tables

MIN_BLOCK_LOG2, MAX_BLOCK_LOG2 = 3, 6  # blocks of 8 … 64 pixels
MAX_FRACTION_BITS = 2  # quarter-pel at most
MAX_MOTION = 256  # |component| in whole pixels

# Encoder defaults, chosen by B-frame bytes (residual + motion) on foreman and akiyo (docs/video.md).
DEFAULT_BLOCK_SIZE = 32
DEFAULT_SEARCH_RANGE = 12
DEFAULT_FRACTION_BITS = 2
DEFAULT_VECTOR_COST = 16.0
_HEADER_BYTES = 3


class Interpolation(enum.IntEnum):
    """How a B frame is predicted from its past and future references."""

    BIDIRECTIONAL = 0  # rounded mean of both motion-compensated references
    FORWARD = 1  # the past reference, motion-compensated
    BACKWARD = 2  # the future reference, motion-compensated
    BLEND = 3  # no motion: both references weighted by their temporal distance

    @property
    def fields(self) -> tuple[bool, bool]:
        """(uses past motion, uses future motion)."""
        return {0: (True, True), 1: (True, False), 2: (False, True), 3: (False, False)}[int(self)]


@dataclass(frozen=True)
class Motion:
    """The prediction of one B frame: mode, block grid and one vector field per used reference.

    Vectors are int32 [blocks_y, blocks_x, 2] as (dy, dx) in units of 1/2^fraction_bits pixel;
    the block at (i, j) of the frame is predicted from the reference at its position + vector.
    """

    mode: Interpolation
    block_log2: int = 4
    fraction_bits: int = 1
    past: np.ndarray | None = None
    future: np.ndarray | None = None

    @property
    def block_size(self) -> int:
        """The side of a motion block in pixels."""
        return 1 << self.block_log2


def block_grid(height: int, width: int, block_size: int) -> tuple[int, int]:
    """(rows, columns) of motion blocks covering ``height`` x ``width`` (partial blocks count)."""
    return -(-height // block_size), -(-width // block_size)


def luma(image: np.ndarray) -> np.ndarray:
    """int32 BT.601-weighted luma of an HxWx3 uint8 image (for estimation only)."""
    rgb = image.astype(np.int32)
    return (77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2] + 128) >> 8


def compensate(reference: np.ndarray, vectors: np.ndarray, block_size: int, fraction_bits: int) -> np.ndarray:
    """The reference displaced block by block: exact integers, edges replicated.

    Sub-pel positions are bilinear with weights in 1/2^fraction_bits and rounding half up:
    ``(Σ w·p + 2^(2f-1)) >> 2f``. Works on HxW or HxWxC arrays of uint8 or int32.
    """
    height, width = reference.shape[:2]
    scale = 1 << fraction_bits
    v = vectors.astype(np.int32)
    rows = (np.arange(height, dtype=np.int32) << fraction_bits)[:, None] + np.repeat(
        np.repeat(v[..., 0], block_size, 0), block_size, 1)[:height, :width]
    cols = (np.arange(width, dtype=np.int32) << fraction_bits)[None, :] + np.repeat(
        np.repeat(v[..., 1], block_size, 0), block_size, 1)[:height, :width]
    row0, col0 = rows >> fraction_bits, cols >> fraction_bits  # arithmetic shift: floor
    flat = reference.reshape(height * width, -1)
    top, bottom = np.clip(row0, 0, height - 1) * width, np.clip(row0 + 1, 0, height - 1) * width
    left, right = np.clip(col0, 0, width - 1), np.clip(col0 + 1, 0, width - 1)

    def sample(row_offsets: np.ndarray, columns: np.ndarray) -> np.ndarray:
        return flat[(row_offsets + columns).ravel()].reshape(reference.shape).astype(np.int32)

    if fraction_bits == 0:
        return sample(top, left).astype(reference.dtype)
    fy, fx = rows & (scale - 1), cols & (scale - 1)
    if reference.ndim == 3:
        fy, fx = fy[..., None], fx[..., None]
    # Separable: the same integer sum as Σ w·p with the four bilinear weights.
    upper = (scale - fx) * sample(top, left) + fx * sample(top, right)
    lower = (scale - fx) * sample(bottom, left) + fx * sample(bottom, right)
    out = ((scale - fy) * upper + fy * lower + (1 << (2 * fraction_bits - 1))) >> (2 * fraction_bits)
    return out.astype(reference.dtype)


def interpolate(motion: Motion, past: np.ndarray, future: np.ndarray, past_distance: int, future_distance: int) -> np.ndarray:
    """The B-frame prediction (HxWx3 uint8) from the decoded references: exact integers."""
    if motion.mode == Interpolation.BLEND:
        total = past_distance + future_distance
        mixed = future_distance * past.astype(np.int32) + past_distance * future.astype(np.int32)
        return ((mixed + total // 2) // total).astype(np.uint8)
    size, bits = motion.block_size, motion.fraction_bits
    forward = compensate(past, motion.past, size, bits) if motion.past is not None else None
    backward = compensate(future, motion.future, size, bits) if motion.future is not None else None
    if forward is not None and backward is not None:
        return ((forward.astype(np.int32) + backward + 1) >> 1).astype(np.uint8)
    return forward if forward is not None else backward


@dataclass(frozen=True)
class MotionSearch:
    """The encoder's motion estimation settings (decoders only read the vectors it finds)."""

    block_size: int = DEFAULT_BLOCK_SIZE
    search_range: int = DEFAULT_SEARCH_RANGE
    fraction_bits: int = DEFAULT_FRACTION_BITS
    vector_cost: float = DEFAULT_VECTOR_COST

    def __post_init__(self) -> None:
        if self.block_size not in (8, 16, 32, 64) or not 0 <= self.fraction_bits <= MAX_FRACTION_BITS \
                or not 0 <= self.search_range <= 64:
            raise InvalidArgumentError("block_size must be 8, 16, 32 or 64; motion_fraction_bits 0..2; "
                                       "search_range 0..64")

    def field(self, target: np.ndarray, reference_original: np.ndarray) -> np.ndarray:
        """Vectors moving ``reference_original`` onto ``target`` (RGB pictures). Estimated between
        source pictures: the decoded references' coding noise would attract vectors that follow it."""
        return estimate_motion(luma(target), luma(reference_original), self.block_size, self.search_range,
                               self.fraction_bits, self.vector_cost)

    def motion(self, mode: Interpolation, past: np.ndarray | None = None, future: np.ndarray | None = None) -> Motion:
        """``mode`` with these fields on this search's block grid and precision."""
        return Motion(mode, self.block_size.bit_length() - 1, self.fraction_bits, past, future)


def compensated(motion: Motion, reference: np.ndarray) -> np.ndarray:
    """A motion-compensated P frame's prediction: ``reference`` moved by the past field."""
    return compensate(reference, motion.past, motion.block_size, motion.fraction_bits)


# ------------------------------------------------------------------------------ estimation


def _block_sums(values: np.ndarray, block_size: int) -> np.ndarray:
    """Sum over each block (the last row and column of blocks may be partial)."""
    rows = np.add.reduceat(values, np.arange(0, values.shape[0], block_size), axis=0)
    return np.add.reduceat(rows, np.arange(0, values.shape[1], block_size), axis=1)


def estimate_motion(
    target: np.ndarray,
    reference: np.ndarray,
    block_size: int = DEFAULT_BLOCK_SIZE,
    search_range: int = DEFAULT_SEARCH_RANGE,
    fraction_bits: int = DEFAULT_FRACTION_BITS,
    vector_cost: float = DEFAULT_VECTOR_COST,
) -> np.ndarray:
    """Block matching of ``target`` against ``reference`` (both luma, HxW): vectors int32
    [blocks_y, blocks_x, 2] in 1/2^fraction_bits pixel.

    Each block minimises SAD + vector_cost · (block_size/16)² · |v|₁ (in pixels), so flat
    areas keep cheap, zero vectors. Integer search: exhaustive within ±search_range for
    small ranges or blocks; otherwise on half-resolution pictures within ±search_range/2,
    then ±1 pixel around the doubled result and the zero vector (about 8x fewer SADs).
    Then sub-pel refinement over the 8 neighbours, level by level.
    """
    target = target.astype(np.int32)
    reference = reference.astype(np.int32)
    penalty = vector_cost * (block_size / 16) ** 2
    if search_range > 4 and block_size >= 8:
        coarse, _ = _full_search(_half(target), _half(reference), block_size // 2, -(-search_range // 2), penalty / 2)
        best = np.clip(2 * coarse, -search_range, search_range)
        best_cost = _cost(target, reference, best, block_size, 0, penalty)
        zero = np.zeros_like(best)
        zero_cost = _cost(target, reference, zero, block_size, 0, penalty)
        keep_zero = zero_cost <= best_cost
        best[keep_zero], best_cost = 0, np.where(keep_zero, zero_cost, best_cost)
        best, best_cost = _refine(target, reference, best, best_cost, block_size, 0, penalty, 1)
    else:
        best, best_cost = _full_search(target, reference, block_size, search_range, penalty)
    best <<= fraction_bits
    for level in range(1, fraction_bits + 1):
        best, best_cost = _refine(target, reference, best, best_cost, block_size, fraction_bits, penalty,
                                  1 << (fraction_bits - level))
    return best.astype(np.int32)


def _half(picture: np.ndarray) -> np.ndarray:
    """2x2 mean (edge-padded to even sizes)."""
    p = np.pad(picture, ((0, picture.shape[0] % 2), (0, picture.shape[1] % 2)), mode="edge")
    return (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2] + 2) >> 2


def _full_search(target: np.ndarray, reference: np.ndarray, block_size: int, search_range: int,
                 penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """Best integer vector per block within ±search_range, and its cost."""
    height, width = target.shape
    by, bx = block_grid(height, width, block_size)
    best_cost = np.full((by, bx), np.inf)
    best = np.zeros((by, bx, 2), dtype=np.int64)
    padded = np.pad(reference, search_range, mode="edge")
    offsets = [(dy, dx) for dy in range(-search_range, search_range + 1) for dx in range(-search_range, search_range + 1)]
    offsets.sort(key=lambda o: abs(o[0]) + abs(o[1]))  # ties keep the shorter vector
    for dy, dx in offsets:
        shifted = padded[search_range + dy : search_range + dy + height, search_range + dx : search_range + dx + width]
        cost = _block_sums(np.abs(target - shifted), block_size) + penalty * (abs(dy) + abs(dx))
        better = cost < best_cost
        best_cost = np.where(better, cost, best_cost)
        best[better] = (dy, dx)
    return best, best_cost


def _cost(target: np.ndarray, reference: np.ndarray, vectors: np.ndarray, block_size: int, fraction_bits: int,
          penalty: float) -> np.ndarray:
    predicted = compensate(reference, vectors, block_size, fraction_bits)
    length = np.abs(vectors).sum(-1) / (1 << fraction_bits)
    return _block_sums(np.abs(target - predicted), block_size) + penalty * length


def _refine(target: np.ndarray, reference: np.ndarray, best: np.ndarray, best_cost: np.ndarray, block_size: int,
            fraction_bits: int, penalty: float, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Tries the 8 neighbours at ``step`` (in 1/2^fraction_bits pixel) of every block's vector."""
    centre, best = best, best.copy()
    for sy in (-step, 0, step):
        for sx in (-step, 0, step):
            if sy or sx:
                candidate = centre + np.array([sy, sx])
                cost = _cost(target, reference, candidate, block_size, fraction_bits, penalty)
                better = cost < best_cost
                best_cost = np.where(better, cost, best_cost)
                best[better] = candidate[better]
    return best, best_cost


# --------------------------------------------------------------------------------- coding


def encode_motion(motion: Motion) -> bytes:
    """The MOTION section: mode, block size, precision, a table per vector component, one stream."""
    uses = motion.mode.fields
    fields = [f for f, used in zip((motion.past, motion.future), uses) if used]
    if any(f is None for f in fields):
        raise InvalidArgumentError(f"{motion.mode.name} needs its motion field(s)")
    diffs = [grid_differences(f) for f in fields]
    tables = [best_table(d[..., c]) for d in diffs for c in (0, 1)]
    header = bytes([int(motion.mode), motion.block_log2, motion.fraction_bits, *tables])
    if not fields:
        return header
    values = np.stack([d[..., c] for d in diffs for c in (0, 1)])
    indexes = np.broadcast_to(np.array(tables, dtype=np.int32)[:, None, None], values.shape)
    return header + inter_tables().encode(values, indexes)


def decode_motion(data: bytes | memoryview, height: int, width: int) -> Motion:
    """Parses a MOTION section of a ``height`` x ``width`` frame; raises on damaged input."""
    data = memoryview(data)
    if len(data) < _HEADER_BYTES:
        raise TruncatedError("motion section is shorter than its header")
    mode_value, block_log2, fraction_bits = data[:_HEADER_BYTES]
    if mode_value not in Interpolation._value2member_map_:
        raise CorruptedError(f"motion section names interpolation {mode_value}, not one of 0..3")
    if not MIN_BLOCK_LOG2 <= block_log2 <= MAX_BLOCK_LOG2 or fraction_bits > MAX_FRACTION_BITS:
        raise CorruptedError(f"motion block size 2^{block_log2} or precision 1/2^{fraction_bits} out of range")
    mode = Interpolation(mode_value)
    count = sum(mode.fields)
    if len(data) < _HEADER_BYTES + 2 * count:
        raise TruncatedError("motion section is shorter than its table indexes")
    tables = list(data[_HEADER_BYTES : _HEADER_BYTES + 2 * count])
    if any(t >= NUM_TABLES for t in tables):
        raise CorruptedError("motion section names a CDF table out of range")
    stream = data[_HEADER_BYTES + 2 * count :]
    fields: list[np.ndarray | None] = [None, None]
    if count:
        by, bx = block_grid(height, width, 1 << block_log2)
        indexes = np.broadcast_to(np.array(tables, dtype=np.int32)[:, None, None], (2 * count, by, bx))
        values = inter_tables().decode(stream, indexes)
        limit = MAX_MOTION << fraction_bits
        decoded = []
        for k in range(count):
            vectors = np.stack([grid_undifferences(values[2 * k + c].astype(np.int64)) for c in (0, 1)], axis=-1)
            if np.abs(vectors).max(initial=0) > limit:
                raise CorruptedError(f"motion vector beyond ±{MAX_MOTION} pixels")
            decoded.append(vectors.astype(np.int32))
        slots = [i for i, used in enumerate(mode.fields) if used]
        for slot, vectors in zip(slots, decoded):
            fields[slot] = vectors
    elif len(stream):
        raise CorruptedError("motion section has bytes after a mode without motion")
    return Motion(mode, block_log2, fraction_bits, fields[0], fields[1])


# ------------------------------------------------------------------------- copied blocks


def encode_copy_blocks(mask: np.ndarray) -> bytes:
    """The COPY_BLOCKS section: a table index, then the mask's differences (as motion vectors
    are differenced) coded with that inter table. ``mask`` is bool per latent cell."""
    values = grid_differences(np.asarray(mask, dtype=bool).astype(np.int64))
    table = best_table(values)
    indexes = np.full((1, *values.shape), table, dtype=np.int32)
    return bytes([table]) + inter_tables().encode(values[None], indexes)


def decode_copy_blocks(data: bytes | memoryview, shape: tuple[int, int]) -> np.ndarray:
    """Parses a COPY_BLOCKS section for a latent grid of ``shape``; raises on damaged input."""
    data = memoryview(data)
    if len(data) < 1:
        raise TruncatedError("copy-blocks section is empty")
    if data[0] >= NUM_TABLES:
        raise CorruptedError("copy-blocks section names a CDF table out of range")
    indexes = np.full((1, *shape), data[0], dtype=np.int32)
    mask = grid_undifferences(inter_tables().decode(data[1:], indexes)[0].astype(np.int64))
    if mask.min(initial=0) < 0 or mask.max(initial=0) > 1:
        raise CorruptedError("copy-blocks mask has values other than 0 and 1")
    return mask.astype(bool)
