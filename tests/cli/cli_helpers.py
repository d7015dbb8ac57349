"""What the CLI tests share: the ``edgesdk`` command run as a user runs it (a subprocess), and
small inputs made on the spot. A module of its own so that tests import it by a unique name
(``conftest`` is ambiguous when several test folders have one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np


def edgesdk(*args, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """``edgesdk ARGS`` in a subprocess; text output captured."""
    return subprocess.run([sys.executable, "-m", "edgesdk.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def one_line_error(result: subprocess.CompletedProcess, status: int = 1) -> str:
    """Asserts the command failed with ``status`` and one line on stderr, no traceback; returns it."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgesdk: "), result.stderr
    return lines[0]


def photo(width: int = 96, height: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth colour image (cheap to code, like a photograph)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=2)
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def save(path: Path, pixels: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path
