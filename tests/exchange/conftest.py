"""Fixtures of the exchange tests: the shipped model and a short real latent video (packets)."""

from __future__ import annotations

import pytest

from exchange_helpers import encode_packets, make_clip


@pytest.fixture(scope="session")
def codec():
    import edgesdk

    with edgesdk.ImageCodec(quality=1) as codec:
        yield codec


@pytest.fixture(scope="session")
def video_packets(codec):
    """(frames, packets) of a 12-frame 64x64 clip, keyframe every 4 frames (P or B frames, as the encoder decides)."""
    frames = make_clip()
    return frames, encode_packets(codec, frames)
