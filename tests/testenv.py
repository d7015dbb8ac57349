"""The one definition of "running in CI" for the tests and their helpers.

``.ci/run`` exports ``CI=true``. Under CI every tool and data set the tests use is installed,
so a skip is a broken CI machine, not a missing optional: conftest.py turns any skip into a
failure unless the test carries one of ``HARDWARE_MARKERS`` (a GPU, TensorRT, a camera, which a
CI machine may lack).
"""

from __future__ import annotations

import os

HARDWARE_MARKERS = ("gpu", "tensorrt", "camera")


def in_ci() -> bool:
    """Whether the tests run under CI (``CI=true``, as ``.ci/run`` and most CI services set)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
