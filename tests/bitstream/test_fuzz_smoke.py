"""libFuzzer smoke runs of the C++ core (cpp/fuzz, docs/fuzzing.md).

Builds the fuzz targets (container, rANS decode, integer network) with clang (libFuzzer + ASan + UBSan), writes the
seed corpora with cpp/fuzz/make_seeds.py, and runs each fuzzer for a bounded time. A crash,
a sanitizer report or a violated round-trip property makes the fuzzer exit non-zero, and the
test fails with the fuzzer's report. Skipped when clang++ or cmake are missing, unless CI=true.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from native_build import cmake_build, in_ci, require_tools, run

pytestmark = [pytest.mark.native, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CPP = REPO / "cpp"
FUZZERS = ("fuzz_container", "fuzz_rans_decode", "fuzz_intnet")
SECONDS_PER_FUZZER = 20  # a cap; a run normally ends at RUNS inputs
MIN_EXECUTIONS = 1000
# Deterministic: a fixed seed per fuzzer and a fixed number of inputs, so a run is the same
# sequence of mutations every time (reproduce a finding with the same -seed and -runs).
SEEDS = {"fuzz_container": 1901, "fuzz_rans_decode": 1902, "fuzz_intnet": 1903}
RUNS = 20000


def _require_libfuzzer(tmp_path: Path) -> None:
    """clang++ without compiler-rt's libFuzzer cannot link a fuzzer: skip locally, fail in CI."""
    probe = tmp_path / "probe.cpp"
    probe.write_text(
        "#include <cstddef>\n#include <cstdint>\n"
        'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n'
    )
    result = subprocess.run(
        ["clang++", "-fsanitize=fuzzer,address,undefined", str(probe), "-o", str(tmp_path / "probe")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        message = f"clang++ cannot link a libFuzzer target (install libclang-rt-14-dev):\n{result.stderr[-2000:]}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def fuzz_build(tmp_path_factory):
    require_tools("cmake", "clang++")
    tmp = tmp_path_factory.mktemp("fuzz")
    _require_libfuzzer(tmp)
    build = cmake_build(
        tmp / "build",
        "-DCMAKE_CXX_COMPILER=clang++",
        "-DCMAKE_BUILD_TYPE=Release",
        "-DEDGESDK_BUILD_FUZZERS=ON",
        "-DEDGESDK_BUILD_TESTS=OFF",
        "-DEDGESDK_SANITIZE=ON",
        source=CPP,
    )
    seeds = tmp / "seeds"
    run([sys.executable, str(CPP / "fuzz" / "make_seeds.py"), str(seeds)])
    return build, seeds


@pytest.mark.parametrize("fuzzer", FUZZERS)
def test_fuzzer_smoke(fuzz_build, fuzzer, tmp_path):
    build, seeds = fuzz_build
    binary = build / fuzzer
    assert binary.exists(), f"{binary} was not built"
    seed_dir = seeds / fuzzer
    assert len(list(seed_dir.iterdir())) >= 5, "make_seeds.py wrote too few seeds"
    corpus = tmp_path / "corpus"  # new units go here; the seed folder is read only
    corpus.mkdir()
    command = [
        str(binary),
        f"-seed={SEEDS[fuzzer]}",
        f"-runs={RUNS}",
        f"-max_total_time={SECONDS_PER_FUZZER}",
        "-timeout=5",
        # Linux carries the parent's peak RSS across exec into ru_maxrss, which libFuzzer's RSS
        # limit reads, so a big pytest process would fail the run. Single allocations over 2 GiB
        # still fail it; leaks are LeakSanitizer's.
        "-rss_limit_mb=0",
        "-malloc_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={tmp_path}/",
        str(corpus),
        str(seed_dir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS_PER_FUZZER + 300, cwd=tmp_path)
    output = result.stdout + result.stderr
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "leak-", "timeout-", "oom-")))
    # The lines that say what went wrong, ahead of the stack trace.
    pattern = r"property violated|runtime error|ERROR: (AddressSanitizer|libFuzzer)|Test unit written"
    findings = list(dict.fromkeys(line for line in output.splitlines() if re.search(pattern, line)))
    assert result.returncode == 0, (
        f"{fuzzer} exited {result.returncode}; artifacts {crashes} in {tmp_path}\n"
        + "\n".join(findings[:20])
        + f"\n---- last output ----\n{output[-6000:]}"
    )
    assert not crashes, f"{fuzzer} left artifacts {crashes} in {tmp_path}"
    match = re.search(r"stat::number_of_executed_units:\s*(\d+)", output)
    assert match, f"{fuzzer} printed no final stats:\n{output[-3000:]}"
    executions = int(match.group(1))
    print(f"{fuzzer}: {executions} inputs in {SECONDS_PER_FUZZER} s")
    assert executions >= MIN_EXECUTIONS, f"{fuzzer} ran only {executions} inputs in {SECONDS_PER_FUZZER} s"
