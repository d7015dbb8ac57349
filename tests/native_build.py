"""Helpers for tests that build the standalone C++ core with CMake."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testenv import in_ci  # re-exported: the one definition of "in CI"

REPO = Path(__file__).resolve().parents[1]
CPP = REPO / "cpp"
GOLDEN = REPO / "edgesdk" / "data" / "golden"


def require_tools(*tools: str) -> None:
    """Skips when a tool is missing locally; fails in CI, which installs every tool."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        message = f"missing tools: {', '.join(missing)} (see .ci/run for the Debian packages)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def run(command: list[str], timeout: float = 900, env: dict[str, str] | None = None) -> str:
    """Runs a command; fails the test with its output if it exits non-zero."""
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{output[-6000:]}")
    return output


def cmake_build(build_dir: Path, *options: str, source: Path = CPP) -> Path:
    """Configures and builds ``source`` into ``build_dir`` with Ninja when available."""
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    run(["cmake", "-S", str(source), "-B", str(build_dir), *generator, *options])
    run(["cmake", "--build", str(build_dir), "--parallel", str(os.cpu_count() or 2)])
    return build_dir
