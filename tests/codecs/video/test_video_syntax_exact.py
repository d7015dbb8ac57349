"""Video frame syntax at its exact edges: every cut of a motion section inside its header and
table indexes is a TruncatedError saying so, for each interpolation mode (kills a surviving
mutant of the length check in codecs/video/motion.py, docs/testing.md)."""

from __future__ import annotations

import numpy as np
import pytest

import edgesdk
from edgesdk.codecs.video.motion import Interpolation, Motion, decode_motion, encode_motion

HEADER_BYTES = 3  # mode, block size, precision (docs/video.md)


@pytest.mark.parametrize("mode", list(Interpolation), ids=lambda m: m.name.lower())
def test_every_cut_in_header_and_table_indexes_is_truncation(mode):
    vectors = np.ones((6, 7, 2), np.int32)
    past, future = mode.fields
    data = encode_motion(Motion(mode, 4, 1, vectors if past else None, -vectors if future else None))
    tables_end = HEADER_BYTES + 2 * sum(mode.fields)
    assert len(data) >= tables_end
    for cut in range(HEADER_BYTES, tables_end):
        with pytest.raises(edgesdk.TruncatedError, match="shorter than its table indexes"):
            decode_motion(data[:cut], 96, 112)
    decoded = decode_motion(data, 96, 112)
    assert decoded.mode == mode


@pytest.mark.parametrize("tile", [1, 63, 64])
def test_residual_tiles_up_to_64_round_trip(tile):
    """Tile sizes 0..64 are valid (docs/video.md); the largest one decodes too."""
    from edgesdk.codecs.video.residual import decode_residual, encode_residual

    residual = np.random.default_rng(tile).integers(-3, 4, (8, 12, 20)).astype(np.int32)
    model, stream = encode_residual(residual, (tile,))
    np.testing.assert_array_equal(decode_residual(model, stream, residual.shape), residual)


def test_estimation_finds_half_pixel_motion():
    """With one fraction bit the search refines to half pixels: a picture that is its
    reference moved by half a pixel gets odd (half-pel) vectors, and a better prediction than
    any whole-pixel vector gives."""
    from edgesdk.codecs.video.motion import compensate, estimate_motion

    rng = np.random.default_rng(5)
    texture = rng.integers(0, 256, (64, 64)).astype(np.float64)
    smooth = (texture + np.roll(texture, 1, 0) + np.roll(texture, 1, 1) + np.roll(texture, 1, (0, 1))) / 4
    reference = np.rint(smooth).astype(np.int32)
    target = np.rint((smooth + np.roll(smooth, -1, 1)) / 2).astype(np.int32)  # half a pixel to the left
    vectors = estimate_motion(target, reference, block_size=16, search_range=4, fraction_bits=1)
    inner = vectors[1:-1, 1:-1]
    assert np.all(inner[..., 1] % 2 == 1), inner  # horizontal components are half-pel
    whole = estimate_motion(target, reference, block_size=16, search_range=4, fraction_bits=0)
    error = lambda v, bits: np.abs(compensate(reference, v, 16, bits)[16:48, 16:48] - target[16:48, 16:48]).mean()  # noqa: E731
    assert error(vectors, 1) < error(whole, 0)
