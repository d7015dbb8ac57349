"""What ``edgesdk bench`` measures, image and video apart.

Images: each stage is timed *inside* real ``encode``/``decode`` calls (the graphs and the
entropy coder wrapped with a clock), so the stages of one call add up to no more than the
call, and edgesdk's overhead over bare inference (the call minus its graph time) is never
negative. Medians over ``repeats`` calls.

Video: frames per second of a real video encode (:func:`edgesdk.codecs.video.write_video`,
with its motion search, inter frames and packets) and decode of the same frames, not of
still images at the video's size."""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from edgesdk.codecs.image.codec import ImageCodec

IMAGE_STAGES = {"encode": ("compressor", "entropy_encode"), "decode": ("entropy_decode", "generator")}
GRAPH_STAGES = ("compressor", "generator")  # the stages that are bare inference


class _Clock:
    """Seconds spent in wrapped callables, by stage, since the last reset."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, stage: str, function: Callable) -> Callable:
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[stage] = self.spent.get(stage, 0.0) + time.perf_counter() - start
        return timed


class _TimedEntropyModel:
    """An entropy model whose encode and decode are timed; everything else passes through."""

    def __init__(self, model, clock: _Clock) -> None:
        self._model = model
        self.encode = clock.wrap("entropy_encode", model.encode)
        self.decode = clock.wrap("entropy_decode", model.decode)

    def __getattr__(self, name: str):
        return getattr(self._model, name)


def stage_timings(codec: ImageCodec, image: np.ndarray, repeats: int = 5, quality: int | None = None) -> dict:
    """Median milliseconds of full ``encode`` and ``decode`` of ``image`` and of the stages
    inside them, and edgesdk's overhead over the bare graphs (≥ 0 by construction)."""
    low = codec.codec(quality)
    clock = _Clock()
    timed = replace(low, analyze=clock.wrap("compressor", low.analyze),
                    synthesize=clock.wrap("generator", low.synthesize),
                    entropy_model=_TimedEntropyModel(low.entropy_model, clock))
    data = timed.encode(image)  # warms both graphs' sessions up
    timed.decode(data)
    samples: dict[str, list[float]] = {}
    for call, run in (("encode", lambda: timed.encode(image)), ("decode", lambda: timed.decode(data))):
        for _ in range(repeats):
            clock.spent.clear()
            start = time.perf_counter()
            run()
            total = time.perf_counter() - start
            inside = {stage: clock.spent.get(stage, 0.0) for stage in IMAGE_STAGES[call]}
            inside[f"{call}_other"] = total - sum(inside.values())  # padding, conversion, container
            inside[call] = total
            inside[f"{call}_graph"] = sum(v for k, v in inside.items() if k in GRAPH_STAGES)
            for key, seconds in inside.items():
                samples.setdefault(key, []).append(seconds * 1e3)
    result = {key: statistics.median(values) for key, values in samples.items()}
    # Overheads from the same calls: each call minus the graph time inside it, then the median.
    for call in IMAGE_STAGES:
        ratios = [(t - g) / g for t, g in zip(samples[call], samples[f"{call}_graph"])]
        result[f"{call}_overhead_ratio"] = statistics.median(ratios)
    result["encode_fps"] = 1e3 / result["encode"]
    result["decode_fps"] = 1e3 / result["decode"]
    result["bytes"] = len(data)
    height, width = image.shape[:2]
    result["size"] = [width, height]
    return result


def format_timings(timings: dict) -> str:
    """The image timings as a text table."""
    width, height = timings["size"]
    lines = [f"image {width}x{height}, {timings['bytes']} bytes ({8 * timings['bytes'] / (width * height):.3f} bpp); "
             f"median ms, stages timed inside the calls:"]
    for call, stages in IMAGE_STAGES.items():
        lines.append(f"  {call:<8} {timings[call]:9.2f}   {timings[call + '_fps']:.1f} images/s")
        for stage in (*stages, f"{call}_other"):
            label = "other (padding, conversion, container)" if stage.endswith("_other") else stage
            lines.append(f"    {label:<40} {timings[stage]:9.2f}")
        lines.append(f"    edgesdk overhead over bare inference: {100 * timings[call + '_overhead_ratio']:.1f}%")
    return "\n".join(lines)


def panning_frames(image: np.ndarray, width: int, height: int, count: int, step: int = 2) -> list[np.ndarray]:
    """``count`` frames of ``width``x``height`` that pan across ``image`` (a camera moving
    ``step`` pixels a frame), for a video benchmark without a clip."""
    from PIL import Image

    need_w, need_h = width + step * count, height + step * count
    if image.shape[1] < need_w or image.shape[0] < need_h:
        scale = max(need_w / image.shape[1], need_h / image.shape[0])
        size = (int(np.ceil(image.shape[1] * scale)), int(np.ceil(image.shape[0] * scale)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    return [np.ascontiguousarray(image[i * step : i * step + height, i * step : i * step + width])
            for i in range(count)]


def video_timings(codec: ImageCodec, frames: Sequence[np.ndarray], keyframe_interval: int = 32, b_frames: int = 2,
                  quality: int | None = None) -> dict:
    """Frames per second of a real video encode of ``frames`` and of its decode (one run each,
    after a warm-up of the graphs)."""
    from edgesdk.codecs.video import read_video, write_video

    low = codec.codec(quality)
    low.decode(low.encode(frames[0]))  # loads the graphs: not part of the timing
    stream = io.BytesIO()
    start = time.perf_counter()
    size = write_video(stream, iter(frames), low, keyframe_interval=keyframe_interval, b_frames=b_frames)
    encode_s = time.perf_counter() - start
    stream.seek(0)
    start = time.perf_counter()
    decoded = sum(1 for _ in read_video(stream, low))
    decode_s = time.perf_counter() - start
    height, width = frames[0].shape[:2]
    return {"size": [width, height], "frames": len(frames), "decoded_frames": decoded, "bytes": size,
            "keyframe_interval": keyframe_interval, "b_frames": b_frames,
            "encode_s": encode_s, "decode_s": decode_s,
            "encode_fps": len(frames) / encode_s, "decode_fps": decoded / decode_s}


def format_video_timings(timings: dict, source: str) -> str:
    """The video timings as text."""
    width, height = timings["size"]
    return (f"video {width}x{height}, {timings['frames']} frames of {source} (GOP {timings['keyframe_interval']}, "
            f"{timings['b_frames']} B), {timings['bytes']} bytes: encode {timings['encode_fps']:.2f} fps "
            f"({timings['encode_s']:.1f} s), decode {timings['decode_fps']:.2f} fps ({timings['decode_s']:.1f} s)")
