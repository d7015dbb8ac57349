"""The runtime side of encode-time latent refinement (edgesdk.codecs.image.refine), without
torch: the refiner protocol as a plugin, what the codec hands it and does with its answer,
and the errors a user meets. The PyTorch refiner itself: test_refine_torch.py."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.bitstream.container import Frame, SectionKind
from edgesdk.codecs.image import refine
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import default_sample_image
from edgesdk.errors import DependencyError, InvalidArgumentError


@pytest.fixture()
def photo():
    return default_sample_image()[100:164, 200:296]  # 64x96


@pytest.fixture()
def fake_refiner(monkeypatch):
    """Registers a numpy refiner under "pytorch" that zeroes every symbol (y := its means) and
    records what it was given."""
    seen = []

    def factory(model, quality, steps, threads):
        def run(task):
            seen.append((quality, steps, task))
            means = task.parameters.means
            return np.zeros_like(task.y) if means is None else means.astype(np.float32)
        return run

    monkeypatch.setitem(refine._FACTORIES, "pytorch", factory)
    return seen


def test_the_codec_codes_what_the_refiner_returns_and_keeps_the_hyper_latent(fake_refiner, photo):
    plain = ImageCodec("lite", threads=1).encode(photo, 2)
    with ImageCodec("lite", refine=7, threads=1) as codec:
        data = codec.encode(photo, 2)
        decoded_latent = codec.codec(2).decode_latent(data)[1]
    quality, steps, task = fake_refiner[0]
    assert (quality, steps) == (2, 7)
    assert task.pixels.shape == (64, 128, 3) and (task.height, task.width) == (64, 96)
    assert task.y.shape == task.parameters.indexes.shape == (128, 4, 8)
    # Every symbol is 0: the decoder (no refiner) gets the means, exactly.
    np.testing.assert_array_equal(decoded_latent, task.parameters.means.astype(np.float32))
    assert Frame.parse(data).section(SectionKind.HYPER_LATENT).data == \
        Frame.parse(plain).section(SectionKind.HYPER_LATENT).data
    assert len(Frame.parse(data).section(SectionKind.LATENT).data) < len(Frame.parse(plain).section(SectionKind.LATENT).data)
    assert ImageCodec("lite", threads=1).decode(data).shape == photo.shape


def test_images_larger_than_a_tile_are_coded_unrefined_with_a_warning(fake_refiner, photo):
    with ImageCodec("lite", refine=2, threads=1, tile_size=64) as codec:
        with pytest.warns(UserWarning, match="without refinement"):
            data = codec.encode(np.tile(photo, (4, 2, 1)))  # 256x192 > (64 + 128)²
        assert fake_refiner == []
        assert codec.decode(data).shape == (256, 192, 3)


def test_refine_zero_never_opens_a_refiner(fake_refiner, photo):
    assert ImageCodec("lite", threads=1, refine=0).encode(photo) == ImageCodec("lite", threads=1).encode(photo)
    assert fake_refiner == []


def test_a_refiner_that_returns_the_wrong_shape_is_refused(monkeypatch, photo):
    monkeypatch.setitem(refine._FACTORIES, "pytorch", lambda *args: lambda task: task.y[:, :1])
    with pytest.raises(InvalidArgumentError, match="refiner returned"):
        ImageCodec("lite", refine=1, threads=1).encode(photo)


def test_without_a_refiner_plugin_the_error_says_what_to_install(monkeypatch):
    monkeypatch.delitem(refine._FACTORIES, "pytorch", raising=False)
    monkeypatch.setattr("edgesdk.lazy.load_plugins", lambda group: None)
    with pytest.raises(DependencyError, match=r"edgesdk\[export\]"):
        ImageCodec("lite", refine=3)


@pytest.mark.parametrize("steps", [-1, 2.5, True, "10", refine.MAX_STEPS + 1])
def test_bad_step_counts_are_refused(steps):
    with pytest.raises(InvalidArgumentError, match="refine must be"):
        ImageCodec("lite", refine=steps)
