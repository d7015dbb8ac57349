"""Pixel values, not shapes: the shipped model decodes images of sizes that are not multiples of
64 (nor of 16, nor more than one pixel) to the picture that was encoded, in the right place.

A decoder that crops the padded reconstruction from the wrong corner keeps every shape and
passed the shape-only tests; here it fails (docs/testing.md, planted mutant
"image-crop-wrong-corner")."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import default_sample_image
from edgesdk.eval.metrics import psnr

# (height, width): neither side a multiple of 64; some not of 16; thin strips; one pixel.
SIZES = [(17, 33), (65, 130), (130, 65), (48, 80), (100, 150), (3, 200)]  # 1x1: below


@pytest.fixture(scope="module")
def photo():
    return default_sample_image()


@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
def test_decoded_pixels_match_the_encoded_picture_at_odd_sizes(codec, photo, size):
    height, width = size
    image = np.ascontiguousarray(photo[120:120 + height, 200:200 + width])
    decoded = codec.decode(codec.encode(image, codec.model.qualities[-1]))
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    error = np.abs(decoded.astype(np.int16) - image.astype(np.int16))
    # The highest quality reproduces a photo closely everywhere: on average and in every row
    # and column (a crop off by even one row or column of the padded grid shows up here).
    assert psnr(image, decoded) > 27, f"{size}: {psnr(image, decoded):.1f} dB"
    assert error.mean() < 6
    assert error.mean(axis=(1, 2)).max() < 20 and error.mean(axis=(0, 2)).max() < 20


def test_decoded_picture_is_not_a_shifted_one(codec, photo):
    """The decode is closer to the picture than to the picture moved by a row or a column."""
    image = np.ascontiguousarray(photo[100:165, 220:350])  # 65x130
    decoded = codec.decode(codec.encode(image, codec.model.qualities[-1])).astype(np.float64)
    own = np.mean((decoded - image) ** 2)
    for shifted in (photo[101:166, 220:350], photo[100:165, 221:351], photo[99:164, 219:349]):
        assert own < 0.8 * np.mean((decoded - shifted) ** 2)


def test_one_pixel_images_keep_their_colour(codec):
    """Flat saturated colours are the model's weak spot (measured: up to 38 levels off in one
    channel at the top quality); a swapped channel order or a grey output is far beyond."""
    errors = []
    for colour in ((0, 0, 0), (255, 255, 255), (200, 30, 90), (12, 140, 250), (133, 153, 78)):
        image = np.array(colour, dtype=np.uint8).reshape(1, 1, 3)
        decoded = codec.decode(codec.encode(image, codec.model.qualities[-1]))
        assert decoded.shape == (1, 1, 3)
        error = np.abs(decoded.astype(int) - image.astype(int)).ravel()
        assert error.max() <= 45, (colour, decoded.ravel())
        errors.extend(error)
    assert np.mean(errors) < 12


@pytest.mark.parametrize("box", [(0, 128, 0, 640), (0, 512, 0, 136)], ids=["wide", "tall"])
def test_tiles_with_halos_on_every_side_stitch_to_the_whole_image_result(photo, box):
    """Images long enough that middle tiles have halos before and after them (the older tiled
    test's tiles all started at the image's edge, so an error in a halo offset went unseen)."""
    r0, r1, c0, c1 = box
    image = np.ascontiguousarray(photo[r0:r1, c0:c1])
    with ImageCodec(threads=1, tile_size=64) as tiled, ImageCodec(threads=1, tile_size=None) as whole:
        tiled_stream, whole_stream = tiled.encode(image), whole.encode(image)
        # Float noise between tiled and whole transforms may move a few symbols, never many.
        assert abs(len(tiled_stream) - len(whole_stream)) <= 0.02 * len(whole_stream)
        for stream in (tiled_stream, whole_stream):
            tiled_pixels, whole_pixels = tiled.decode(stream), whole.decode(stream)
            assert psnr(whole_pixels, tiled_pixels) > 40
            assert np.abs(whole_pixels.astype(int) - tiled_pixels).max() <= 8
        assert psnr(image, tiled.decode(tiled_stream)) > 25
