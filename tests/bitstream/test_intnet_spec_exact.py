"""The integer-network spec's validation at its exact edges (no torch needed): each test pins
one rule of docs/integer-network.md where the value just inside is accepted and the value just
outside refused. Written to kill mutants of edgesdk/bitstream/intnet.py that survived the
older, torch-based tests (docs/testing.md)."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.bitstream.intnet import (
    INT32_MAX,
    MAGIC,
    PRODUCT_BOUND,
    DepthToSpace,
    IntConv,
    IntNetworkSpec,
)


def conv(in_channels=1, out_channels=4, kernel=1, bias=0, **fields):
    return IntConv(weight=np.ones((out_channels, in_channels, kernel, kernel), np.int8),
                   bias=np.full(out_channels, bias, np.int64), multiplier=np.ones(out_channels, np.int32),
                   shift=np.zeros(out_channels, np.uint8), **fields)


@pytest.mark.parametrize(("in_channels", "kernel"), [(1, 7), (3, 5), (2, 3), (1, 1)])
def test_accumulator_bound_is_exact(in_channels, kernel):
    edge = INT32_MAX - in_channels * kernel * kernel * PRODUCT_BOUND
    IntNetworkSpec(in_channels, -128, 127, [conv(in_channels, kernel=kernel, bias=edge)]).validate()
    with pytest.raises(ValueError, match="accumulator could overflow"):
        IntNetworkSpec(in_channels, -128, 127, [conv(in_channels, kernel=kernel, bias=edge + 1)]).validate()


@pytest.mark.parametrize(("channels", "block"), [(4, 2), (8, 2), (9, 3), (16, 4), (32, 4)])
def test_depth_to_space_accepts_every_divisible_channel_count(channels, block):
    spec = IntNetworkSpec(1, -128, 127, [conv(out_channels=channels, out_min=-128, out_max=127),
                                         DepthToSpace(block)])
    spec.validate()
    assert spec.output_channels() == channels // (block * block)


@pytest.mark.parametrize(("channels", "block"), [(6, 2), (12, 3), (8, 4)])
def test_depth_to_space_refuses_indivisible_channel_counts(channels, block):
    spec = IntNetworkSpec(1, -128, 127, [conv(out_channels=channels, out_min=-128, out_max=127), DepthToSpace(block)])
    with pytest.raises(ValueError, match="not divisible by block"):
        spec.validate()


@pytest.mark.parametrize("block", [0, 1, 5, 8])
def test_depth_to_space_block_range(block):
    spec = IntNetworkSpec(1, -128, 127, [conv(out_channels=64, out_min=-128, out_max=127), DepthToSpace(block)])
    with pytest.raises(ValueError, match="outside 2..4"):
        spec.validate()


def test_conv_input_range_is_int8_inclusive():
    IntNetworkSpec(1, -128, 127, [conv()]).validate()
    for low, high in ((-129, 127), (-128, 128)):
        with pytest.raises(ValueError, match="not within int8"):
            IntNetworkSpec(1, low, high, [conv()]).validate()


def test_blob_header_errors_say_what_is_wrong():
    blob = IntNetworkSpec(1, -128, 127, [conv()]).to_blob()
    assert IntNetworkSpec.from_blob(blob).input_channels == 1
    with pytest.raises(ValueError, match="not an EINT blob"):
        IntNetworkSpec.from_blob(b"XINT" + blob[4:])  # long enough, wrong magic
    with pytest.raises(ValueError, match="not an EINT blob"):
        IntNetworkSpec.from_blob(MAGIC[:3])
    with pytest.raises(ValueError, match="header: truncated"):
        IntNetworkSpec.from_blob(blob[:8])  # magic and version, nothing more
