"""Where the project's real test data lives (Kodak, training photos, video clips):
``$EDGESDK_SHARED_DATA``, else ``shared/data`` beside the repository, else
``/work/shared/data`` (this project's machines), whichever exists first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testenv import in_ci

_CANDIDATES = [
    *([Path(os.environ["EDGESDK_SHARED_DATA"])] if os.environ.get("EDGESDK_SHARED_DATA") else []),
    Path(__file__).resolve().parents[2] / "shared" / "data",
    Path("/work/shared/data"),
]
DATA = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])


def require(relative: str) -> Path:
    """The path of ``relative`` under the data folder; skips when absent, fails in CI."""
    path = DATA / relative
    if not path.exists():
        message = f"shared test data {path} is absent (set EDGESDK_SHARED_DATA)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path
