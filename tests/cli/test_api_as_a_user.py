"""The Python API as a new user meets it: decode takes a path like encode, the main names show
in dir(edgesdk), video is reachable from the top level."""

from __future__ import annotations

import numpy as np
import pytest

import edgesdk
from cli_helpers import photo


def test_decode_takes_a_path_like_encode(tmp_path):
    with edgesdk.ImageCodec() as codec:
        data = codec.encode(photo())
        (tmp_path / "x.eli").write_bytes(data)
        from_path = codec.decode(str(tmp_path / "x.eli"))
        assert np.array_equal(from_path, codec.decode(tmp_path / "x.eli"))
        assert np.array_equal(from_path, codec.decode(data))
        with pytest.raises(edgesdk.NotFoundError, match="missing.eli"):
            codec.decode(tmp_path / "missing.eli")
        with pytest.raises(edgesdk.InvalidArgumentError, match="bytes of a frame or the path"):
            codec.decode(12)


def test_the_main_names_are_listed_and_importable():
    names = dir(edgesdk)
    for name in ("ImageCodec", "CodecModel", "Bundle", "VideoEncoder", "VideoDecoder", "write_video", "read_video",
                 "Error"):
        assert name in names and getattr(edgesdk, name) is not None


def test_a_video_round_trip_from_the_top_level(tmp_path):
    frames = [np.ascontiguousarray(np.roll(photo(128, 64), 3 * i, axis=1)) for i in range(3)]
    with edgesdk.ImageCodec(quality=1) as codec:
        size = edgesdk.write_video(tmp_path / "x.elv", frames, codec, keyframe_interval=3)
        decoded = [frame.image for frame in edgesdk.read_video(tmp_path / "x.elv", codec)]
    assert size == (tmp_path / "x.elv").stat().st_size and len(decoded) == 3
    assert decoded[0].shape == (64, 128, 3)
