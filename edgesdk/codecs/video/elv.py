"""``.elv`` files: a latent video as a packet stream (docs/video.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from edgesdk.codecs.image.codec import HyperpriorImageCodec
from edgesdk.codecs.video.decoder import DecodedFrame, VideoDecoder
from edgesdk.media.live import LiveFrame
from edgesdk.codecs.video.encoder import VideoEncoder
from edgesdk.codecs.video.syntax import Limits
from edgesdk.errors import LimitExceededError


# ---------------------------------------------------------------------------- .elv files


def write_video(target: str | Path | BinaryIO, frames: Iterable[np.ndarray], image_codec: HyperpriorImageCodec,
                **encoder_options: object) -> int:
    """Encodes ``frames`` (HxWx3 uint8, or :class:`~edgesdk.media.live.LiveFrame` from a live
    queue) into a latent video file (``.elv``: a packet stream, docs/video.md); returns the
    number of bytes written."""
    encoder = VideoEncoder(image_codec, **encoder_options)
    if isinstance(target, (str, Path)):
        with open(target, "wb") as sink:
            return _write_all(encoder, frames, sink)
    return _write_all(encoder, frames, target)


def _write_all(encoder: VideoEncoder, frames: Iterable[np.ndarray], sink: BinaryIO) -> int:
    written = 0
    for frame in frames:
        if isinstance(frame, LiveFrame):  # from a live queue: frames dropped before it keep their display slots
            encoder.skip(frame.skipped)
            frame = frame.pixels
        encoder.push(frame)
        for packet in encoder.pull():
            written += sink.write(packet.to_bytes())
    encoder.flush()
    for packet in encoder.pull():
        written += sink.write(packet.to_bytes())
    return written


def read_video(source: str | Path | BinaryIO, image_codec: HyperpriorImageCodec,
               on_damage: Literal["raise", "skip"] = "raise", limits: Limits = Limits(),
               chunk_size: int = 1 << 16) -> Iterator[DecodedFrame]:
    """Yields the frames of a latent video file in display order."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as stream:
            yield from read_video(stream, image_codec, on_damage, limits, chunk_size)
        return
    decoder = VideoDecoder(image_codec, on_damage=on_damage, limits=limits)
    count = 0
    while chunk := source.read(chunk_size):
        decoder.push(chunk)
        for frame in decoder.pull():
            count = _count_frame(count, limits)
            yield frame
    decoder.flush()
    for frame in decoder.pull():
        count = _count_frame(count, limits)
        yield frame


def _count_frame(count: int, limits: Limits) -> int:
    """``count + 1``; LimitExceededError past ``limits.max_frames``."""
    if count >= limits.max_frames:
        raise LimitExceededError(f"the stream holds more than {limits.max_frames} frames (Limits.max_frames)")
    return count + 1
