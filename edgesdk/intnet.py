"""Integer networks (docs/integer-network.md): the bit-exact path from decoded integers to
CDF table indexes and means, run by the C++ core identically on every platform."""

from __future__ import annotations

import numpy as np

from edgesdk import _core
from edgesdk.entropy import as_int32


class IntNetwork:
    """A validated EINT blob, ready to run. Immutable; safe to share between threads."""

    def __init__(self, blob: bytes | bytearray | memoryview) -> None:
        self._native = _core.IntNetwork(blob)

    @property
    def input_channels(self) -> int:
        return int(self._native.input_channels)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Runs on an integer tensor [N, C, H, W] or [C, H, W]; returns int32 of the same rank."""
        return self._native.run(as_int32("x", x))
