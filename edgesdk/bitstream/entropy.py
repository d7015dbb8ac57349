"""Entropy coding: integer CDF tables and the interleaved rANS coder of edgesdk_core.

The function names and arguments follow CompressAI's ``RansEncoder``/``RansDecoder``
so existing code ports directly; the bitstream is edgesdk's own (docs/entropy.md).
All work happens in C++ with the GIL released: one :class:`CdfTables` may be used
from several threads at once.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from edgesdk import _core
from edgesdk.errors import BadMagicError, ChecksumError, CorruptedError, InvalidArgumentError, \
    LimitExceededError, TruncatedError, UnsupportedVersionError

PRECISION: int = _core.PRECISION
"""Bits of every CDF table: entries run from 0 to 2**PRECISION."""

LANES: int = _core.LANES
"""Interleaved rANS states per stream."""

DEFAULT_TAIL_MASS = 1e-9

# Serialized tables (docs/entropy.md, "Table files"): magic, major, minor, reserved u16,
# num_tables u32, total entries u32, then int32 lengths, offsets and the CDF rows back to back, CRC32C.
_TABLES_MAGIC = b"ECDF"
_TABLES_HEADER = struct.Struct("<4sBBHII")
_TABLES_MAJOR = 1
MAX_TABLES = 1 << 16
MAX_CDF_LENGTH = (1 << PRECISION) + 2
MAX_TABLES_BYTES = 64 << 20

_INT32 = np.iinfo(np.int32)


def as_int32(name: str, value: object) -> np.ndarray:
    """``value`` as a C-contiguous int32 array; no copy when it already is one."""
    array = np.asarray(value)
    if array.dtype == np.int32 and array.flags.c_contiguous:
        return array
    if array.size == 0:
        return np.ascontiguousarray(array, dtype=np.int32)
    if array.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{name} must hold integers, got dtype {array.dtype}")
    low, high = array.min(), array.max()
    if low < _INT32.min or high > _INT32.max:
        raise InvalidArgumentError(f"{name} holds values outside int32 ({low}..{high})")
    return np.ascontiguousarray(array, dtype=np.int32)


def pad_cdfs(cdfs: Sequence[Sequence[int]] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stacks ragged CDFs into a zero-padded [num_tables, max_length] array plus their lengths."""
    if isinstance(cdfs, np.ndarray) and cdfs.ndim == 2:
        return as_int32("cdfs", cdfs), np.full(cdfs.shape[0], cdfs.shape[1], dtype=np.int32)
    rows = [as_int32("cdf", row).ravel() for row in cdfs]
    width = max((len(row) for row in rows), default=0)
    padded = np.zeros((len(rows), width), dtype=np.int32)
    for t, row in enumerate(rows):
        padded[t, : len(row)] = row
    return padded, np.array([len(row) for row in rows], dtype=np.int32)


class CdfTables:
    """A validated set of integer CDF tables, ready to encode and decode.

    Table ``t`` codes value ``v`` as symbol ``v - offsets[t]``; its last symbol is the
    escape, so values outside the table still code (at a higher cost).
    """

    def __init__(
        self,
        cdfs: Sequence[Sequence[int]] | np.ndarray,
        cdf_lengths: Sequence[int] | np.ndarray | None = None,
        offsets: Sequence[int] | np.ndarray | None = None,
    ) -> None:
        padded, lengths = pad_cdfs(cdfs)
        if cdf_lengths is not None:
            lengths = as_int32("cdf_lengths", cdf_lengths)
        offsets_array = (
            np.zeros(len(lengths), dtype=np.int32) if offsets is None else as_int32("offsets", offsets)
        )
        self._native = _core.CdfTables(padded, lengths, offsets_array)
        self.cdfs = padded
        self.cdf_lengths = lengths
        self.offsets = offsets_array

    @classmethod
    def from_pmfs(cls, pmfs: Sequence[np.ndarray], offsets: Sequence[int], tail_masses: Sequence[float]) -> CdfTables:
        """Tables from probability vectors (see :func:`pmf_to_quantized_cdf`)."""
        return cls([pmf_to_quantized_cdf(p, m) for p, m in zip(pmfs, tail_masses, strict=True)], offsets=offsets)

    @classmethod
    def gaussian(cls, scales: Sequence[float] | np.ndarray, tail_mass: float = DEFAULT_TAIL_MASS) -> CdfTables:
        """One zero-mean discretised Gaussian table per scale (the scale table of a hyperprior)."""
        built = [gaussian_cdf(float(s), tail_mass) for s in np.asarray(scales, dtype=np.float64).ravel()]
        return cls([cdf for cdf, _ in built], offsets=[offset for _, offset in built])

    @property
    def num_tables(self) -> int:
        """How many CDF tables this set holds."""
        return int(self._native.num_tables)

    def to_bytes(self) -> bytes:
        """The tables as integers (the form bundles ship; read back with :meth:`from_bytes`)."""
        header = _TABLES_HEADER.pack(_TABLES_MAGIC, _TABLES_MAJOR, 0, 0, len(self.cdf_lengths),
                                     int(self.cdf_lengths.sum()))
        rows = b"".join(row[:length].astype("<i4").tobytes() for row, length in zip(self.cdfs, self.cdf_lengths))
        body = header + self.cdf_lengths.astype("<i4").tobytes() + self.offsets.astype("<i4").tobytes() + rows
        return body + struct.pack("<I", _core.crc32c(body))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> CdfTables:
        """Tables from :meth:`to_bytes` output; damaged or hostile input raises an edgesdk error."""
        data = bytes(data)
        if len(data) < _TABLES_HEADER.size + 4:
            raise TruncatedError(f"CDF table file is {len(data)} bytes, shorter than its header")
        magic, major, _minor, reserved, count, total = _TABLES_HEADER.unpack_from(data)
        if magic != _TABLES_MAGIC:
            raise BadMagicError("not an edgesdk CDF table file (bad magic)")
        if major != _TABLES_MAJOR:
            raise UnsupportedVersionError(f"CDF table file version {major} is not supported; upgrade edgesdk")
        if reserved != 0:
            raise CorruptedError("CDF table file has non-zero reserved bits")
        if count > MAX_TABLES or total > count * MAX_CDF_LENGTH or len(data) > MAX_TABLES_BYTES:
            raise LimitExceededError(f"CDF table file declares {count} tables with {total} entries "
                                     f"(limits {MAX_TABLES} tables of {MAX_CDF_LENGTH} entries)")
        expected = _TABLES_HEADER.size + 4 * (2 * count + total) + 4
        if len(data) < expected:
            raise TruncatedError(f"CDF table file is {len(data)} bytes, its header declares {expected}")
        if len(data) > expected:
            raise CorruptedError(f"CDF table file has {len(data) - expected} bytes after its end")
        (stored_crc,) = struct.unpack_from("<I", data, expected - 4)
        if _core.crc32c(data[: expected - 4]) != stored_crc:
            raise ChecksumError("CDF table file fails its CRC32C: it was damaged")
        values = np.frombuffer(data, dtype="<i4", count=2 * count + total, offset=_TABLES_HEADER.size)
        lengths, offsets, rows = values[:count], values[count : 2 * count], values[2 * count :]
        if np.any(lengths < 2) or np.any(lengths > MAX_CDF_LENGTH) or int(lengths.sum(dtype=np.int64)) != total:
            raise CorruptedError("CDF table file has table lengths that do not add up to its entry count")
        starts = np.concatenate([[0], np.cumsum(lengths[:-1], dtype=np.int64)]) if count else []
        return cls([rows[start : start + length] for start, length in zip(starts, lengths)], offsets=offsets)

    def encode(self, values: np.ndarray, indexes: np.ndarray) -> bytes:
        """Codes ``values[i]`` with table ``indexes[i]`` (same shape, any integer dtype)."""
        return self._native.encode(as_int32("values", values), as_int32("indexes", indexes))

    def decode(self, data: bytes | bytearray | memoryview, indexes: np.ndarray) -> np.ndarray:
        """Decodes an int32 array shaped like ``indexes`` from ``data``.

        Raises :class:`~edgesdk.errors.TruncatedError` or
        :class:`~edgesdk.errors.CorruptedError` unless ``data`` is exactly the stream
        these tables and indexes produce.
        """
        return self._native.decode(data, as_int32("indexes", indexes))


def encode_with_indexes(
    symbols: np.ndarray,
    indexes: np.ndarray,
    cdfs: Sequence[Sequence[int]] | np.ndarray,
    cdf_lengths: Sequence[int] | np.ndarray,
    offsets: Sequence[int] | np.ndarray,
) -> bytes:
    """CompressAI-shaped one-shot encode; prefer :class:`CdfTables` when tables are reused."""
    return CdfTables(cdfs, cdf_lengths, offsets).encode(symbols, indexes)


def decode_with_indexes(
    data: bytes | bytearray | memoryview,
    indexes: np.ndarray,
    cdfs: Sequence[Sequence[int]] | np.ndarray,
    cdf_lengths: Sequence[int] | np.ndarray,
    offsets: Sequence[int] | np.ndarray,
) -> np.ndarray:
    """CompressAI-shaped one-shot decode; prefer :class:`CdfTables` when tables are reused."""
    return CdfTables(cdfs, cdf_lengths, offsets).decode(data, indexes)


def pmf_to_quantized_cdf(pmf: Sequence[float] | np.ndarray, tail_mass: float = 0.0) -> np.ndarray:
    """Integer CDF (``len(pmf) + 2`` entries, escape last) for probabilities ``pmf``.

    ``tail_mass`` is the probability of everything outside the table, given to the
    escape symbol. Built in C++ with a fixed sequence of IEEE operations, so every
    platform produces the same table from the same float64 inputs.
    """
    return _core.quantize_pmf(np.ascontiguousarray(pmf, dtype=np.float64), float(tail_mass))


def gaussian_cdf(scale: float, tail_mass: float = DEFAULT_TAIL_MASS) -> tuple[np.ndarray, int]:
    """Integer CDF and offset of a zero-mean Gaussian with standard deviation ``scale``."""
    cdf, offset = _core.gaussian_cdf(float(scale), float(tail_mass))
    return cdf, int(offset)


def scale_table(minimum: float = 0.11, maximum: float = 256.0, levels: int = 64) -> np.ndarray:
    """Log-spaced Gaussian scales, the usual hyperprior scale table."""
    if not (0 < minimum < maximum) or levels < 2:
        raise InvalidArgumentError("scale_table needs 0 < minimum < maximum and levels >= 2")
    return np.exp(np.linspace(np.log(minimum), np.log(maximum), levels))
