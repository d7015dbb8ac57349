"""The PyTorch latent refiner (edgesdk_export.refine) with the shipped model on a small crop of
a real photograph: its rate term is what the integer tables spend, refined streams cost less
on the rate-distortion loss and decode with an unchanged decoder, video keyframes are refined
too."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgesdk.bitstream.container import Frame, SectionKind  # noqa: E402
from edgesdk.bitstream.entropy import CdfTables, scale_table  # noqa: E402
from edgesdk.codecs.image.codec import ImageCodec  # noqa: E402
from edgesdk.codecs.model import CodecModel, default_sample_image  # noqa: E402
from edgesdk.codecs.video.encoder import VideoEncoder  # noqa: E402
from edgesdk_export.refine import TableRate  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def photo():
    return default_sample_image()[100:164, 200:328]  # 64x128


@pytest.fixture(scope="module")
def tables():
    return CdfTables.gaussian(scale_table(0.11, 256.0, 64))


def test_table_bits_add_up_to_the_coded_stream_including_escapes(tables):
    rng = np.random.default_rng(1)
    indexes = rng.integers(0, 64, 20000)
    values = np.rint(rng.normal(0, 1, 20000) * np.exp(np.linspace(np.log(0.11), np.log(256), 64))[indexes])
    values[:50] = rng.choice([-1, 1], 50) * rng.integers(3000, 10**6, 50)  # far outside every table: escapes
    values = values.astype(np.int64)
    predicted = TableRate(tables).bits(torch.from_numpy(values), torch.from_numpy(indexes)).sum().item()
    coded = 8 * len(tables.encode(values, indexes))
    assert abs(coded - predicted) < 0.002 * coded + 64  # rANS flushes a few state bytes


def test_relaxed_bits_are_exact_at_integers_and_interpolate_between(tables):
    rate = TableRate(tables)
    indexes = torch.full((5,), 20)
    integers = torch.tensor([-3, -1, 0, 1, 2])
    exact = rate.bits(integers, indexes)
    np.testing.assert_allclose(rate.relaxed_bits(integers.double(), indexes), exact, rtol=0, atol=1e-12)
    halfway = rate.relaxed_bits(torch.tensor([0.5], dtype=torch.float64, requires_grad=True), indexes[:1])
    probability = (2.0 ** -exact[2] + 2.0 ** -exact[3]) / 2
    assert halfway.item() == pytest.approx(-np.log2(probability.item()), abs=1e-12)
    halfway.sum().backward()  # differentiable between integers


def _loss(codec, image, data, lmbda):
    """The loss refinement minimises, from the stream's bytes and the unchanged decoder's picture."""
    latent = Frame.parse(data).section(SectionKind.LATENT).data
    decoded = codec.decode(data).astype(np.float64)
    return 8 * len(latent) / image[..., 0].size + lmbda * np.mean((decoded - image) ** 2)


@pytest.mark.parametrize("quality", [1, 4])
def test_refined_streams_cost_less_and_decode_unchanged(photo, quality):
    lmbda = CodecModel.open("lite").check_quality(quality)["lambda"] * 255**2
    decoder = ImageCodec("lite", threads=1)
    plain = decoder.encode(photo, quality)
    with ImageCodec("lite", refine=10, threads=1) as refining:
        refined = refining.encode(photo, quality)
        history = refining._refiners[quality].history
    assert len(history) == 11 and min(history) < 0.995 * history[0]
    assert Frame.parse(refined).section(SectionKind.HYPER_LATENT).data == \
        Frame.parse(plain).section(SectionKind.HYPER_LATENT).data
    assert _loss(decoder, photo, refined, lmbda) < 0.995 * _loss(decoder, photo, plain, lmbda)


def test_video_keyframes_are_refined_as_images_are(photo):
    """(The keyframe equals a second refinement of the same image: refinement is repeatable.)"""
    with ImageCodec("lite", quality=1, refine=3, threads=1) as codec:
        encoder = VideoEncoder(codec, keyframe_interval=2, b_frames=0)
        encoder.push(photo)
        keyframe = Frame.parse(encoder.pull()[0].payload)
        image_frame = Frame.parse(codec.encode(photo))
    assert keyframe.section(SectionKind.LATENT).data == image_frame.section(SectionKind.LATENT).data
    plain = Frame.parse(ImageCodec("lite", quality=1, threads=1).encode(photo))
    assert keyframe.section(SectionKind.LATENT).data != plain.section(SectionKind.LATENT).data


def test_a_bundle_without_lambda_is_refused_with_the_reason(photo, monkeypatch):
    from edgesdk.codecs.model import CodecModel
    from edgesdk.errors import InvalidArgumentError

    model = CodecModel.open("lite")
    entry = dict(model.check_quality(1))
    entry.pop("lambda")
    monkeypatch.setattr(model, "check_quality", lambda quality: entry)
    with pytest.raises(InvalidArgumentError, match="λ"):
        ImageCodec(model, quality=1, refine=2, threads=1).encode(photo)
