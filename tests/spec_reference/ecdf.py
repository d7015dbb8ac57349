"""ECDF table files (docs/entropy.md, "Table files")."""

from __future__ import annotations

import struct

import numpy as np

from .crc32c import crc32c


def read_tables(data: bytes) -> tuple[list[np.ndarray], np.ndarray]:
    """(CDF rows, offsets) of an ECDF file; raises ValueError on any broken rule."""
    magic, major, _minor, reserved, count, total = struct.unpack_from("<4sBBHII", data, 0)
    if magic != b"ECDF" or major != 1 or reserved != 0:
        raise ValueError("not an ECDF 1.x file")
    end = 16 + 4 * (2 * count + total)
    if len(data) != end + 4:
        raise ValueError("ECDF size does not match its counts")
    if crc32c(data[:end]) != struct.unpack_from("<I", data, end)[0]:
        raise ValueError("ECDF CRC32C mismatch")
    values = np.frombuffer(data, "<i4", 2 * count + total, 16).astype(np.int64)
    lengths, offsets, rows = values[:count], values[count: 2 * count], values[2 * count:]
    if int(lengths.sum()) != total:
        raise ValueError("ECDF lengths do not add up")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return [rows[s: s + n] for s, n in zip(starts, lengths)], offsets
