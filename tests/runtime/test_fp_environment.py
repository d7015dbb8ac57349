"""CDF tables must not depend on the caller's floating-point mode: libraries such as PyTorch
and ONNX Runtime switch threads to flush-to-zero / denormals-are-zero."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgesdk.bitstream import entropy as E  # noqa: E402

pytestmark = pytest.mark.torch


def _tables():
    gaussian = [E.gaussian_cdf(s)[0] for s in E.scale_table()]
    subnormal = E.pmf_to_quantized_cdf([5e-324, 5e-324, 1e-310], 0.0)
    return gaussian, subnormal


def test_tables_are_identical_with_flush_to_zero_switched_on():
    reference = _tables()
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormals")
    try:
        flushed = _tables()
        assert torch.tensor([1e-310], dtype=torch.float64).item() == 0.0  # the mode really is on
    finally:
        torch.set_flush_denormal(False)
    for a, b in zip(reference[0], flushed[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(reference[1], flushed[1])
