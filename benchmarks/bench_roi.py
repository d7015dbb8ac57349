"""Region-of-interest coding against uniform coding at the same rate (docs/roi.md).

For each input, the ROI stream (region coded with step ``inside``, the rest with
``outside``, at one model quality) is compared with uniform coding at equal bytes: the
uniform PSNRs inside and outside the region are interpolated (linearly in log bytes)
between the two uniform quality levels whose sizes bracket the ROI stream's.

Kodak: a centred rectangle (the middle half of each side). Akiyo: the face the frontal-face
Haar cascade finds (OpenCV), coded as a short video (the detector runs on every frame; key
and inter frames carry its region).

``--p-frames``: P frames only (docs/roi.md, "Inter frames"). Akiyo's keyframe is coded
uniformly in both streams; the P frames carry the face box of the first frame (the measured
mask) at the ROI steps times ``--p-step``, against uniform P frames whose step ``--p-step``
times each of ``--uniform-scales`` brackets their bytes (interpolated per frame in log P-frame
bytes). Medians and ranges over the P frames.

    python benchmarks/bench_roi.py --images kodim01 kodim04 kodim15 kodim23 --video-frames 30
    python benchmarks/bench_roi.py --p-frames --video-frames 12 --qualities 2 --model lite
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import load_image
from edgesdk.eval.metrics import psnr

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")


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
        uniform.append((len(data), psnr(image, decoded, where=mask), psnr(image, decoded, where=~mask)))
    rows = []
    for q in qualities:
        data = codec.encode(image, q, roi=[box], roi_steps=steps)
        decoded = codec.decode(data)
        rows.append(row(name, q, len(data), psnr(image, decoded, where=mask), psnr(image, decoded, where=~mask),
                        uniform))
    return rows


def _video(codec: ImageCodec, frames, quality: int, roi, steps, preset: str, interval: int, p_step: float = 1.0,
           inter_roi=None):
    """(bytes, bytes of inter frames, decoded frames) of ``frames`` coded with ``roi`` (and
    ``inter_roi`` pushed with every frame after the first)."""
    from edgesdk.codecs.video import VideoDecoder, VideoEncoder, preset_options

    encoder = VideoEncoder(codec.codec(quality), **{"keyframe_interval": interval, **preset_options(preset)},
                           p_step=p_step, roi=roi, roi_steps=steps)
    sizes = [0, 0]  # all, inter frames
    decoder = VideoDecoder(codec.codec(quality))

    def send(packets):
        for packet in packets:
            sizes[0] += len(packet.payload)
            sizes[1] += 0 if packet.keyframe else len(packet.payload)
            decoder.push(packet)

    for k, frame in enumerate(frames):
        encoder.push(frame, roi=inter_roi if k else None)
        send(encoder.pull())
    encoder.flush()
    send(encoder.pull())
    decoder.flush()
    return sizes[0], sizes[1], decoder.pull()


def _clip(count: int, clip: str = "akiyo_cif") -> tuple[list[np.ndarray], tuple[int, int, int, int], np.ndarray]:
    """(the first ``count`` frames of shared/data/video/``clip``.mp4, the face box of the first,
    its pixel mask)."""
    from edgesdk.media import open_source
    from edgesdk.search.labels import faces

    frames = []
    with open_source(str(DATA / "video" / f"{clip}.mp4")) as source:
        for frame in source:
            frames.append(frame.pixels)
            if len(frames) == count:
                break
    box = faces(frames[0])[0]
    mask = np.zeros(frames[0].shape[:2], bool)
    mask[box[1]:box[1] + box[3], box[0]:box[0] + box[2]] = True
    return frames, box, mask


def bench_video(codec: ImageCodec, count: int, qualities, steps, preset: str, interval: int) -> list[str]:
    """Rows for akiyo: the face region (Haar cascade) as the ROI of every frame (the detector runs on each)."""
    from edgesdk.search.labels import faces

    frames, box, mask = _clip(count)
    print(f"akiyo: {len(frames)} frames, face {box} (x, y, w, h), preset {preset}, keyframe every {interval}",
          file=sys.stderr)

    def measure(size, _, decoded):
        inside = np.mean([psnr(f, d.image, where=mask) for d, f in zip(decoded, frames)])
        outside = np.mean([psnr(f, d.image, where=~mask) for d, f in zip(decoded, frames)])
        return size, inside, outside

    uniform = [measure(*_video(codec, frames, q, None, steps, preset, interval)) for q in codec.model.qualities]
    rows = []
    for q in qualities:
        size, inside, outside = measure(*_video(codec, frames, q, faces, steps, preset, interval))
        rows.append(row(f"akiyo ({len(frames)} frames)", q, size, inside, outside, uniform))
    return rows


def bench_p_frames(codec: ImageCodec, count: int, quality: int, steps, preset: str, p_step: float,
                   uniform_scales, clip: str) -> list[str]:
    """Lines for a clip's P frames: the face box of the first frame as every P frame's region."""
    frames, box, mask = _clip(count, clip)
    interval = count + 1  # one GOP: the keyframe, then P frames only

    def per_frame(run):
        _, inter_bytes, decoded = run
        kept = [(d, frames[d.display_index]) for d in decoded if d.frame_type.name == "P"]
        return inter_bytes, np.array([[psnr(f, d.image, where=mask), psnr(f, d.image, where=~mask)]
                                      for d, f in kept])

    roi_bytes, roi_psnr = per_frame(_video(codec, frames, quality, None, steps, preset, interval, p_step, [box]))
    uniform = [per_frame(_video(codec, frames, quality, None, steps, preset, interval, p_step * s))
               for s in uniform_scales]
    lines = [f"{clip} {len(frames)} frames ({len(roi_psnr)} P), {codec.model.name} quality {quality}, preset "
             f"{preset}, face {box}, P step {p_step}, ROI steps {steps}",
             "| P frames | bytes | inside median (range) | outside median (range) |", "|---|---|---|---|"]

    def describe(name, size, values):
        inside, outside = values[:, 0], values[:, 1]
        return (f"| {name} | {size} | {np.median(inside):.2f} ({inside.min():.2f} … {inside.max():.2f}) "
                f"| {np.median(outside):.2f} ({outside.min():.2f} … {outside.max():.2f}) |")

    lines += [describe(f"uniform, step × {s}", size, values) for s, (size, values) in zip(uniform_scales, uniform)]
    lines.append(describe("ROI", roi_bytes, roi_psnr))
    for (b0, v0), (b1, v1) in zip(uniform, uniform[1:]):
        if b1 <= roi_bytes <= b0 or b0 <= roi_bytes <= b1:  # per frame, at the ROI stream's P-frame bytes
            t = (math.log(roi_bytes) - math.log(b0)) / (math.log(b1) - math.log(b0))
            lines.append(describe("uniform at equal bytes", roi_bytes, v0 + t * (v1 - v0)))
            delta = roi_psnr - (v0 + t * (v1 - v0))
            lines.append(f"| Δ ROI − uniform | | {np.median(delta[:, 0]):+.2f} ({delta[:, 0].min():+.2f} … "
                         f"{delta[:, 0].max():+.2f}) | {np.median(delta[:, 1]):+.2f} ({delta[:, 1].min():+.2f} … "
                         f"{delta[:, 1].max():+.2f}) |")
            break
    else:
        lines.append("the uniform runs do not bracket the ROI stream's bytes: widen --uniform-scales")
    return lines


def main() -> None:
    """Prints the comparison table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", nargs="*", default=["kodim01", "kodim04", "kodim15", "kodim23"])
    parser.add_argument("--qualities", type=int, nargs="+", default=[2, 3], help="qualities of the ROI streams")
    parser.add_argument("--steps", type=float, nargs=2, default=[0.5, 2.0], metavar=("INSIDE", "OUTSIDE"))
    parser.add_argument("--video-frames", type=int, default=30, help="akiyo frames (0: no video)")
    parser.add_argument("--preset", default="realtime")
    parser.add_argument("--keyframe-interval", type=int, default=15)
    parser.add_argument("--p-frames", action="store_true", help="P frames of --clip only (no images)")
    parser.add_argument("--p-step", type=float, default=1.0, help="--p-frames: the frame step of the ROI stream")
    parser.add_argument("--uniform-scales", type=float, nargs="+", default=[0.71, 1.0, 1.41],
                        help="--p-frames: uniform P steps, as multiples of --p-step")
    parser.add_argument("--clip", default="akiyo_cif", help="--p-frames: a clip of shared/data/video")
    parser.add_argument("--model", default="lite", help="shipped model (the figures in docs/roi.md: lite)")
    args = parser.parse_args()
    codec = ImageCodec(args.model, threads=2)
    steps = tuple(args.steps)
    if args.p_frames:
        for line in bench_p_frames(codec, args.video_frames, args.qualities[0], steps, args.preset, args.p_step,
                                   args.uniform_scales, args.clip):
            print(line, flush=True)
        return
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
