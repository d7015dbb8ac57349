"""A grey video stays grey (docs/bitstream.md, parameter 13): P and B frames of a group whose
keyframe or background carries MONOCHROME are shown grey like it, on the shipped model."""

from __future__ import annotations

import io

import numpy as np
import pytest

import edgesdk
from edgesdk.bitstream.container import FrameType
from edgesdk.codecs.video import read_video, write_video


def _panning(grey: bool, count: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:96, 0:160]
    scene = np.stack([x * 1.4, y * 2.2, (x + y) * 0.8], axis=2) + rng.normal(0, 6, (96, 160, 3))
    if grey:
        scene = np.repeat(scene.mean(axis=2, keepdims=True), 3, axis=2)
    scene = np.clip(scene, 0, 255).astype(np.uint8)
    return [np.ascontiguousarray(scene[:64, i * 4 : i * 4 + 96]) for i in range(count)]


@pytest.mark.parametrize("options", [{"keyframe_interval": 3, "b_frames": 1},
                                     {"keyframe_interval": 3, "b_frames": 0, "background": True}])
def test_every_frame_of_a_grey_video_decodes_grey(codec, options):
    stream = io.BytesIO()
    write_video(stream, _panning(grey=True), codec, **options)
    stream.seek(0)
    frames = list(read_video(stream, codec))
    assert len(frames) == 6 and {f.frame_type for f in frames} > {FrameType.KEY}
    for decoded in frames:
        image = decoded.image
        assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2]), \
            decoded.frame_type


def test_a_colour_video_keeps_its_colour(codec):
    stream = io.BytesIO()
    write_video(stream, _panning(grey=False), codec, keyframe_interval=3, b_frames=1)
    stream.seek(0)
    for decoded in read_video(stream, codec):
        assert not np.array_equal(decoded.image[..., 0], decoded.image[..., 2])
