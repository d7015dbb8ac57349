"""Decoding a latent video (.elv) for ``edgesdk decode``: frames to a video file or a folder
of images, what damage cost reported in one line (edgesdk.cli.transcode picks this path)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from edgesdk.cli.damage import damage_summary
from edgesdk.cli.transcode import DEFAULT_FRAME_RATE, Batch, Written, local_path
from edgesdk.errors import BitstreamError, InvalidArgumentError


def stream_quality(path: Path) -> int:
    """The quality level recorded in a latent video's first intact frame."""
    from edgesdk.cli.common import first_frame
    from edgesdk.errors import CorruptedError

    frame = first_frame(path)
    if frame is None:
        raise CorruptedError(f"{path}: no intact frame in this file; it is not a latent video or is damaged throughout")
    return frame.quality


def decode_video(source: Path, destination: str, codec, on_damage: str, force: bool, crf: float | None) -> Batch:
    """Decodes latent video ``source`` to a video file or (``destination`` ending in /) a folder
    of images; ``on_damage`` skip or stop; outputs checked first and written atomically."""
    from contextlib import nullcontext

    from edgesdk.cli.common import atomic_output, check_output_file, check_writable_folder, progress
    from edgesdk.codecs.video import VideoDecoder
    from edgesdk.media import open_sink

    folder = destination.endswith(("/", "\\"))
    if folder:
        existing = local_path(destination)
        if existing.is_dir() and any(existing.iterdir()) and not force:
            raise InvalidArgumentError(f"{existing}: the folder is not empty; use --force to write the frames into it")
        check_writable_folder(existing, create=True)
    else:
        check_output_file(local_path(destination), force)
    low = codec.codec(stream_quality(source))
    decoder = VideoDecoder(low, on_damage="skip")
    sink, frames, size = None, 0, (0, 0)
    stopped = None
    options = {"crf": crf} if crf is not None else {}
    target = local_path(destination)
    with (nullcontext(destination) if folder else atomic_output(target)) as temporary:

        def damaged() -> bool:
            return damage_summary(decoder.stats, decoder.reader_stats) is not None

        def decoded_frames():
            with open(source, "rb") as stream:
                while chunk := stream.read(1 << 16):
                    decoder.push(chunk)
                    yield from decoder.pull()
                    if on_damage == "stop" and damaged():
                        return  # what was decoded with this chunk is kept
                decoder.flush()
                yield from decoder.pull()

        try:
            for decoded in progress(decoded_frames(), desc="decode", unit="frame"):
                if sink is None:
                    size = decoded.image.shape[:2]
                    rate = decoded.syntax.frame_rate
                    sink = open_sink(str(temporary), size[1], size[0],
                                     Fraction(*rate) if rate else DEFAULT_FRAME_RATE, **options)
                sink.write(decoded.image)
                frames += 1
        finally:
            if sink is not None:
                sink.close()
        if frames == 0:
            lost = damage_summary(decoder.stats, decoder.reader_stats)
            raise BitstreamError(f"{source}: no frame could be decoded" + (f" ({lost})" if lost else ""))
    damage = damage_summary(decoder.stats, decoder.reader_stats)
    if damage:
        events = [*decoder.reader_stats.events, *decoder.stats.events]
        first = events[0] if events else ""
        stopped = " (stopped at the first damage)" if on_damage == "stop" else ""
        damage = f"{source}: damaged: {damage}; {frames} frame(s) written to {destination}{stopped}" + \
                 (f"; first: {first}" if first else "")
    written = Written(target, target.stat().st_size if target.is_file() else 0, size[1], size[0], frames)
    return Batch([written], [], damage)
