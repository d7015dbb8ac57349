"""Speed and rate-distortion cost of the ``realtime`` video preset against the exhaustive one.

    python benchmarks/bench_realtime.py                       # akiyo CIF, 40 frames, qualities 2 3
    python benchmarks/bench_realtime.py --presets realtime fixed-camera exhaustive --frames 60

For each preset, in one process and on the same frames: encode frame by frame (the time from
``push`` to the frame's packets in ``pull``; the realtime preset holds no frame, so that is
its latency), decode packet by packet, and report frames per second over the clip, the
median and slowest per-frame times, rate and RGB PSNR at each (quality, step), and the BD-rate
of each preset against the first (``--baseline``, default exhaustive) over their common PSNR
range. (Decode fps was the median frame's until the eighth sitting: with B frames sent as an
interpolation, which decode in well under a millisecond, that median says nothing.) Ratios are
to the baseline measured in the same run, which is what survives a machine shared with other
jobs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.video import PRESETS, VideoDecoder, VideoEncoder, preset_options
from edgesdk.eval.bdrate import bd_rate
from edgesdk.eval.metrics import psnr
from edgesdk.eval.video_evaluation import load_frames

DEFAULT_CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video" / "akiyo_cif.mp4"


def run_preset(codec, frames: list[np.ndarray], preset: str, step: float, keyframe_interval: int,
               fps: float) -> dict:
    """One encode and decode of ``frames`` with ``preset``: per-frame times, rate, PSNR."""
    encoder = VideoEncoder(codec, **{"keyframe_interval": keyframe_interval, "p_step": step, **preset_options(preset)})
    packets, encode_times, held = [], [], 0
    for frame in frames:
        start = time.perf_counter()
        encoder.push(frame)
        packets += encoder.pull()
        encode_times.append(time.perf_counter() - start)
        held = max(held, encoder.buffered)
    encoder.flush()
    packets += encoder.pull()
    decoder = VideoDecoder(codec)
    decoded, decode_times = [], []
    for packet in packets:
        start = time.perf_counter()
        decoder.push(packet)
        decoded += decoder.pull()
        decode_times.append(time.perf_counter() - start)
    decoder.flush()
    decoded += decoder.pull()
    size = sum(len(p.payload) for p in packets)
    coded = [t for t in encode_times if t > 0.001]  # pushes that coded something (not held B frames)
    return {"preset": preset, "quality": codec.quality, "step": step, "bytes": size,
            "kbps": 8 * size / (len(frames) / fps) / 1000,
            "psnr": float(np.mean([psnr(a, b.image) for a, b in zip(frames, decoded)])),
            "encode_fps": len(frames) / sum(encode_times), "encode_median_ms": 1000 * float(np.median(coded)),
            "encode_max_ms": 1000 * max(encode_times), "frames_held": held,
            "decode_fps": len(frames) / sum(decode_times), "decode_median_ms": 1000 * float(np.median(decode_times[:-1])),
            "decode_max_ms": 1000 * max(decode_times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default=DEFAULT_CLIP)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--keyframe-interval", type=int, default=32)
    parser.add_argument("--qualities", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--steps", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--presets", nargs="+", default=["exhaustive", "realtime"], choices=list(PRESETS))
    parser.add_argument("--baseline", default="exhaustive", choices=list(PRESETS))
    parser.add_argument("--json", type=Path, help="also write the points here")
    parser.add_argument("--model", help="bundle or shipped model name (wavelet, lite); default: the shipped default")
    args = parser.parse_args()
    frames = load_frames(args.clip, args.frames)
    image_codec = ImageCodec(args.model, backend="onnxruntime", precision="fp32")
    presets = [args.baseline] + [p for p in args.presets if p != args.baseline]
    points = []
    for quality in args.qualities:
        for step in args.steps:
            for preset in presets:
                point = run_preset(image_codec.codec(quality), frames, preset, step, args.keyframe_interval, args.fps)
                points.append(point)
                print(f"{preset:>12} q{quality} step {step:g}: {point['kbps']:7.1f} kbps {point['psnr']:6.2f} dB  "
                      f"encode {point['encode_fps']:5.2f} fps (median {point['encode_median_ms']:.0f} ms, "
                      f"max {point['encode_max_ms']:.0f} ms, {point['frames_held']} held)  "
                      f"decode {point['decode_fps']:5.2f} fps (median {point['decode_median_ms']:.0f} ms, "
                      f"max {point['decode_max_ms']:.0f} ms)", flush=True)
    base = [p for p in points if p["preset"] == args.baseline]
    for preset in presets[1:]:
        mine = [p for p in points if p["preset"] == preset]
        encode = np.median([m["encode_fps"] / b["encode_fps"] for m, b in zip(mine, base)])
        decode = np.median([m["decode_fps"] / b["decode_fps"] for m, b in zip(mine, base)])
        bd = bd_rate([b["kbps"] for b in base], [b["psnr"] for b in base], [m["kbps"] for m in mine],
                     [m["psnr"] for m in mine]) if len(base) >= 4 else float("nan")
        print(f"{preset} vs {args.baseline}: encode {encode:.2f}x, decode {decode:.2f}x (medians of the per-point "
              f"ratios); BD-rate {bd:+.1f}% (negative: fewer bits at equal PSNR); median encode "
              f"{np.median([m['encode_fps'] for m in mine]):.2f} fps, decode "
              f"{np.median([m['decode_fps'] for m in mine]):.2f} fps")
    if args.json:
        args.json.write_text(json.dumps(points, indent=1) + "\n")


if __name__ == "__main__":
    main()
