"""Fixtures of the CLI tests: the ``edgesdk`` command run as a user runs it (a subprocess),
and small inputs made on the spot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import edgesdk, photo, save


@pytest.fixture
def run():
    return edgesdk


@pytest.fixture(scope="module")
def latent_clip(tmp_path_factory) -> Path:
    """A 6-frame latent video (two GOPs of 3, one B frame) of a small panning picture."""
    folder = tmp_path_factory.mktemp("clip")
    frames = folder / "frames"
    big = photo(200, 140)
    for i in range(6):
        save(frames / f"{i:03d}.png", np.ascontiguousarray(big[i * 4 : i * 4 + 64, i * 4 : i * 4 + 128]))
    path = folder / "clip.elv"
    result = edgesdk("encode", frames, path, "--keyframe-interval", 3, "--b-frames", 1, "--quality", 1)
    assert result.returncode == 0, result.stderr
    return path
