"""The rANS decoder of docs/entropy.md ("Decoding"), one element at a time."""

from __future__ import annotations

import numpy as np

STATE_LOW = 1 << 23
PRECISION = 16
LANES = 4


class StreamError(ValueError):
    pass


def decode(data: bytes, tables: list[np.ndarray], offsets, indexes: np.ndarray) -> np.ndarray:
    """Values of ``indexes.size`` elements (C order), element i with table indexes[i]."""
    flat = np.asarray(indexes).ravel()
    n = flat.size
    data = bytes(data)
    if n == 0:
        if data:
            raise StreamError("bytes for zero elements")
        return np.zeros(np.shape(indexes), np.int32)
    lanes = min(LANES, n)
    if len(data) < 4 * lanes:
        raise StreamError("shorter than the state header")
    states = [int.from_bytes(data[4 * k: 4 * k + 4], "little") for k in range(lanes)]
    if any(not STATE_LOW <= x < STATE_LOW << 8 for x in states):
        raise StreamError("initial state out of range")
    pos = 4 * lanes
    out = np.empty(n, np.int64)

    def refill(x: int) -> int:
        nonlocal pos
        while x < STATE_LOW:
            if pos >= len(data):
                raise StreamError("truncated")
            x = (x << 8) | data[pos]
            pos += 1
        return x

    rows = [[int(v) for v in t] for t in tables]
    for i in range(n):
        lane = i % lanes
        t = int(flat[i])
        cdf = rows[t]
        escape = len(cdf) - 2
        x = states[lane]
        slot = x & 0xFFFF
        s = 0
        while cdf[s + 1] <= slot:
            s += 1
        x = (cdf[s + 1] - cdf[s]) * (x >> PRECISION) + slot - cdf[s]
        x = refill(x)
        if s != escape:
            value = s + int(offsets[t])
        else:
            chunks = []
            for _ in range(2):  # chunk count, then at least one chunk
                chunks.append(x & 15)
                x = refill(x >> 4)
            count = chunks[0] + 1
            if count > 9:
                raise StreamError("escape with more chunks than an int32 needs")
            for _ in range(count - 1):
                chunks.append(x & 15)
                x = refill(x >> 4)
            payload = sum(c << (4 * k) for k, c in enumerate(chunks[1:]))
            if count > 1 and chunks[-1] == 0:
                raise StreamError("escape payload with a zero top chunk")
            relative = -((payload + 1) >> 1) if payload & 1 else escape + (payload >> 1)
            value = relative + int(offsets[t])
        if not -(1 << 31) <= value < (1 << 31):
            raise StreamError("value outside int32")
        out[i] = value
        states[lane] = x
    if pos != len(data):
        raise StreamError("bytes left after the last element")
    if any(x != STATE_LOW for x in states):
        raise StreamError("final state is not 2^23")
    return out.astype(np.int32).reshape(np.shape(indexes))
