"""The image codec end to end with a small model: PyTorch float transforms around the
integer entropy path, across precisions, with damaged input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import edgesdk  # noqa: E402
from edgesdk.bitstream.container import Frame, SectionKind  # noqa: E402
from edgesdk_export.codec import entropy_model, torch_codec  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def model(small_model):
    return small_model


@pytest.fixture(scope="module")
def image(textured_image):
    return textured_image


def test_round_trip_keeps_size_and_frame_fields(model, image):
    codec = torch_codec(model, quality=3, model_id=bytes(range(32)))
    data = codec.encode(image)
    frame = Frame.parse(data)
    assert (frame.width, frame.height, frame.quality, frame.model_id) == (130, 90, 3, bytes(range(32)))
    assert frame.section(SectionKind.LATENT) is not None and frame.section(SectionKind.HYPER_LATENT) is not None
    decoded = codec.decode(data)
    assert decoded.shape == image.shape and decoded.dtype == np.uint8


def test_decoders_at_other_precisions_parse_identically(model, image):
    data = torch_codec(model).encode(image)
    latents = [torch_codec(model, dtype=dtype).decode_latent(data)[1] for dtype in (torch.float32, torch.float64, torch.bfloat16)]
    for latent in latents[1:]:
        np.testing.assert_array_equal(latent, latents[0])


def test_streams_from_other_precisions_decode_and_parse_exactly(model, image):
    """A bf16 or float64 compressor sends slightly different symbols; every decoder parses them exactly."""
    reference = torch_codec(model)
    for dtype in (torch.float64, torch.bfloat16):
        encoder = torch_codec(model, dtype=dtype)
        data = encoder.encode(image)
        y, z = encoder.analyze(np.pad(image, ((0, 38), (0, 62), (0, 0)), mode="edge").transpose(2, 0, 1)[None]
                               .astype(np.float32) / 255.0)
        params = encoder.entropy_model.parameters(np.rint(z[0]).astype(np.int32))
        sent = np.rint(y[0].astype(np.float64) - params.means) + params.means
        np.testing.assert_array_equal(reference.decode_latent(data)[1], sent.astype(np.float32))


def test_noise_on_every_float_path_never_breaks_the_parse(model, image):
    """Noise on the compressor's outputs and the generator's input moves pixels, never the parse."""
    clean = torch_codec(model)
    rng = np.random.default_rng(1)
    noisy = torch_codec(model)
    analyze = noisy.analyze
    noisy.analyze = lambda x: tuple(a + rng.normal(0, 0.02, a.shape).astype(np.float32) for a in analyze(x))
    synthesize = noisy.synthesize
    noisy.synthesize = lambda y: synthesize(y + rng.normal(0, 0.02, y.shape).astype(np.float32))
    for _ in range(3):
        data = noisy.encode(image)
        np.testing.assert_array_equal(noisy.decode_latent(data)[1], clean.decode_latent(data)[1])
        assert noisy.decode(data).shape == image.shape


def test_damaged_or_foreign_frames_raise(model, image):
    codec = torch_codec(model, model_id=bytes(32))
    data = codec.encode(image)
    damaged = bytearray(data)
    damaged[-3] ^= 0x40
    with pytest.raises(edgesdk.ChecksumError):
        codec.decode(bytes(damaged))
    with pytest.raises(edgesdk.CorruptedError, match="model"):
        torch_codec(model, model_id=b"\1" * 32).decode(data)
    with pytest.raises(edgesdk.InvalidArgumentError):
        codec.encode(image.astype(np.float32))


def test_entropy_model_matches_the_training_forward(model):
    """The rate the training pass reports for an image is what the integer tables spend (within 2%)."""
    torch.manual_seed(1)
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        estimate = model(x)["bpp"].item() * 128 * 128 / 8
    parts = model.compress_parts(x)
    hyper, latent = entropy_model(model).encode(parts.y[0].double().numpy(), parts.z_hat[0].numpy())
    actual = len(hyper) + len(latent)
    assert abs(actual - estimate) <= 0.02 * estimate + 40, (actual, estimate)


def test_tiled_transforms_stitch_to_the_whole_image_result(model):
    from edgesdk.codecs.image.codec import tiled_analyze, tiled_synthesize

    rng = np.random.default_rng(3)
    padded = rng.integers(0, 256, (320, 448, 3), dtype=np.uint8)
    codec = torch_codec(model)
    whole_y, whole_z = tiled_analyze(codec.analyze, padded, None)
    tiled_y, tiled_z = tiled_analyze(codec.analyze, padded, 64)
    np.testing.assert_allclose(tiled_y, whole_y, atol=1e-4)
    np.testing.assert_allclose(tiled_z, whole_z, atol=1e-4)
    y_hat = np.rint(whole_y)
    whole = tiled_synthesize(codec.synthesize, y_hat, None)
    tiled = tiled_synthesize(codec.synthesize, y_hat, 128)
    assert whole.shape == tiled.shape == padded.shape
    assert np.abs(whole.astype(int) - tiled).max() <= 1


def test_tiled_codec_round_trips_and_rejects_bad_tile_sizes(model, image):
    codec = torch_codec(model)
    codec.tile_size = 64
    decoded = codec.decode(codec.encode(image))
    assert decoded.shape == image.shape
    codec.tile_size = 100
    with pytest.raises(edgesdk.InvalidArgumentError, match="multiple of 64"):
        codec.encode(image)


def test_noise_on_the_float_reference_of_h_s_never_reaches_the_parse(model, image, monkeypatch):
    """The training-time float h_s must not be consulted by encoding or decoding: with noise
    on its outputs (enough to flip table indexes) streams still parse exactly."""
    clean = torch_codec(model)
    data = clean.encode(image)
    forward = type(model.h_s).forward
    rng = torch.Generator().manual_seed(0)

    def noisy_forward(self, z_hat):
        index, mean = forward(self, z_hat)
        index = index + torch.randn(index.shape, generator=rng) * 2.0
        return index, None if mean is None else mean + torch.randn(mean.shape, generator=rng)

    with torch.no_grad():
        z_hat = torch.round(model.hyper_analysis(model.g_a(torch.rand(1, 3, 128, 128))))
        reference_index = model.h_s(z_hat)[0]
    monkeypatch.setattr(type(model.h_s), "forward", noisy_forward)
    with torch.no_grad():
        assert not torch.equal(torch.round(model.h_s(z_hat)[0]), reference_index)  # the noise is real
    noisy = torch_codec(model)
    np.testing.assert_array_equal(noisy.decode_latent(data)[1], clean.decode_latent(data)[1])
    assert noisy.encode(image) == data  # the encoder's tables come from the integer network too
