"""What each fixed-camera option of the video encoder buys, one at a time (docs/video.md, "Decisions").

    python benchmarks/bench_video_options.py                  # akiyo CIF, 12 frames, GOPs of 6, quality 2
    python benchmarks/bench_video_options.py --frames 24 --keyframe-interval 8 --quality 1

Encodes the same frames with the default encoder and with each option set below, decodes
them, and prints bytes, kbps, mean RGB PSNR, encode seconds and the ratio of bytes and
encode time to the default, all measured in this process.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.video import preset_options
from edgesdk.eval.video_evaluation import evaluate_latent_video, load_frames

DEFAULT_CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video" / "akiyo_cif.mp4"

OPTION_SETS = {
    "default": {},
    "compact headers": {"compact_headers": True},
    "background": {"background": True},
    "latent prediction": {"latent_prediction": True},
    "latent prediction, no copied blocks": {"latent_prediction": True, "copy_blocks": False},
    "no copied blocks": {"copy_blocks": False},
    "fixed-camera preset": preset_options("fixed-camera"),
    "realtime preset": preset_options("realtime"),
}


def measure(codec, frames: list[np.ndarray], fps: float, step: float, **options) -> dict:
    """Bytes, kbps, mean RGB PSNR and encode seconds of one encode and decode of ``frames``."""
    point = evaluate_latent_video(frames, codec, [step], fps, **options)[0]
    return {**point, "seconds": len(frames) / point["encode_fps"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default=DEFAULT_CLIP)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--quality", type=int, default=2)
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--keyframe-interval", type=int, default=6)
    parser.add_argument("--b-frames", type=int, default=2)
    parser.add_argument("--sets", nargs="+", default=list(OPTION_SETS), choices=list(OPTION_SETS))
    args = parser.parse_args()
    frames = load_frames(args.clip, args.frames)
    codec = ImageCodec(backend="onnxruntime", precision="fp32").codec(args.quality)
    common = {"keyframe_interval": args.keyframe_interval, "b_frames": args.b_frames}
    base = None
    for name in ["default"] + [s for s in args.sets if s != "default"]:
        point = measure(codec, frames, args.fps, args.step, **{**common, **OPTION_SETS[name]})
        base = base or point
        print(f"{name:>36}: {point['bytes']:7d} bytes {point['kbps']:7.1f} kbps {point['psnr']:6.2f} dB  "
              f"encode {point['seconds']:6.1f} s  bytes x{point['bytes'] / base['bytes']:.2f}  "
              f"time x{point['seconds'] / base['seconds']:.2f}", flush=True)


if __name__ == "__main__":
    main()
