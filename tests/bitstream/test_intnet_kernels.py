"""Every convolution kernel this CPU has gives the integers of the portable one on the shipped
models' integer hyper-synthesis and real hyper-latents (the parse depends on them)."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.bitstream.intnet import IntNetwork
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import SHIPPED_MODELS, default_sample_image
from edgesdk.errors import Error


@pytest.mark.parametrize("model", list(SHIPPED_MODELS))
def test_every_kernel_gives_the_portable_integers_on_shipped_networks(model):
    codec = ImageCodec(model, backend="onnxruntime", precision="fp32").codec(2)
    _, _, z = codec.analyze_image(np.ascontiguousarray(default_sample_image()[:160, :224]))
    z_hat = np.rint(z).astype(np.int32)
    network = codec.entropy_model.hyper_synthesis
    expected = network.run(z_hat, "portable")
    assert expected.std() > 0  # a real, non-constant output
    kernels = IntNetwork.kernels()
    assert kernels[0] == "auto" and "portable" in kernels
    for kernel in kernels:
        np.testing.assert_array_equal(network.run(z_hat, kernel), expected, err_msg=kernel)


def test_an_unknown_or_unavailable_kernel_is_refused():
    codec = ImageCodec("lite", backend="onnxruntime", precision="fp32").codec(2)
    z_hat = np.zeros((codec.entropy_model.hyper_channels, 2, 2), np.int32)
    with pytest.raises(Error, match="choose auto"):
        codec.entropy_model.hyper_synthesis.run(z_hat, "sse9")
    missing = [k for k in ("avx2", "avx512_vnni") if k not in IntNetwork.kernels()]
    for kernel in missing:  # on CPUs without them
        with pytest.raises(Error, match="lacks the requested kernel"):
            codec.entropy_model.hyper_synthesis.run(z_hat, kernel)
