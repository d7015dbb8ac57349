#!/usr/bin/env python3
"""Entropy-coder benchmark: edgesdk's interleaved rANS against constriction's ANS coder.

Both coders run in this process on the same symbols under the same distributions:

  (a) one fixed table: a discretised Laplacian over -64..64;
  (b) 64 zero-mean Gaussian scale tables (scale_table(0.11, 256, 64)), each symbol
      with a uniformly drawn table index, as in a hyperprior's conditional coding.

For each case it reports encode/decode throughput (median over the repeats, after a
warm-up), the compressed size, and two ideal sizes: under the float model both coders
approximate, and under edgesdk's own 16-bit integer tables, so that table quantization
and coder overhead can be told apart.

    python benchmarks/bench_entropy.py [--symbols N] [--repeats R] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import constriction
from edgesdk.bitstream.entropy import PRECISION, CdfTables, pmf_to_quantized_cdf, scale_table

SEED = 20240607
LAPLACE_SUPPORT = 64  # case (a) codes values -64..64
LAPLACE_SCALE = 4.0
TAIL_MASS = 1e-9  # probability left to edgesdk's escape symbol
NUM_SCALES = 64

DECODE_SPEEDUP_TARGET = 10.0  # edgesdk decode (b) vs constriction
SIZE_OVERHEAD_TARGET = 0.5  # percent over the float-model ideal, both cases


@dataclass
class CoderRun:
    coder: str
    encode_s: list[float]
    decode_s: list[float]
    nbytes: int

    def encode_rate(self, n: int) -> float:
        return n / statistics.median(self.encode_s) / 1e6

    def decode_rate(self, n: int) -> float:
        return n / statistics.median(self.decode_s) / 1e6


@dataclass
class Case:
    name: str
    description: str
    ideal_bits: float  # float model
    int_table_bits: float  # edgesdk's integer tables, escapes included
    runs: dict[str, CoderRun] = field(default_factory=dict)


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": str(os.cpu_count()),
        "numpy": np.__version__,
        "constriction": importlib.metadata.version("constriction"),
        "edgesdk": importlib.metadata.version("edgesdk"),
    }


def check_round_trip(case: str, coder: str, decoded: np.ndarray, expected: np.ndarray) -> None:
    if decoded.shape == expected.shape and np.array_equal(decoded, expected):
        return
    message = f"ROUND TRIP FAILED: case {case}, coder {coder}"
    if decoded.shape != expected.shape:
        message += f": decoded shape {decoded.shape}, expected {expected.shape}"
    else:
        first = int(np.flatnonzero(decoded != expected)[0])
        message += f": first mismatch at element {first}: decoded {decoded[first]}, expected {expected[first]}"
    sys.exit(message)


def measure(
    case: str,
    coder: str,
    encode: Callable[[], object],
    decode: Callable[[object], np.ndarray],
    size: Callable[[object], int],
    expected: np.ndarray,
    repeats: int,
) -> CoderRun:
    """One untimed warm-up, then `repeats` timed encode/decode pairs, each round trip checked."""
    payload = encode()
    check_round_trip(case, coder, decode(payload), expected)
    nbytes = size(payload)
    encode_s, decode_s = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        payload = encode()
        encode_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        decoded = decode(payload)
        decode_s.append(time.perf_counter() - start)
        check_round_trip(case, coder, decoded, expected)
        if size(payload) != nbytes:
            sys.exit(f"NON-DETERMINISTIC SIZE: case {case}, coder {coder}: {size(payload)} vs {nbytes} bytes")
        del decoded
    return CoderRun(coder, encode_s, decode_s, nbytes)


def measure_edgesdk(case: str, tables: CdfTables, values: np.ndarray, indexes: np.ndarray, repeats: int) -> CoderRun:
    return measure(
        case,
        "edgesdk",
        lambda: tables.encode(values, indexes),
        lambda data: tables.decode(data, indexes),
        len,
        values,
        repeats,
    )


def measure_constriction(
    case: str, model: object, symbols: np.ndarray, params: tuple[np.ndarray, ...], repeats: int
) -> CoderRun:
    def encode() -> np.ndarray:
        coder = constriction.stream.stack.AnsCoder()
        coder.encode_reverse(symbols, model, *params)
        return coder.get_compressed()

    def decode(compressed: np.ndarray) -> np.ndarray:
        # A fixed model takes the symbol count; a parameterised one takes per-symbol parameters.
        return constriction.stream.stack.AnsCoder(compressed).decode(model, *(params or (len(symbols),)))

    return measure(case, "constriction", encode, decode, lambda c: int(c.nbytes), symbols, repeats)


def bypass_bits(payload: np.ndarray) -> np.ndarray:
    """Bits edgesdk spends on escape payloads: a 4-bit chunk count plus 1..16 4-bit chunks."""
    payload = payload.astype(np.uint64)
    chunks = np.ones(payload.shape, dtype=np.int64)
    for k in range(1, 16):
        chunks += (payload >> np.uint64(4 * k)) != 0
    return 4 * (chunks + 1)


def integer_table_bits(tables: CdfTables, values: np.ndarray, indexes: np.ndarray) -> float:
    """Sum of -log2(freq / 2^PRECISION) under edgesdk's tables, escapes plus their bypass bits."""
    cdfs = tables.cdfs.astype(np.int64)
    freq = np.diff(cdfs, axis=1)  # rows are zero-padded past their length: masked below
    width = freq.shape[1]
    escape_symbol = tables.cdf_lengths.astype(np.int64) - 2
    valid = np.arange(width)[None, :] <= escape_symbol[:, None]
    cost = np.zeros(freq.shape)
    cost[valid] = PRECISION - np.log2(freq[valid])

    relative = values.astype(np.int64) - tables.offsets[indexes]
    escaped = (relative < 0) | (relative >= escape_symbol[indexes])
    direct = ~escaped
    counts = np.bincount(indexes[direct].astype(np.int64) * width + relative[direct], minlength=freq.size)
    bits = float(counts @ cost.ravel())

    if escaped.any():
        esc_index = indexes[escaped]
        esc_relative = relative[escaped]
        esc_symbol = escape_symbol[esc_index]
        payload = np.where(esc_relative < 0, -2 * esc_relative - 1, 2 * (esc_relative - esc_symbol))
        bits += float(cost[esc_index, esc_symbol].sum() + bypass_bits(payload).sum())
    return bits


def gaussian_ideal_bits(values: np.ndarray, indexes: np.ndarray, scales: np.ndarray) -> float:
    """Sum of -log2 P(v) with P(v) = mass of N(0, scale[index]) on [v - 1/2, v + 1/2].

    Masses are computed per table for |v| = 0 .. max|v| (the Gaussian is symmetric), from
    upper-tail probabilities Q(t) = erfc(t / (s sqrt 2)) / 2: P(a) = Q(a - 1/2) - Q(a + 1/2)
    keeps full relative precision far in the tails where 1 - cdf would cancel to zero,
    and P(0) = erf(1 / (2 s sqrt 2)) avoids 1 - 2 Q(1/2) for wide Gaussians.
    """
    magnitude = np.abs(values.astype(np.int64))
    width = int(magnitude.max()) + 1
    denom = scales[:, None] * math.sqrt(2.0)
    upper = 0.5 * np.vectorize(math.erfc)((np.arange(width)[None, :] + 0.5) / denom)
    mass = np.empty((len(scales), width))
    mass[:, 0] = np.vectorize(math.erf)(0.5 / denom[:, 0])
    mass[:, 1:] = upper[:, :-1] - upper[:, 1:]
    counts = np.bincount(indexes.astype(np.int64) * width + magnitude, minlength=mass.size)
    used = counts > 0
    if not np.all(mass.ravel()[used] > 0):
        sys.exit("gaussian_ideal_bits: an observed symbol has zero model mass (underflow)")
    return float(counts[used] @ -np.log2(mass.ravel()[used]))


def case_fixed_table(n: int, repeats: int, rng: np.random.Generator) -> Case:
    support = np.arange(-LAPLACE_SUPPORT, LAPLACE_SUPPORT + 1)
    pmf = np.exp(-np.abs(support) / LAPLACE_SCALE)
    pmf /= pmf.sum()
    values = rng.choice(support, size=n, p=pmf).astype(np.int32)
    indexes = np.zeros(n, dtype=np.int32)

    tables = CdfTables([pmf_to_quantized_cdf(pmf, TAIL_MASS)], offsets=[-LAPLACE_SUPPORT])
    counts = np.bincount(values + LAPLACE_SUPPORT, minlength=len(support))
    case = Case(
        "a",
        f"fixed table: discretised Laplacian (b={LAPLACE_SCALE:g}) on -{LAPLACE_SUPPORT}..{LAPLACE_SUPPORT}",
        ideal_bits=float(counts @ -np.log2(pmf)),
        int_table_bits=integer_table_bits(tables, values, indexes),
    )
    case.runs["edgesdk"] = measure_edgesdk("a", tables, values, indexes, repeats)

    # Categorical's alphabet starts at 0; the shift is done once, outside the timing.
    symbols = (values + LAPLACE_SUPPORT).astype(np.int32)
    model = constriction.stream.model.Categorical(pmf, perfect=False)
    case.runs["constriction"] = measure_constriction("a", model, symbols, (), repeats)
    return case


def case_scale_tables(n: int, repeats: int, rng: np.random.Generator) -> Case:
    scales = scale_table(0.11, 256, NUM_SCALES)
    indexes = rng.integers(0, NUM_SCALES, size=n, dtype=np.int32)
    stds = scales[indexes]
    values = np.rint(rng.standard_normal(n) * stds).astype(np.int32)

    tables = CdfTables.gaussian(scales, TAIL_MASS)
    case = Case(
        "b",
        f"{NUM_SCALES} Gaussian scale tables ({scales[0]:.2f}..{scales[-1]:g}), per-symbol index",
        ideal_bits=gaussian_ideal_bits(values, indexes, scales),
        int_table_bits=integer_table_bits(tables, values, indexes),
    )
    case.runs["edgesdk"] = measure_edgesdk("b", tables, values, indexes, repeats)

    # Bounds from the data so that constriction clips nothing.
    model = constriction.stream.model.QuantizedGaussian(int(values.min()), int(values.max()))
    means = np.zeros(n)
    case.runs["constriction"] = measure_constriction("b", model, values, (means, stds), repeats)
    return case


def overhead_percent(bits: float, ideal_bits: float) -> float:
    return (bits / ideal_bits - 1.0) * 100.0


def report(cases: list[Case], n: int, repeats: int, machine: dict[str, str], elapsed: float) -> dict:
    print("Machine")
    for key, value in machine.items():
        print(f"  {key:<13} {value}")
    print(f"  symbols       {n:,} per case")
    print(f"  repeats       {repeats} timed (median), after 1 warm-up; seed {SEED}")
    print()
    for case in cases:
        print(f"({case.name}) {case.description}")
    print()

    header = (
        f"{'case':<5} {'coder':<22} {'enc Msym/s':>10} {'dec Msym/s':>10}"
        f" {'bytes':>12} {'bits/sym':>9} {'vs ideal':>9}"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        rows = [
            ("ideal (float model)", None, None, case.ideal_bits),
            ("ideal (edgesdk tables)", None, None, case.int_table_bits),
        ]
        for run in case.runs.values():
            rows.append((run.coder, run.encode_rate(n), run.decode_rate(n), 8.0 * run.nbytes))
        for label, enc, dec, bits in rows:
            enc_text = f"{enc:10.1f}" if enc is not None else f"{'':>10}"
            dec_text = f"{dec:10.1f}" if dec is not None else f"{'':>10}"
            print(
                f"({case.name})   {label:<22} {enc_text} {dec_text} {bits / 8:12,.0f} {bits / n:9.4f}"
                f" {overhead_percent(bits, case.ideal_bits):+8.3f}%"
            )
        print()

    for case in cases:
        edgesdk_bits = 8.0 * case.runs["edgesdk"].nbytes
        print(
            f"edgesdk ({case.name}): table quantization {overhead_percent(case.int_table_bits, case.ideal_bits):+.3f}%,"
            f" coder {overhead_percent(edgesdk_bits, case.int_table_bits):+.3f}% over its own tables"
        )
    print()

    ratios = {}
    for case in cases:
        ours, theirs = case.runs["edgesdk"], case.runs["constriction"]
        for phase in ("decode", "encode"):
            ratio = statistics.median(getattr(theirs, f"{phase}_s")) / statistics.median(getattr(ours, f"{phase}_s"))
            ratios[f"{phase}_{case.name}"] = ratio
    for case in ("b", "a"):
        for phase in ("decode", "encode"):
            print(f"edgesdk/constriction {phase} ({case}): {ratios[f'{phase}_{case}']:.2f}×")
    print()

    by_name = {case.name: case for case in cases}
    targets = [
        {
            "name": "decode (b) speedup vs constriction",
            "value": ratios["decode_b"],
            "target": f">= {DECODE_SPEEDUP_TARGET:g}×",
            "pass": ratios["decode_b"] >= DECODE_SPEEDUP_TARGET,
        }
    ]
    for name in ("b", "a"):
        case = by_name[name]
        overhead = overhead_percent(8.0 * case.runs["edgesdk"].nbytes, case.ideal_bits)
        targets.append(
            {
                "name": f"edgesdk size ({name}) vs ideal entropy",
                "value": overhead,
                "target": f"<= +{SIZE_OVERHEAD_TARGET:g}%",
                "pass": overhead <= SIZE_OVERHEAD_TARGET,
            }
        )
    for target in targets:
        unit = "×" if "speedup" in target["name"] else "%"
        value = f"{target['value']:.2f}{unit}" if unit == "×" else f"{target['value']:+.3f}%"
        print(f"{'PASS' if target['pass'] else 'FAIL'}: {target['name']}: {value} (target {target['target']})")
    print()
    print(f"Total runtime {elapsed:.1f} s")

    return {
        "machine": machine,
        "symbols": n,
        "repeats": repeats,
        "seed": SEED,
        "cases": {
            case.name: {
                "description": case.description,
                "ideal_bits": case.ideal_bits,
                "ideal_bytes": case.ideal_bits / 8,
                "edgesdk_table_bits": case.int_table_bits,
                "coders": {
                    run.coder: {
                        "bytes": run.nbytes,
                        "overhead_percent": overhead_percent(8.0 * run.nbytes, case.ideal_bits),
                        "encode_msym_s_median": run.encode_rate(n),
                        "decode_msym_s_median": run.decode_rate(n),
                        "encode_seconds": run.encode_s,
                        "decode_seconds": run.decode_s,
                    }
                    for run in case.runs.values()
                },
            }
            for case in cases
        },
        "ratios_edgesdk_over_constriction": ratios,
        "targets": targets,
        "runtime_seconds": elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=10_000_000, help="symbols per case (default 10M)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement (default 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.symbols < 1 or args.repeats < 1:
        parser.error("--symbols and --repeats must be positive")

    start = time.perf_counter()
    rng = np.random.default_rng(SEED)
    cases = [case_fixed_table(args.symbols, args.repeats, rng), case_scale_tables(args.symbols, args.repeats, rng)]
    figures = report(cases, args.symbols, args.repeats, machine_info(), time.perf_counter() - start)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
