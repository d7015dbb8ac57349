"""The C++ core on its own: ctest natively, under ASan+UBSan, and cross-compiled for aarch64
under qemu-user, each checking the golden vectors bit for bit."""

from __future__ import annotations

import re

import pytest

from native_build import GOLDEN, REPO, cmake_build, require_tools, run

pytestmark = [pytest.mark.native, pytest.mark.slow]

ELF_MACHINE_AARCH64 = 183


def _ctest(build_dir) -> str:
    output = run(["ctest", "--test-dir", str(build_dir), "--output-on-failure", "--verbose"])
    match = re.search(r"(\d+) passed, (\d+) failed", output)
    assert match, output[-3000:]
    assert int(match.group(1)) >= 20 and int(match.group(2)) == 0, output[-3000:]
    assert "[pass] golden_rans_gaussian" in output
    return output


def test_core_native(tmp_path):
    require_tools("cmake", "c++")
    _ctest(cmake_build(tmp_path / "native", "-DCMAKE_BUILD_TYPE=Release", f"-DEDGESDK_GOLDEN_DIR={GOLDEN}"))


def test_core_under_address_and_undefined_sanitizers(tmp_path):
    require_tools("cmake", "c++")
    build = cmake_build(tmp_path / "sanitize", "-DCMAKE_BUILD_TYPE=Debug", "-DEDGESDK_SANITIZE=ON")
    output = _ctest(build)
    assert "runtime error" not in output and "AddressSanitizer" not in output


def test_core_aarch64_under_qemu(tmp_path):
    require_tools("cmake", "aarch64-linux-gnu-g++", "qemu-aarch64")
    toolchain = REPO / "cpp" / "cmake" / "aarch64-linux-gnu.cmake"
    build = cmake_build(tmp_path / "aarch64", f"-DCMAKE_TOOLCHAIN_FILE={toolchain}", "-DCMAKE_BUILD_TYPE=Release")
    elf = (build / "edgesdk_core_tests").read_bytes()[:20]
    assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == ELF_MACHINE_AARCH64
    _ctest(build)
