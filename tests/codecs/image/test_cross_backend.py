"""Encode anywhere, decode anywhere, with the shipped model on the 24 Kodak images at every
quality: streams from PyTorch fp32, ONNX Runtime fp32 and ONNX Runtime with fp16 graphs
parse to identical symbols on every decoder, and noise on every float path moves pixels,
never the parse."""

from __future__ import annotations


import numpy as np
import pytest

import shared_data
from edgesdk.eval.anchors import load_images
from edgesdk.eval.metrics import psnr
from edgesdk.codecs.image.codec import ImageCodec, pad_to_grid, tiled_analyze
from edgesdk.codecs.model import default_model


pytestmark = pytest.mark.slow


def _kodak() -> list[tuple[str, np.ndarray]]:
    return load_images(shared_data.require("kodak"))


def _encoders() -> dict[str, ImageCodec]:
    encoders = {
        "onnxruntime-fp32": ImageCodec(backend="onnxruntime", precision="fp32"),
        "onnxruntime-fp16": ImageCodec(backend="onnxruntime", precision="fp16"),
    }
    try:
        import torch  # noqa: F401
        import edgesdk_export  # noqa: F401
    except ImportError:
        pass  # PyTorch is optional for the runtime; the export extra installs it (CI has it)
    else:
        encoders["pytorch-fp32"] = ImageCodec(backend="pytorch", precision="fp32")
    return encoders


def _intended_latent(codec, image: np.ndarray) -> np.ndarray:
    """The ŷ the encoder means to send: its own y rounded around the means its integer
    hyper-synthesis gives for its own ẑ."""
    y, z = tiled_analyze(codec.analyze, pad_to_grid(image), codec.tile())
    params = codec.entropy_model.parameters(np.rint(z).astype(np.int32))
    return (np.rint(y.astype(np.float64) - params.means) + params.means).astype(np.float32)


def test_every_backend_pair_parses_identically_on_all_kodak_images_at_every_quality():
    images = _kodak()
    assert len(images) == 24
    checked = 0
    for quality in default_model().qualities:
        encoders = _encoders()  # per quality, closed after: a session's memory arena stays at its peak
        for name, image in images:
            streams = {backend: codec.encode(image, quality) for backend, codec in encoders.items()}
            for backend, data in streams.items():
                intended = _intended_latent(encoders[backend].codec(quality), image)
                # Every other backend's decoder parses exactly what this encoder meant.
                for other, decoder in encoders.items():
                    if other != backend:
                        parsed = decoder.codec(quality).decode_latent(data)[1]
                        np.testing.assert_array_equal(parsed, intended, err_msg=f"{name} q{quality} {backend} → {other}")
                checked += 1
            # Streams of different backends differ only where float noise crossed a rounding boundary.
            sizes = [len(d) for d in streams.values()]
            assert max(sizes) <= min(sizes) * 1.02, f"{name} q{quality}: {dict(zip(streams, sizes))}"
        for codec in encoders.values():
            codec.close()
    assert checked == 24 * len(default_model().qualities) * len(encoders)


def test_images_decoded_by_different_backends_agree():
    name, image = _kodak()[0]
    encoders = _encoders()
    data = encoders["onnxruntime-fp32"].encode(image)
    decoded = {backend: codec.decode(data) for backend, codec in encoders.items()}
    reference = decoded["onnxruntime-fp32"]
    assert psnr(image, reference) > 25
    for backend, pixels in decoded.items():
        assert psnr(reference, pixels) > 40, backend


def test_noise_on_compressor_outputs_and_generator_input_never_changes_the_parse():
    codec = ImageCodec()
    rng = np.random.default_rng(0)
    images = _kodak()[:4]
    for quality in default_model().qualities:
        clean = codec.codec(quality)
        noisy = ImageCodec().codec(quality)
        analyze, synthesize = noisy.analyze, noisy.synthesize
        noisy.analyze = lambda x, a=analyze: tuple(t + rng.normal(0, 0.05, t.shape).astype(np.float32) for t in a(x))
        noisy.synthesize = lambda y, s=synthesize: s(y + rng.normal(0, 0.05, y.shape).astype(np.float32))
        for _, image in images:
            for data in (noisy.encode(image), clean.encode(image)):
                np.testing.assert_array_equal(noisy.decode_latent(data)[1], clean.decode_latent(data)[1])
                assert psnr(clean.decode(data), noisy.decode(data)) > 30
