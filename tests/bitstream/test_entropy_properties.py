"""Property tests (hypothesis) of the entropy coder: round trips over random tables and
values, and robustness of the decoder against arbitrary, corrupted and truncated input."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import edgesdk
from edgesdk.bitstream import entropy as E

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
TOTAL = 1 << 16

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

probabilities = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_subnormal=True),
    st.floats(min_value=1e-12, max_value=1e-3),
)
offsets = st.one_of(
    st.integers(INT32_MIN, INT32_MAX),
    st.integers(-1000, 1000),
    st.sampled_from([INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1, INT32_MAX - 299, 0]),
)
seeds = st.integers(0, 2**32 - 1)
EXTREMES = np.array([INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1, 0, -1], dtype=np.int64)


def _numpy_pmf(rng: np.random.Generator, n: int) -> np.ndarray:
    """Probabilities over a wide dynamic range, some exactly zero, sometimes peaked."""
    shape = rng.integers(0, 3)
    if shape == 0:
        pmf = np.exp(rng.uniform(-40.0, 0.0, size=n))
    elif shape == 1:
        pmf = rng.dirichlet(np.full(n, 0.3)) if n else np.zeros(0)
    else:
        pmf = np.exp(-0.5 * ((np.arange(n) - rng.uniform(0, n)) / rng.uniform(0.3, n / 2 + 1)) ** 2)
    pmf[rng.random(n) < rng.uniform(0.0, 0.3)] = 0.0
    return pmf


@st.composite
def cdf_tables(draw, max_tables: int = 4):
    """A list of (cdf, offset): cdf of length 2..300 from a random pmf, offset anywhere in int32.

    Short pmfs are drawn element by element (so hypothesis can shrink them); long ones come from
    a drawn numpy seed to keep generation cheap.
    """
    count = draw(st.integers(1, max_tables))
    cdfs, offs = [], []
    for _ in range(count):
        length = draw(st.one_of(st.integers(2, 10), st.integers(2, 300)))
        if length - 2 <= 8:
            pmf = np.array(draw(st.lists(probabilities, min_size=length - 2, max_size=length - 2)))
        else:
            pmf = _numpy_pmf(np.random.default_rng(draw(seeds)), length - 2)
        tail = draw(st.one_of(st.just(0.0), st.floats(1e-12, 1.0)))
        if pmf.sum() + tail == 0.0:
            tail = 1e-9
        cdf = E.pmf_to_quantized_cdf(pmf, tail)
        assert len(cdf) == length
        cdfs.append(cdf)
        offs.append(draw(offsets))
    return cdfs, offs


@st.composite
def coding_problems(draw, max_elements: int = 80):
    """Tables plus values and indexes; values mix in-table, just-outside, extreme and arbitrary int32."""
    cdfs, offs = draw(cdf_tables())
    n = draw(st.integers(0, max_elements))
    rng = np.random.default_rng(draw(seeds))
    indexes = rng.integers(0, len(cdfs), size=n).astype(np.int32)
    lengths = np.array([len(c) for c in cdfs], dtype=np.int64)[indexes]
    base = np.array(offs, dtype=np.int64)[indexes]
    near = base + (rng.random(n) * (lengths + 40)).astype(np.int64) - 20  # offset-20 .. offset+len+19
    anywhere = rng.integers(INT32_MIN, INT32_MAX, size=n, endpoint=True)
    extreme = EXTREMES[rng.integers(0, len(EXTREMES), size=n)]
    kind = rng.integers(0, 3 if rng.random() < 0.5 else 1, size=n)  # half the cases: near only
    values = np.choose(kind, [near, anywhere, extreme])
    values = np.clip(values, INT32_MIN, INT32_MAX)
    # A few elements hypothesis chooses itself (and can shrink).
    overrides = st.tuples(st.integers(0, max(n - 1, 0)), st.integers(INT32_MIN, INT32_MAX))
    for pos, value in draw(st.lists(overrides, max_size=3 if n else 0)):
        values[pos] = value
    return cdfs, offs, values, indexes


# Reference decoder, written from the stream format (cpp/src/rans.cpp): 32-bit states in
# [2^23, 2^31) stored little-endian for each of min(4, n) lanes, then bytes read forwards to refill
# states below 2^23; an escape is followed by 4-bit bypass chunks: count - 1, then the chunks low
# to high. Streams the encoder never makes are rejected: a direct symbol whose value lies above
# INT32_MAX, and an escape with a non-minimal chunk count (leading zero chunks).
_STATE_LOW = 1 << 23


def reference_decode(tables: E.CdfTables, data: bytes, indexes: np.ndarray):
    """Values (Python ints) for a stream the format accepts, else None."""
    idx = [int(i) for i in np.ravel(indexes)]
    n = len(idx)
    if n == 0:
        return [] if len(data) == 0 else None
    lanes = min(E.LANES, n)
    if len(data) < 4 * lanes:
        return None
    states = [int.from_bytes(data[4 * k : 4 * k + 4], "little") for k in range(lanes)]
    if any(not (_STATE_LOW <= x < 1 << 31) for x in states):
        return None
    pos = 4 * lanes
    cdfs = [[int(c) for c in tables.cdfs[t, : tables.cdf_lengths[t]]] for t in range(tables.num_tables)]

    def refill(x: int) -> int:
        nonlocal pos
        while x < _STATE_LOW:
            if pos >= len(data):
                raise EOFError
            x = (x << 8) | data[pos]
            pos += 1
        return x

    out = []
    try:
        for i in range(n):
            t = idx[i]
            cdf = cdfs[t]
            offset = int(tables.offsets[t])
            escape = len(cdf) - 2
            x = states[i % lanes]
            slot = x & 0xFFFF
            s = bisect.bisect_right(cdf, slot) - 1
            x = refill((cdf[s + 1] - cdf[s]) * (x >> 16) + slot - cdf[s])
            if s != escape:
                if s + offset > INT32_MAX:
                    return None
                out.append(s + offset)
                states[i % lanes] = x
                continue
            count = x & 15
            x = refill(x >> 4)
            chunks = []
            for _ in range(count + 1):
                chunks.append(x & 15)
                x = refill(x >> 4)
            if count >= 9:
                return None  # more chunks than any int32 payload needs
            if count > 0 and chunks[-1] == 0:
                return None
            payload = sum(c << (4 * k) for k, c in enumerate(chunks))
            relative = -((payload + 1) >> 1) if payload & 1 else escape + (payload >> 1)
            if not INT32_MIN <= relative + offset <= INT32_MAX:
                return None
            out.append(relative + offset)
            states[i % lanes] = x
    except EOFError:
        return None
    if pos != len(data) or any(x != _STATE_LOW for x in states):
        return None
    return out


def check_decode_against_reference(tables: E.CdfTables, data: bytes, indexes: np.ndarray):
    """Decodes data with the core and checks it against the reference decoder.

    Returns the decoded array, or None when the core raised (it may raise only BitstreamError).
    """
    expected = reference_decode(tables, data, indexes)
    try:
        decoded = tables.decode(data, indexes)
    except edgesdk.Error as exc:
        assert isinstance(exc, edgesdk.BitstreamError), exc
        assert expected is None, f"core rejected a stream the format accepts: {exc}"
        return None
    assert expected is not None, "core accepted a stream the format rejects"
    assert decoded.shape == np.shape(indexes)
    assert decoded.ravel().tolist() == expected
    # A stream the core accepts is exactly what the encoder makes of the decoded values.
    assert tables.encode(decoded, indexes) == data
    return decoded


@PROPERTY_SETTINGS
@given(coding_problems())
def test_round_trip(problem):
    cdfs, offs, values, indexes = problem
    tables = E.CdfTables(cdfs, offsets=offs)
    data = tables.encode(values, indexes)
    assert (len(data) == 0) == (len(values) == 0)
    if len(values):
        assert len(data) >= 4 * min(E.LANES, len(values))
    decoded = tables.decode(data, indexes)
    assert decoded.shape == indexes.shape
    np.testing.assert_array_equal(decoded, values)
    assert reference_decode(tables, data, indexes) == values.tolist()
    # The CompressAI-shaped one-shot functions agree.
    lengths = [len(c) for c in cdfs]
    assert E.encode_with_indexes(values, indexes, [list(c) for c in cdfs], lengths, offs) == data


@PROPERTY_SETTINGS
@given(coding_problems(max_elements=40), st.data())
def test_round_trip_multidimensional(problem, data):
    cdfs, offs, values, indexes = problem
    n = len(values)
    shapes = [s for s in ((n,), (1, n), (n, 1), (2, n // 2), (n // 4, 2, 2)) if math.prod(s) == n]
    shape = data.draw(st.sampled_from(shapes))
    tables = E.CdfTables(cdfs, offsets=offs)
    stream = tables.encode(values.reshape(shape), indexes.reshape(shape))
    assert stream == tables.encode(values, indexes)
    decoded = tables.decode(stream, indexes.reshape(shape))
    assert decoded.shape == shape
    np.testing.assert_array_equal(decoded.ravel(), values)


@PROPERTY_SETTINGS
@given(cdf_tables(), st.binary(max_size=200), st.integers(0, 64), st.data())
def test_random_bytes_never_crash(tables_spec, blob, n, data):
    cdfs, offs = tables_spec
    tables = E.CdfTables(cdfs, offsets=offs)
    indexes = data.draw(st.lists(st.integers(0, len(cdfs) - 1), min_size=n, max_size=n))
    indexes = np.array(indexes, dtype=np.int32)
    check_decode_against_reference(tables, blob, indexes)


@st.composite
def damaged_streams(draw):
    cdfs, offs, values, indexes = draw(coding_problems(max_elements=60))
    assume(len(values) > 0)
    tables = E.CdfTables(cdfs, offsets=offs)
    stream = tables.encode(values, indexes)
    kind = draw(st.sampled_from(["flip", "set", "truncate", "append", "delete"]))
    buf = bytearray(stream)
    if kind == "flip":
        pos = draw(st.integers(0, len(buf) - 1))
        buf[pos] ^= 1 << draw(st.integers(0, 7))
    elif kind == "set":
        pos = draw(st.integers(0, len(buf) - 1))
        new = draw(st.integers(0, 255).filter(lambda b: b != buf[pos]))
        buf[pos] = new
    elif kind == "truncate":
        buf = buf[: draw(st.integers(0, len(buf) - 1))]
    elif kind == "append":
        buf += draw(st.binary(min_size=1, max_size=8))
    else:
        pos = draw(st.integers(0, len(buf) - 1))
        del buf[pos]
    return tables, values, indexes, stream, kind, bytes(buf)


@PROPERTY_SETTINGS
@given(damaged_streams())
def test_damaged_stream_never_crashes(case):
    tables, values, indexes, stream, kind, damaged = case
    assert damaged != stream
    if kind == "truncate":
        with pytest.raises(edgesdk.TruncatedError):
            tables.decode(damaged, indexes)
    elif kind == "append":
        with pytest.raises(edgesdk.CorruptedError):
            tables.decode(damaged, indexes)
    decoded = check_decode_against_reference(tables, damaged, indexes)
    if decoded is not None:
        # Damage can go unnoticed only where the damaged bytes are another valid stream.
        assert kind not in ("truncate", "append")
        # Streams are canonical: different bytes never decode to the same values.
        assert not np.array_equal(decoded, values)


@PROPERTY_SETTINGS
@given(
    st.lists(st.floats(min_value=0.0, max_value=1e300, allow_subnormal=True), max_size=300),
    st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e300, allow_subnormal=True)),
)
def test_quantized_cdf_always_valid(pmf, tail):
    assume(sum(pmf) + tail > 0.0)
    cdf = E.pmf_to_quantized_cdf(pmf, tail)
    assert cdf.shape == (len(pmf) + 2,)
    assert cdf[0] == 0 and cdf[-1] == TOTAL
    freqs = np.diff(cdf.astype(np.int64))
    assert freqs.min() >= 1
    E.CdfTables([cdf])  # accepted by the coder
    # Proportional: where rounding alone leaves (almost) nothing to spread, every frequency stays
    # within 2 of max(1, round(p * 65536)).
    probs = np.array(pmf + [tail])
    probs = probs / probs.sum()
    ideal = np.maximum(1, np.rint(probs * TOTAL))
    if abs(ideal.sum() - TOTAL) <= 2:
        assert np.abs(freqs - ideal).max() <= 2


@PROPERTY_SETTINGS
@given(st.floats(min_value=0.01, max_value=300.0), st.floats(min_value=1e-12, max_value=0.5))
def test_gaussian_cdf_properties(scale, tail):
    cdf, offset = E.gaussian_cdf(scale, tail)
    k = -offset
    assert k >= 0 and len(cdf) == 2 * k + 3
    assert cdf[0] == 0 and cdf[-1] == TOTAL and np.all(np.diff(cdf) >= 1)
    upper = lambda t: 0.5 * math.erfc(t / scale / math.sqrt(2.0))  # noqa: E731
    assert 2.0 * upper(k + 0.5) <= tail * (1 + 1e-9)
    if k > 0:
        assert 2.0 * upper(k - 0.5) > tail * (1 - 1e-9)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 9])
def test_every_single_byte_change_is_handled(n):
    """Exhaustive over positions and bit flips of small streams (complements the random search)."""
    cdfs = [E.pmf_to_quantized_cdf([0.1, 0.4, 0.3, 0.2], 1e-4)]
    tables = E.CdfTables(cdfs, offsets=[-1])
    rng = np.random.default_rng(n)
    values = rng.integers(-3, 5, size=n)
    values[0] = INT32_MIN
    indexes = np.zeros(n, dtype=np.int32)
    stream = tables.encode(values, indexes)
    assert check_decode_against_reference(tables, stream, indexes).tolist() == values.tolist()
    for pos in range(len(stream)):
        for bit in range(8):
            damaged = bytearray(stream)
            damaged[pos] ^= 1 << bit
            check_decode_against_reference(tables, bytes(damaged), indexes)
