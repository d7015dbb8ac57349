"""Golden-vector files (.egv) of docs/bitstream.md ("Golden vectors")."""

from __future__ import annotations

import struct

import numpy as np

_DTYPES = {1: "<u1", 2: "<i4", 3: "<f8"}


def read(data: bytes) -> dict[str, np.ndarray]:
    if data[:4] != b"EGV1":
        raise ValueError("not an EGV1 file")
    (count,) = struct.unpack_from("<I", data, 4)
    pos, arrays = 8, {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2: pos + 2 + length].decode("ascii")
        pos += 2 + length
        code, size = struct.unpack_from("<BQ", data, pos)
        pos += 9
        dtype = np.dtype(_DTYPES[code])
        arrays[name] = np.frombuffer(data, dtype, size, pos).copy()
        pos += size * dtype.itemsize
    if pos != len(data):
        raise ValueError("bytes after the last array")
    return arrays
