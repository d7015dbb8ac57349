#!/usr/bin/env python3
"""Scripted mutants of the C++ core's parse-deciding code (docs/testing.md).

Each mutant replaces one exact snippet of cpp/src (rANS decode, container CRC and section
checks, integer-network requantisation) in a copy of cpp/, rebuilds the test binary
incrementally and runs it against the golden vectors. A mutant is killed when the tests fail
(or time out), survives when they pass, and is "stillborn" when it does not compile.
The repository itself is never modified.

    python tools/mutants/cpp_mutants.py            # every mutant (a few minutes)
    python tools/mutants/cpp_mutants.py --only intnet-round-half-down --keep /tmp/m
    python tools/mutants/cpp_mutants.py --sample 6 --seed 1   # a fast subset (CI)

Exit status 1 when a mutant survives that is not listed in EQUIVALENT.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# (id, file under cpp/src, exact snippet, replacement). Every snippet must occur exactly once.
MUTANTS = [
    # --- integer network: requantisation (docs/integer-network.md) ---
    ("intnet-round-half-down", "intnet.cpp", "shift > 0 ? int64_t{1} << (shift - 1) : 0",
     "shift > 0 ? (int64_t{1} << (shift - 1)) - 1 : 0"),
    ("intnet-no-rounding", "intnet.cpp", "shift > 0 ? int64_t{1} << (shift - 1) : 0", "0"),
    ("intnet-round-by-shift", "intnet.cpp", "shift > 0 ? int64_t{1} << (shift - 1) : 0",
     "shift > 0 ? int64_t{1} << shift : 0"),
    ("intnet-truncating-shift", "intnet.cpp", "return a >= 0 ? a >> s : -(((-(a + 1)) >> s) + 1);",
     "return a >= 0 ? a >> s : -((-a) >> s);"),
    ("intnet-floor-off-by-one", "intnet.cpp", "return a >= 0 ? a >> s : -(((-(a + 1)) >> s) + 1);",
     "return a >= 0 ? a >> s : -(((-(a + 1)) >> s));"),
    ("intnet-relu-dropped", "intnet.cpp", "if (op.relu) v = std::max<int64_t>(v, 0);", ""),
    ("intnet-relu-strict", "intnet.cpp", "if (op.relu) v = std::max<int64_t>(v, 0);",
     "if (op.relu) v = std::max<int64_t>(v, 1);"),
    ("intnet-negative-multiplier-accepted", "intnet.cpp",
     "if (op.multiplier[o] < 0) return fail(where + \"negative requantization multiplier\");", ""),
    ("intnet-shift-limit-off-by-one", "intnet.cpp", "if (op.shift[o] > kMaxShift)", "if (op.shift[o] > kMaxShift + 1)"),
    ("intnet-overflow-bound-dropped", "intnet.cpp",
     "if (bound > std::numeric_limits<int32_t>::max()) return fail(", "if (false) return fail("),
    # --- container: CRCs and section accounting ---
    ("container-last-section-crc-skipped", "container.cpp", "if (crc32c(payload, s.size) != s.crc) {",
     "if (i + 1 < view.sections.size() && crc32c(payload, s.size) != s.crc) {"),
    ("container-section-crc-skipped", "container.cpp", "if (crc32c(payload, s.size) != s.crc) {", "if (false) {"),
    ("container-section-crc-wrong-length", "container.cpp", "if (crc32c(payload, s.size) != s.crc) {",
     "if (crc32c(payload, s.size ? s.size - 1 : 0) != s.crc && s.size < 2) {"),
    ("container-section-payload-not-advanced", "container.cpp", "        payload += s.size;\n    }\n    view.header_size",
     "    }\n    view.header_size"),
    ("container-header-crc-skipped", "container.cpp",
     "if (crc32c(data, header_size - 4) != get_u32(data + header_size - 4)) {", "if (false) {"),
    ("container-trailing-bytes-accepted", "container.cpp", "if (payload_total < available) {", "if (false) {"),
    ("container-short-payload-accepted", "container.cpp", "if (payload_total > available) {", "if (false) {"),
    ("container-packet-payload-crc-skipped", "container.cpp",
     "if (crc32c(*payload, h.payload_size) != h.payload_crc) {", "if (false) {"),
    ("container-packet-header-crc-skipped", "container.cpp",
     "if (crc32c(data, kPacketHeaderSize - 4) != get_u32(data + kPacketHeaderSize - 4)) {", "if (false) {"),
    # --- rANS decode ---
    ("rans-leftover-bytes-accepted", "rans.cpp", "if (in.p != in.end) {", "if (in.p > in.end) {"),
    ("rans-final-state-unchecked", "rans.cpp", "if (states[lane] != kStateLow) {", "if (false) {"),
    ("rans-escape-count-limit-off-by-one", "rans.cpp", "if (count_minus_one >= kMaxPayloadBits / kBypassBits)",
     "if (count_minus_one > kMaxPayloadBits / kBypassBits)"),
    ("rans-escape-overlong-accepted", "rans.cpp", "if (k == count_minus_one && k > 0 && chunk == 0)", "if (false)"),
    ("rans-escape-sign-flipped", "rans.cpp", "(payload & 1u) ? -int64_t((payload + 1) >> 1)",
     "(payload & 1u) ? int64_t((payload + 1) >> 1)"),
    ("rans-value-above-int32-accepted", "rans.cpp",
     "if (v > std::numeric_limits<int32_t>::max()) return Status::kCorrupted;", ""),
    ("rans-tail-index-unchecked", "rans.cpp", "if (index >= num_tables) return fail(Status::kInvalidArgument, i);", ""),
    ("rans-initial-state-unchecked", "rans.cpp",
     "if (states[lane] < kStateLow || states[lane] >= (kStateLow << kByteBits)) {", "if (false) {"),
]

# Mutants judged equivalent (no input can tell them apart), with the reason; docs/testing.md.
EQUIVALENT: dict[str, str] = {
    "rans-escape-count-limit-off-by-one":
        "a tenth chunk must be non-zero (the overlong check), so the payload is at least 2^36 and the "
        "int32 range check refuses the value with the same kCorrupted; only a stream cut right after "
        "the chunk count could tell them apart, and both refuse it (kCorrupted vs kTruncated)",
}


def sh(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="mutant ids to run")
    parser.add_argument("--sample", type=int, help="run a random sample of this many mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per test run")
    args = parser.parse_args()

    mutants = [m for m in MUTANTS if not args.only or m[0] in args.only]
    if args.sample:
        mutants = random.Random(args.seed).sample(mutants, min(args.sample, len(mutants)))
    work = args.keep or Path(tempfile.mkdtemp(prefix="edgesdk-mutants-"))
    src = work / "cpp"
    if src.exists():
        shutil.rmtree(src)
    # Fresh modification times (not copy2's): a kept build folder must rebuild whatever a past mutant left.
    shutil.copytree(REPO / "cpp", src, ignore=shutil.ignore_patterns("build*"), copy_function=shutil.copy)
    build = work / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    configure = sh(["cmake", "-S", str(src), "-B", str(build), *generator, "-DCMAKE_BUILD_TYPE=Release",
                    f"-DEDGESDK_GOLDEN_DIR={REPO / 'edgesdk' / 'data' / 'golden'}"], work, 600)
    if configure.returncode:
        print(configure.stdout + configure.stderr)
        return 2

    def build_and_test() -> tuple[str, str]:
        made = sh(["cmake", "--build", str(build), "--target", "edgesdk_core_tests", "--parallel",
                   str(os.cpu_count() or 2)], work, 900)
        if made.returncode:
            return "stillborn", made.stdout[-400:]
        try:
            ran = sh([str(build / "edgesdk_core_tests"), str(REPO / "edgesdk" / "data" / "golden")], work, args.timeout)
        except subprocess.TimeoutExpired:
            return "killed", "timeout"
        failed = [line for line in ran.stdout.splitlines() if line.startswith("[FAIL]")]
        return ("killed" if ran.returncode else "survived"), " ".join(line[7:] for line in failed)

    status, detail = build_and_test()
    if status != "survived":
        print(f"the unmutated core does not pass its tests ({status}): {detail}")
        return 2
    results = []
    for ident, name, old, new in mutants:
        path = src / "src" / name
        original = path.read_text()
        if original.count(old) != 1:
            print(f"{ident}: snippet found {original.count(old)} times in {name}; update tools/mutants/cpp_mutants.py")
            return 2
        path.write_text(original.replace(old, new))
        started = time.monotonic()
        try:
            status, detail = build_and_test()
        finally:
            path.write_text(original)
            os.utime(path)
        if status == "survived" and ident in EQUIVALENT:
            status = "equivalent"
        results.append((ident, status))
        print(f"{status:10} {ident:42} {time.monotonic() - started:5.1f}s  {detail[:150]}", flush=True)
    scored = [s for _, s in results if s in ("killed", "survived")]
    killed = scored.count("killed")
    print(f"score: {killed}/{len(scored)} killed"
          + (f" ({100 * killed / len(scored):.0f}%)" if scored else "")
          + f"; {sum(s == 'equivalent' for _, s in results)} equivalent, "
            f"{sum(s == 'stillborn' for _, s in results)} stillborn")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if "survived" in scored else 0


if __name__ == "__main__":
    sys.exit(main())
