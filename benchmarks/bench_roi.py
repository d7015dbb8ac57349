"""Region-of-interest coding against uniform coding at the same rate (docs/roi.md).

For each input, the ROI stream (region coded with step ``inside``, the rest with
``outside``, at one model quality) is compared with uniform coding at equal bytes: the
uniform PSNRs inside and outside the region are interpolated (linearly in log bytes)
between the two uniform quality levels whose sizes bracket the ROI stream's.

Kodak: a centred rectangle (the middle half of each side). Akiyo: the face the frontal-face
Haar cascade finds (OpenCV), coded as a short video (ROI on keyframes; P frames inherit it).

    python benchmarks/bench_roi.py --images kodim01 kodim04 kodim15 kodim23 --video-frames 30
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import load_image

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")


def masked_psnr(decoded: np.ndarray, source: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (RGB, dB) over the pixels where ``mask`` is True."""
    error = ((decoded.astype(np.float64) - source.astype(np.float64)) ** 2)[mask].mean()
    return 10 * math.log10(255.0 ** 2 / max(error, 1e-12))


def at_equal_bytes(uniform: list[tuple[int, float, float]], size: int) -> tuple[float, float] | None:
    """Uniform (inside, outside) PSNR at ``size`` bytes, interpolated in log bytes between the
    bracketing uniform points (bytes, inside, outside); None outside their range."""
    points = sorted(uniform)
    for (b0, i0, o0), (b1, i1, o1) in zip(points, points[1:]):
        if b0 <= size <= b1:
            t = (math.log(size) - math.log(b0)) / (math.log(b1) - math.log(b0))
            return i0 + t * (i1 - i0), o0 + t * (o1 - o0)
    return None


def row(name: str, quality: int, size: int, roi_in: float, roi_out: float, uniform) -> str:
    """One table row: the ROI point and the uniform point at its size."""
    equal = at_equal_bytes(uniform, size)
    if equal is None:
        return f"| {name} | {quality} | {size} | {roi_in:.2f} | {roi_out:.2f} | outside the uniform range | | |"
    return (f"| {name} | {quality} | {size} | {roi_in:.2f} | {roi_out:.2f} | {equal[0]:.2f} | {equal[1]:.2f} "
            f"| {roi_in - equal[0]:+.2f} / {roi_out - equal[1]:+.2f} |")


def bench_image(codec: ImageCodec, name: str, qualities, steps) -> list[str]:
    """Rows for one Kodak image with a centred rectangle."""
    image = load_image(DATA / "kodak" / f"{name}.png")
    height, width = image.shape[:2]
    box = (width // 4, height // 4, width // 2, height // 2)
    mask = np.zeros((height, width), bool)
    mask[box[1]:box[1] + box[3], box[0]:box[0] + box[2]] = True
    uniform = []
    for q in codec.model.qualities:
        data = codec.encode(image, q)
        decoded = codec.decode(data)
        uniform.append((len(data), masked_psnr(decoded, image, mask), masked_psnr(decoded, image, ~mask)))
    rows = []
    for q in qualities:
        data = codec.encode(image, q, roi=[box], roi_steps=steps)
        decoded = codec.decode(data)
        rows.append(row(name, q, len(data), masked_psnr(decoded, image, mask), masked_psnr(decoded, image, ~mask),
                        uniform))
    return rows


def _video(codec: ImageCodec, frames, quality: int, roi, steps, preset: str, interval: int):
    from edgesdk.codecs.video import VideoDecoder, VideoEncoder, preset_options

    encoder = VideoEncoder(codec.codec(quality), **{"keyframe_interval": interval, **preset_options(preset)},
                           roi=roi, roi_steps=steps)
    size = 0
    decoder = VideoDecoder(codec.codec(quality))
    for frame in frames:
        encoder.push(frame)
        for packet in encoder.pull():
            size += len(packet.payload)
            decoder.push(packet)
    encoder.flush()
    for packet in encoder.pull():
        size += len(packet.payload)
        decoder.push(packet)
    decoder.flush()
    return size, [d.image for d in decoder.pull()]


def bench_video(codec: ImageCodec, count: int, qualities, steps, preset: str, interval: int) -> list[str]:
    """Rows for akiyo: the face region (Haar cascade) as ROI of every keyframe."""
    from edgesdk.media import open_source
    from edgesdk.search.labels import faces

    frames = []
    with open_source(str(DATA / "video" / "akiyo_cif.mp4")) as source:
        for frame in source:
            frames.append(frame.pixels)
            if len(frames) == count:
                break
    box = faces(frames[0])[0]
    mask = np.zeros(frames[0].shape[:2], bool)
    mask[box[1]:box[1] + box[3], box[0]:box[0] + box[2]] = True
    print(f"akiyo: {len(frames)} frames, face {box} (x, y, w, h), preset {preset}, keyframe every {interval}",
          file=sys.stderr)

    def measure(size, decoded):
        inside = np.mean([masked_psnr(d, f, mask) for d, f in zip(decoded, frames)])
        outside = np.mean([masked_psnr(d, f, ~mask) for d, f in zip(decoded, frames)])
        return size, inside, outside

    uniform = [measure(*_video(codec, frames, q, None, steps, preset, interval)) for q in codec.model.qualities]
    rows = []
    for q in qualities:
        size, inside, outside = measure(*_video(codec, frames, q, faces, steps, preset, interval))
        rows.append(row(f"akiyo ({len(frames)} frames)", q, size, inside, outside, uniform))
    return rows


def main() -> None:
    """Prints the comparison table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", nargs="*", default=["kodim01", "kodim04", "kodim15", "kodim23"])
    parser.add_argument("--qualities", type=int, nargs="+", default=[2, 3], help="qualities of the ROI streams")
    parser.add_argument("--steps", type=float, nargs=2, default=[0.5, 2.0], metavar=("INSIDE", "OUTSIDE"))
    parser.add_argument("--video-frames", type=int, default=30, help="akiyo frames (0: no video)")
    parser.add_argument("--preset", default="realtime")
    parser.add_argument("--keyframe-interval", type=int, default=15)
    args = parser.parse_args()
    codec = ImageCodec("lite", threads=2)  # the figures in docs/roi.md
    steps = tuple(args.steps)
    print(f"ROI steps inside {steps[0]}, outside {steps[1]}; PSNR RGB in dB; uniform: qualities "
          f"{codec.model.qualities} interpolated to the ROI stream's bytes\n")
    print("| input | quality | ROI bytes | ROI inside | ROI outside | uniform inside | uniform outside "
          "| Δ inside / outside |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.images:
        for line in bench_image(codec, name, args.qualities, steps):
            print(line, flush=True)
    if args.video_frames:
        for line in bench_video(codec, args.video_frames, args.qualities, steps, args.preset,
                                args.keyframe_interval):
            print(line, flush=True)


if __name__ == "__main__":
    main()
