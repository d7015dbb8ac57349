"""Where the time goes when coding an image: the graphs (bare inference) against everything
edgesdk adds (padding and conversion, the integer entropy path, the container), measured
stage by stage and end to end in the same process. Used by ``edgesdk bench`` and
benchmarks/bench_runtime.py."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from edgesdk.runtime.graphs import GRAPHS
from edgesdk.bitstream.container import Frame, SectionKind
from edgesdk.codecs.image.codec import ImageCodec, pad_to_grid, to_pixels, to_tensor

STAGES = ("preprocess", "compressor", "entropy_encode", "container_write", "container_parse", "entropy_decode",
          "generator", "postprocess")
GRAPH_STAGES = GRAPHS  # the stages that are bare inference


def median_ms(run: Callable[[], object], repeats: int) -> float:
    """The median of ``repeats`` runs of ``run``, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def stage_timings(codec: ImageCodec, image: np.ndarray, repeats: int = 5, quality: int | None = None) -> dict:
    """Median milliseconds of every stage, of full ``encode``/``decode``, and the overhead of
    edgesdk relative to the bare graphs (stage sum and end to end)."""
    low = codec.codec(quality)
    compressor, generator = codec.runner(low.quality, "compressor"), codec.runner(low.quality, "generator")
    data = low.encode(image)  # warms both graphs' sessions up too
    low.decode(data)
    padded = pad_to_grid(image)
    x = to_tensor(padded)
    outputs = compressor.run({"image": x})
    y, z = outputs["y"][0], outputs["z"][0]
    hyper, latent = low.entropy_model.encode(y, z)
    frame = Frame.parse(data)
    latent_shape = (padded.shape[0] // 16, padded.shape[1] // 16)
    y_hat = low.entropy_model.decode(hyper, latent, latent_shape)
    decoded = generator.run({"y_hat": y_hat[None]})["image"]
    height, width = image.shape[:2]
    stages = {
        "preprocess": lambda: to_tensor(pad_to_grid(image)),
        "compressor": lambda: compressor.run({"image": x}),
        "entropy_encode": lambda: low.entropy_model.encode(y, z),
        "container_write": lambda: Frame(width, height, quality=low.quality, model_id=low.model_id,
                                         parameters=frame.parameters, sections=frame.sections).to_bytes(),
        "container_parse": lambda: (Frame.parse(data).section(SectionKind.LATENT)),
        "entropy_decode": lambda: low.entropy_model.decode(hyper, latent, latent_shape),
        "generator": lambda: generator.run({"y_hat": y_hat[None]}),
        "postprocess": lambda: to_pixels(decoded)[:height, :width],
    }
    result = {name: median_ms(run, repeats) for name, run in stages.items()}
    result["encode"] = median_ms(lambda: low.encode(image), repeats)
    result["decode"] = median_ms(lambda: low.decode(data), repeats)
    bare = sum(result[s] for s in GRAPH_STAGES)
    added = sum(result[s] for s in STAGES if s not in GRAPH_STAGES)
    result["bare_inference"] = bare
    result["overhead_ratio"] = added / bare
    result["overhead_ratio_end_to_end"] = (result["encode"] + result["decode"] - bare) / bare
    result["encode_fps"] = 1e3 / result["encode"]
    result["decode_fps"] = 1e3 / result["decode"]
    result["bytes"] = len(data)
    result["size"] = [width, height]
    return result


def format_timings(timings: dict) -> str:
    """The stage timings as a text table."""
    width, height = timings["size"]
    lines = [f"{width}x{height}, {timings['bytes']} bytes ({8 * timings['bytes'] / (width * height):.3f} bpp); "
             f"median ms:"]
    for stage in STAGES:
        lines.append(f"  {stage:<16} {timings[stage]:9.2f}")
    lines.append(f"  {'encode (all)':<16} {timings['encode']:9.2f}   {timings['encode_fps']:.1f} fps")
    lines.append(f"  {'decode (all)':<16} {timings['decode']:9.2f}   {timings['decode_fps']:.1f} fps")
    lines.append(f"edgesdk overhead: {100 * timings['overhead_ratio']:.1f}% of bare inference "
                 f"({timings['bare_inference']:.1f} ms) by stages, "
                 f"{100 * timings['overhead_ratio_end_to_end']:.1f}% end to end")
    return "\n".join(lines)
