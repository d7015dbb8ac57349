"""Helpers of the exchange tests: a short synthetic clip, encoding it to packets with the
shipped model, decoding packets back to pictures."""

from __future__ import annotations

import numpy as np


def make_clip(count: int = 12, size: int = 64, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    return [np.roll(base, 2 * i, axis=1) for i in range(count)]


def encode_packets(codec, frames, keyframe_interval: int = 4, stream_id: int = 0) -> list[bytes]:
    from edgesdk.codecs.video import VideoEncoder

    encoder = VideoEncoder(codec, keyframe_interval=keyframe_interval, stream_id=stream_id)
    packets = []
    for frame in frames:
        encoder.push(frame)
        packets += [p.to_bytes() for p in encoder.pull()]
    encoder.flush()
    packets += [p.to_bytes() for p in encoder.pull()]
    return packets


def decode_packets(codec, packets) -> list[np.ndarray]:
    from edgesdk.codecs.video import VideoDecoder

    decoder = VideoDecoder(codec)
    for packet in packets:
        decoder.push(packet)
    decoder.flush()
    return [frame.image for frame in decoder.pull()]
