"""What the search tests share: a hand-made identifier (no training, exact expectations) and
the shipped model with it attached."""

from __future__ import annotations

import numpy as np

from edgesdk.bitstream.intnet import IntConv, IntNetworkSpec
from edgesdk.search.identifier import Component
from edgesdk.search.labels import COMPONENTS

CHANNELS = 128  # latent channels of the shipped model


def picking_network(channels: int = CHANNELS) -> bytes:
    """One 1×1 conv whose output k is latent input channel k, unchanged (multiplier 2^30, shift 30)."""
    k = len(COMPONENTS)
    weight = np.zeros((k, channels, 1, 1), np.int8)
    weight[np.arange(k), np.arange(k)] = 1
    conv = IntConv(weight=weight, bias=np.zeros(k, np.int32), multiplier=np.full(k, 1 << 30, np.int32),
                   shift=np.full(k, 30, np.uint8))
    return IntNetworkSpec(channels, -127, 127, [conv]).to_blob()


def picking_components() -> list[Component]:
    """Mean pooling for every component but ``face`` (max), code = integer / 4 (so ŷ's units)."""
    return [Component(name, "max" if name == "face" else "mean", 0.25) for name in COMPONENTS]


def picking_entry() -> dict:
    """The manifest entry of the picking identifier."""
    return {"components": [c.to_manifest() for c in picking_components()], "training": {"images": 0}}
