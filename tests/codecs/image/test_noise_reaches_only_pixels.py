"""Noise on the float transforms (a stand-in for another backend, another precision, another
machine) moves pixels, never the parse — checked for real: the stream of a noisy encoder parses
on a clean decoder to exactly the latent that encoder meant to send (its own noisy y rounded
around the means of its own ẑ), the noise does change what is sent, and noisy generators
change pixels a little. The older test compared ``decode_latent`` with itself, which runs no
float transform, so it could not fail (docs/testing.md, planted mutant
"entropy-decode-means-rounded")."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.codecs.image.codec import ImageCodec, shown_cells
from edgesdk.codecs.model import default_sample_image
from edgesdk.eval.metrics import psnr


@pytest.fixture(scope="module")
def clean_codec():
    with ImageCodec(threads=1) as clean:
        yield clean


@pytest.fixture
def codecs(clean_codec):
    with ImageCodec(threads=1) as noisy:  # its transforms get wrapped: one per test
        yield clean_codec, noisy


def _noisy(codec, quality, rng, sigma, seen):
    coder = codec.codec(quality)
    analyze, synthesize = coder.analyze, coder.synthesize

    def noisy_analyze(x):
        outputs = tuple(t + rng.normal(0, sigma, t.shape).astype(np.float32) for t in analyze(x))
        seen.append(outputs)
        return outputs

    coder.analyze = noisy_analyze
    coder.synthesize = lambda y: synthesize(y + rng.normal(0, sigma, y.shape).astype(np.float32))
    return coder


def _intended(coder, y, z, image_size):
    params = coder.entropy_model.parameters(np.rint(np.asarray(z)[0]).astype(np.int32))
    y = np.asarray(y)[0].astype(np.float64)
    symbols = np.rint(y - params.means)
    rows, columns = shown_cells(*image_size)
    symbols[:, rows:, :] = symbols[:, :, columns:] = 0  # cells over padding alone send the mean
    return (symbols + params.means).astype(np.float32)


@pytest.mark.parametrize("size", [(64, 64), (100, 150)])
def test_a_noisy_encoders_stream_parses_to_what_it_meant_on_a_clean_decoder(codecs, size):
    clean_codec, noisy_codec = codecs
    image = np.ascontiguousarray(default_sample_image()[200:200 + size[0], 300:300 + size[1]])
    rng = np.random.default_rng(0)
    for quality in clean_codec.model.qualities:
        seen = []
        noisy = _noisy(noisy_codec, quality, rng, 0.05, seen)
        clean = clean_codec.codec(quality)
        clean_stream = clean.encode(image)
        noisy_stream = noisy.encode(image)
        (y, z), = seen  # one whole-image run of the noisy compressor
        assert noisy_stream != clean_stream, "the noise must reach the symbols for this test to mean anything"
        np.testing.assert_array_equal(clean.decode_latent(noisy_stream)[1], _intended(noisy, y, z, size))
        np.testing.assert_array_equal(noisy.decode_latent(noisy_stream)[1], clean.decode_latent(noisy_stream)[1])
        # Pixels: a noisy generator moves them a little, never far.
        clean_pixels, noisy_pixels = clean.decode(noisy_stream), noisy.decode(noisy_stream)
        assert not np.array_equal(clean_pixels, noisy_pixels)
        assert psnr(clean_pixels, noisy_pixels) > 30
        assert psnr(image, clean_pixels) > 20
