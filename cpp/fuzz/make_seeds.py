#!/usr/bin/env python3
"""Writes seed corpora for the libFuzzer targets in cpp/fuzz (see docs/fuzzing.md).

    python3 cpp/fuzz/make_seeds.py OUT_DIR

creates OUT_DIR/fuzz_container/ (frames, packets, packet streams) and OUT_DIR/fuzz_rans_decode/
(inputs in the layout documented at the top of fuzz_rans_decode.cpp: decode-mode inputs whose
stream is a valid encoding, and round-trip-mode inputs). Only the installed edgesdk package is
used (edgesdk._core and numpy), so the streams come from the same C++ coder the fuzzers link.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np

from edgesdk import _core

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


# ---- fuzz_container -------------------------------------------------------------------------


def container_seeds() -> dict[str, bytes]:
    model = bytes(range(32))
    frames = {
        "frame_minimal": _core.write_frame(0, 0, 0, bytes(32), 1, 1, [], []),
        "frame_key": _core.write_frame(
            0, 0, 75, model, 1920, 1080, [(1, 8), (2, -3), (7, INT32_MAX)], [(1, b"\x01\x02\x03\x04" * 8), (2, b"")]
        ),
        "frame_p": _core.write_frame(3, 1, 50, model, 640, 480, [(9, INT32_MIN)], [(5, bytes(range(200)))]),
        "frame_b": _core.write_frame(
            0, 2, 255, bytes([0xFF]) * 32, 65535, 65535, [], [(k, bytes([k]) * k) for k in range(1, 6)]
        ),
        "frame_many": _core.write_frame(
            1, 0, 10, model, 64, 64, [(k, k * 1000 - 7) for k in range(64)], [(k, bytes([k & 0xFF])) for k in range(32)]
        ),
    }
    # Compact inter frames (docs/bitstream.md): P with copied blocks and latent prediction, B.
    frames["compact_p"] = _core.write_compact_frame(1, 3, 352, 288, [(8, 70), (6, 6), (7, 2), (10, 16), (16, 1)],
                                                    [(5, bytes(range(9))), (2, b"\x05" * 20), (6, b"\x01\x80")])
    frames["compact_b"] = _core.write_compact_frame(2, 1, 70, 45, [(8, 1), (6, 1), (7, 1), (9, 1), (10, 32)],
                                                    [(3, b"\x00\x05\x02\x10\x10"), (5, b"\x00\x01"), (2, b"")])
    seeds = dict(frames)

    def packet(flags: int, stream: int, seq: int, payload: bytes) -> bytes:
        return _core.write_packet(flags, stream, seq, payload)

    seeds["packet_empty"] = packet(0, 0, 0, b"")
    seeds["packet_key_frame"] = packet(1, 7, 0, frames["frame_key"])
    seeds["packet_eos"] = packet(2, 0xFFFFFFFF, 2**64 - 1, b"end")
    # A stream: two streams interleaved, a sequence gap, an end of stream, frames as payloads.
    stream = b"".join(
        [
            packet(1, 1, 0, frames["frame_key"]),
            packet(0, 2, 0, b"audio?"),
            packet(0, 1, 1, frames["frame_p"]),
            packet(0, 1, 3, frames["frame_b"]),  # gap: 2 is missing
            packet(0, 2, 1, b""),
            packet(2, 1, 4, frames["frame_minimal"]),
            packet(0, 1, 0, b"restart after end of stream"),
        ]
    )
    seeds["stream_packets"] = stream
    # Damage: garbage before, between and after packets, a payload with a bad CRC, a truncated tail.
    good = packet(0, 3, 0, b"payload")
    bad = bytearray(packet(0, 3, 1, b"payload"))
    bad[-1] ^= 0x40
    seeds["stream_damaged"] = b"".join(
        [b"EPxx garbage E", good, b"\x00EP\x01", bytes(bad), packet(0, 3, 2, b"ok"), packet(1, 3, 3, b"partial")[:-3]]
    )
    return seeds


# ---- fuzz_rans_decode -----------------------------------------------------------------------
# Mirrors the table descriptors of fuzz_rans_decode.cpp so the streams decode under its tables.


def offset_from_code(code: int, base: int, escape: int) -> int:
    o = code - 256 if code >= 128 else code
    if o == 127:
        return INT32_MAX
    if o == -128:
        return INT32_MIN
    if o == 126:
        return INT32_MAX - escape
    if o == -127:
        return INT32_MIN + 1
    return ((base + o + 2**31) % 2**32) - 2**31


def pmf_table(length: int, masses: list[int], tail: int, offset_code: int) -> tuple[bytes, list[int], int]:
    """Descriptor bytes, CDF and offset of a quantize_pmf table (masses: the K = min(length, 32) bytes)."""
    assert 1 <= length <= 256 and len(masses) == min(length, 32)
    pmf = np.array([float(masses[i % len(masses)]) for i in range(length)], dtype=np.float64)
    cdf = [int(c) for c in _core.quantize_pmf(pmf, float(tail))]
    descriptor = bytes([0x00, length - 1, *masses, tail, offset_code])
    return descriptor, cdf, offset_from_code(offset_code, 0, length)


def gaussian_table(code: int, tail: int, offset_code: int) -> tuple[bytes, list[int], int]:
    """Descriptor bytes, CDF and offset of a gaussian_cdf table (code: 15 bits)."""
    assert 0 <= code < 0x8000
    scale = float((code & 0xFFF) + 1) * float(1 << (code >> 12)) / 4096.0
    tail_mass = float((tail & 7) + 8) / 16.0 * 2.0 ** -(1 + (tail >> 3))
    cdf, base = _core.gaussian_cdf(scale, tail_mass)
    cdf = [int(c) for c in cdf]
    descriptor = bytes([0x80 | (code >> 8), code & 0xFF, tail, offset_code])
    return descriptor, cdf, offset_from_code(offset_code, int(base), len(cdf) - 2)


def n_code(n: int) -> bytes:
    assert 0 <= n <= 4096
    return struct.pack("<H", n if n <= 256 else 0x8000 | n)


def indexes_for(mode: int, n: int, num_tables: int, pattern: bytes) -> list[int]:
    out = []
    for i in range(n):
        if mode == 0:
            out.append(i % num_tables)
        elif mode == 1:
            out.append(pattern[i % len(pattern)] % num_tables)
        elif mode == 2:
            out.append(num_tables - 1)
        else:
            b = pattern[i % len(pattern)]
            out.append(b - 256 if b >= 0xF0 else num_tables + (b & 15) if b >= 0xE0 else b % num_tables)
    return out


def rans_input(tables, n: int, index_mode: int, pattern: bytes, values=None, round_trip: bytes | None = None) -> bytes:
    """One fuzz_rans_decode input. Decode mode: values -> stream; round-trip mode: raw value bytes."""
    num_tables = len(tables)
    assert 1 <= num_tables <= 8
    control = (num_tables - 1) | (index_mode << 4) | (0x80 if round_trip is not None else 0)
    head = bytes([control]) + n_code(n)
    if index_mode in (1, 3):
        assert 1 <= len(pattern) <= 16
        head += bytes([len(pattern) - 1]) + pattern
    head += b"".join(t[0] for t in tables)
    if round_trip is not None:
        return head + round_trip
    width = max(len(t[1]) for t in tables)
    cdfs = np.zeros((num_tables, width), dtype=np.int32)
    for k, t in enumerate(tables):
        cdfs[k, : len(t[1])] = t[1]
    coder = _core.CdfTables(
        cdfs, np.array([len(t[1]) for t in tables], dtype=np.int32), np.array([t[2] for t in tables], dtype=np.int32)
    )
    idx = np.array(indexes_for(index_mode, n, num_tables, pattern), dtype=np.int32)
    vals = np.array(values(idx, tables) if callable(values) else values, dtype=np.int32)
    assert vals.shape == idx.shape
    stream = coder.encode(vals, idx)
    assert np.array_equal(coder.decode(stream, idx), vals)
    return head + stream


def rans_seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(20241122)
    seeds = {}
    uniform4 = pmf_table(4, [1, 1, 1, 1], 0, 0)
    skewed = pmf_table(8, [200, 50, 10, 5, 1, 0, 0, 1], 3, 0xFD)  # offset -3
    wide = pmf_table(256, [k * 7 % 256 for k in range(32)], 9, 0)
    single = pmf_table(1, [1], 1, 0)
    gauss_small = gaussian_table(0x2100, 0x10, 0)  # scale ~0.52, tail 1/8
    gauss_mid = gaussian_table(0x5400, 0xE1, 0)  # scale ~8.3, tail ~1.05e-9
    gauss_wide = gaussian_table(0x7FFF, 0x48, 0)  # scale 128, tail 2^-10
    top = pmf_table(4, [1, 2, 3, 4], 1, 126)  # table ends at INT32_MAX
    bottom = pmf_table(4, [4, 3, 2, 1], 1, 0x80)  # offset INT32_MIN

    def in_table(idx, tables):
        out = []
        for i in idx:
            _, cdf, offset = tables[i]
            out.append(offset + int(rng.integers(0, len(cdf) - 2)))
        return out

    def with_escapes(idx, tables):
        out = []
        specials = [INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1, 0, -1, 1, 1000, -1000, 2**20, -(2**20)]
        for k, i in enumerate(idx):
            _, cdf, offset = tables[i]
            escape = len(cdf) - 2
            r = k % 5
            if r == 0:
                v = specials[(k // 5) % len(specials)]
            elif r == 1:
                v = offset + escape + (k % 17)  # just above the table
            elif r == 2:
                v = offset - 1 - (k % 13)  # just below
            else:
                v = offset + int(rng.integers(0, escape))
            out.append(min(INT32_MAX, max(INT32_MIN, v)))
        return out

    seeds["dec_empty"] = rans_input([uniform4], 0, 0, b"", [])
    seeds["dec_one"] = rans_input([single], 1, 0, b"", [0])
    seeds["dec_one_escape"] = rans_input([single], 1, 0, b"", [2])
    seeds["dec_three_lanes"] = rans_input([uniform4], 3, 0, b"", [0, 3, 1])
    seeds["dec_uniform"] = rans_input([uniform4], 64, 0, b"", in_table)
    seeds["dec_skewed_escapes"] = rans_input([skewed], 100, 2, b"", with_escapes)
    seeds["dec_wide"] = rans_input([wide, uniform4], 200, 0, b"", in_table)
    seeds["dec_gauss"] = rans_input([gauss_small, gauss_mid, gauss_wide], 150, 1, b"\x00\x01\x02\x02\x01", in_table)
    seeds["dec_gauss_escapes"] = rans_input([gauss_small, gauss_mid], 120, 1, b"\x01\x00\x00", with_escapes)
    seeds["dec_extremes"] = rans_input(
        [top, bottom], 16, 0, b"",
        [INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 0, 0, INT32_MAX - 4, INT32_MIN + 4] * 2,
    )
    seeds["dec_eight_tables"] = rans_input(
        [uniform4, skewed, single, gauss_small, gauss_mid, top, bottom, wide], 300, 1,
        bytes(range(8)) + b"\x07\x03", with_escapes,
    )
    seeds["dec_long"] = rans_input([gauss_mid, skewed], 4096, 0, b"", with_escapes)
    # Round-trip mode: value control bytes (see fuzz_rans_decode.cpp); 0xC0 + 4 raw bytes = any int32.
    specials = bytes(range(0xF0, 0x100))
    raw = b"".join(b"\xc0" + struct.pack("<i", v) for v in (INT32_MIN, INT32_MAX, 0, -1, 123456789, -98765))
    seeds["rt_specials"] = rans_input([skewed, gauss_mid], 16, 0, b"", round_trip=specials)
    mixed = specials + raw + bytes(range(0, 0xC0, 7))
    seeds["rt_mixed"] = rans_input([single, top, bottom], 40, 1, b"\x00\x01\x02", round_trip=mixed)
    seeds["rt_invalid_index"] = rans_input([uniform4, skewed], 8, 3, b"\x00\x01\xff\xe3", round_trip=specials[:8])
    noise = bytes(rng.integers(0, 256, 3000, dtype=np.uint8))
    seeds["rt_long"] = rans_input([gauss_wide, wide], 2000, 1, b"\x00\x01\x01", round_trip=noise)
    # Regression inputs, literal bytes (they depend on the coder's byte format, docs/entropy.md).
    # A table of 2 symbols with offset INT32_MAX and a stream coding symbol 1 directly:
    # decode() must not compute INT32_MAX + 1 in int32 (signed overflow, UBSan).
    # control, n = 1 | pmf table: L' = 1, masses 1 1, tail 1, offset code 0x7f | stream
    seeds["regress_direct_symbol_overflow"] = bytes.fromhex("00 0100 | 00 01 0101 01 7f | d6558001".replace("|", ""))
    # One escaped value whose payload is sent in 2 bypass chunks, the high one zero (encode()
    # uses 1): decode() must refuse it or the stream is not canonical.
    # control, n = 1 | pmf table: L' = 0, mass 1, tail 1, offset 0 | stream (value 2, chunks 2, 0)
    seeds["regress_nonminimal_escape_chunks"] = bytes.fromhex("00 0100 | 00 00 01 01 00 | 2180001000".replace("|", ""))
    # The same with 10 chunks: chunk 9 lies beyond the 36-bit payload, where decode() only checks
    # that it is zero; the stream must still be refused (encode() never uses more than 9 chunks).
    seeds["regress_nonminimal_escape_ten_chunks"] = bytes.fromhex(
        "00 0100 | 00 00 01 01 00 | 298000100000000000".replace("|", "")
    )
    return seeds


def intnet_seeds() -> dict[str, bytes]:
    """fuzz_intnet inputs: [height][width] + an EINT blob (small valid networks)."""
    from edgesdk.bitstream.intnet import DepthToSpace, IntConv, IntNetworkSpec

    rng = np.random.default_rng(5)

    def conv(cin, cout, k, relu, lo=-128, hi=127):
        return IntConv(
            weight=rng.integers(-128, 128, (cout, cin, k, k), dtype=np.int8),
            bias=rng.integers(-1000, 1000, cout, dtype=np.int32),
            multiplier=rng.integers(1 << 20, 1 << 30, cout, dtype=np.int32),
            shift=np.full(cout, 30, dtype=np.uint8),
            relu=relu,
            out_min=lo,
            out_max=hi,
        )

    networks = {
        "single_conv": IntNetworkSpec(2, -128, 127, [conv(2, 3, 3, False)]),
        "hyper_synthesis_like": IntNetworkSpec(
            2, -128, 127, [conv(2, 8, 3, True), DepthToSpace(2), conv(2, 8, 1, True), DepthToSpace(2),
                           conv(2, 4, 5, False, -(2**20), 2**20)]
        ),
        "no_ops": IntNetworkSpec(1, -5, 5, []),
        "every_kernel": IntNetworkSpec(
            1, -128, 127, [conv(1, 2, 1, True), conv(2, 2, 3, False), conv(2, 2, 5, True), conv(2, 1, 7, False)]
        ),
        "block_three": IntNetworkSpec(1, -128, 127, [conv(1, 9, 3, False), DepthToSpace(3)]),
    }
    # 0x83: height 4 with the CRC-repair bit set (see fuzz_intnet.cpp).
    seeds = {name: bytes([0x83, 5]) + spec.to_blob() for name, spec in networks.items()}
    seeds["regress_empty_blob"] = bytes([0, 0])  # parse() once passed a null pointer to memcmp
    return seeds


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = Path(argv[1])
    targets = (
        ("fuzz_container", container_seeds()),
        ("fuzz_rans_decode", rans_seeds()),
        ("fuzz_intnet", intnet_seeds()),
    )
    for target, seeds in targets:
        folder = out / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (folder / name).write_bytes(data)
        print(f"{folder}: {len(seeds)} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
