"""Integer networks (EINT 1) of docs/integer-network.md, in numpy int64."""

from __future__ import annotations

import struct

import numpy as np

from .crc32c import crc32c


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def parse(blob: bytes) -> dict:
    blob = bytes(blob)
    if blob[:4] != b"EINT" or blob[4] != 1 or blob[5:8] != bytes(3):
        raise ValueError("not an EINT 1 blob")
    if crc32c(blob[:-4]) != struct.unpack_from("<I", blob, len(blob) - 4)[0]:
        raise ValueError("EINT CRC32C")
    channels, in_min, in_max, op_count = struct.unpack_from("<IiiI", blob, 8)
    pos, ops = 24, []
    for _ in range(op_count):
        kind = blob[pos]
        pos += 4
        if kind == 1:
            cin, cout, k, relu, _r, out_min, out_max = struct.unpack_from("<IIBBHii", blob, pos)
            pos += 20
            count = cout * cin * k * k
            weight = np.frombuffer(blob, np.int8, count, pos).reshape(cout, cin, k, k).astype(np.int64)
            pos += count + _pad4(count)
            bias = np.frombuffer(blob, "<i4", cout, pos).astype(np.int64)
            pos += 4 * cout
            mult = np.frombuffer(blob, "<i4", cout, pos).astype(np.int64)
            pos += 4 * cout
            shift = np.frombuffer(blob, np.uint8, cout, pos).astype(np.int64)
            pos += cout + _pad4(cout)
            ops.append(("conv", weight, bias, mult, shift, bool(relu), out_min, out_max))
        elif kind == 2:
            (block,) = struct.unpack_from("<I", blob, pos)
            pos += 4
            ops.append(("d2s", block))
        else:
            raise ValueError("unknown op")
    if pos != len(blob) - 4:
        raise ValueError("bytes after the last op")
    return {"channels": channels, "in_min": in_min, "in_max": in_max, "ops": ops}


def run(net: dict, x: np.ndarray) -> np.ndarray:
    """Output int32 [C', H', W'] for an integer input [C, H, W]."""
    t = np.clip(np.asarray(x, np.int64), net["in_min"], net["in_max"])
    for op in net["ops"]:
        if op[0] == "conv":
            _, weight, bias, mult, shift, relu, out_min, out_max = op
            cout, cin, k, _ = weight.shape
            r = k // 2
            _, h, w = t.shape
            padded = np.pad(t, ((0, 0), (r, r), (r, r)))
            acc = np.broadcast_to(bias[:, None, None], (cout, h, w)).copy()
            for dy in range(k):
                for dx in range(k):
                    window = padded[:, dy: dy + h, dx: dx + w].reshape(cin, -1)
                    acc += (weight[:, :, dy, dx] @ window).reshape(cout, h, w)
            assert np.abs(acc).max(initial=0) < 2**31
            rounding = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)
            v = (acc * mult[:, None, None] + rounding[:, None, None]) >> shift[:, None, None]  # floor shift
            if relu:
                v = np.maximum(v, 0)
            t = np.clip(v, out_min, out_max)
        else:
            b = op[1]
            c, h, w = t.shape
            t = t.reshape(c // (b * b), b, b, h, w).transpose(0, 3, 1, 4, 2).reshape(c // (b * b), h * b, w * b)
    return t.astype(np.int32)
