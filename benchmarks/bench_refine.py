#!/usr/bin/env python3
"""Encode-time latent refinement: BD-rate gain and encode time against the number of steps N.

For each N (default 0, 10, 50, 200) encodes every chosen image at every quality with
``ImageCodec(refine=N)``, decodes each stream with the unchanged decoder (ONNX Runtime, no
refinement), and prints per N the mean bpp (from the stream bytes) and PSNR (8-bit RGB) per
quality, the BD-rate and BD-PSNR against N = 0 measured in the same process, and the median
encode time per image with its ratio to N = 0's. Refinement runs in PyTorch on the CPU.

    python benchmarks/bench_refine.py [--folder ../shared/data/kodak] [--images 4] [--crop 256]
        [--steps 0,10,50,200] [--threads 1] [--model M] [--json out.json]

``--images K`` takes K images spread evenly over the folder (0: all); ``--crop S`` codes the
central S x S pixels of each (0: whole images). Refinement costs a generator forward and
backward pass per step, so whole Kodak images at N = 200 take minutes each on a small CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.eval.anchors import load_images
from edgesdk.eval.bdrate import bd_psnr, bd_rate
from edgesdk.eval.metrics import psnr

DEFAULT_FOLDER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kodak"


def choose(images: list, count: int, crop: int) -> list:
    """``count`` images spread evenly over ``images`` (all when 0), centre-cropped to ``crop``."""
    if count and count < len(images):
        images = [images[round(i * len(images) / count)] for i in range(count)]
    if not crop:
        return images
    out = []
    for name, pixels in images:
        top, left = max(0, (pixels.shape[0] - crop) // 2), max(0, (pixels.shape[1] - crop) // 2)
        out.append((name, np.ascontiguousarray(pixels[top: top + crop, left: left + crop])))
    return out


def measure(steps: int, images: list, qualities: list[int], decoder: ImageCodec, args) -> dict:
    """Mean bpp and PSNR per quality and every encode time, for ``refine=steps``."""
    encoder = ImageCodec(args.model, refine=steps, threads=args.threads)
    curve, times = {}, []
    for quality in qualities:
        bpps, psnrs = [], []
        for _, pixels in images:
            start = time.perf_counter()
            data = encoder.encode(pixels, quality)
            times.append(time.perf_counter() - start)
            bpps.append(8 * len(data) / (pixels.shape[0] * pixels.shape[1]))
            psnrs.append(psnr(pixels, decoder.decode(data)))
        curve[quality] = (float(np.mean(bpps)), float(np.mean(psnrs)))
        print(f"  N={steps} q{quality}: {curve[quality][0]:.4f} bpp, {curve[quality][1]:.3f} dB", flush=True)
    encoder.close()
    return {"curve": curve, "times": times}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--images", type=int, default=4, help="images spread over the folder (0: all)")
    parser.add_argument("--crop", type=int, default=256, help="central crop side in pixels (0: whole images)")
    parser.add_argument("--steps", default="0,10,50,200", help="refinement steps to compare (0 is the baseline)")
    parser.add_argument("--qualities", help="comma-separated (default: all of the model's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default="lite", help="bundle or shipped model name (default: lite, as documented)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    steps = sorted({0, *(int(s) for s in args.steps.split(","))})
    images = choose(load_images(args.folder), args.images, args.crop)
    decoder = ImageCodec(args.model, threads=args.threads)
    qualities = [int(q) for q in args.qualities.split(",")] if args.qualities else decoder.model.qualities
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"{args.threads} thread(s); {len(images)} images from {args.folder} "
          f"({', '.join(name for name, _ in images)}), crop {args.crop or 'none'}; qualities {qualities}", flush=True)
    results = {n: measure(n, images, qualities, decoder, args) for n in steps}
    base = results[0]
    base_rates, base_psnrs = zip(*(base["curve"][q] for q in qualities))
    base_time = statistics.median(base["times"])
    print("\n| N | BD-rate vs N=0 | BD-PSNR | median encode s/image | time vs N=0 |")
    print("|---|---|---|---|---|")
    table = {}
    for n in steps:
        rates, psnrs = zip(*(results[n]["curve"][q] for q in qualities))
        rate = bd_rate(base_rates, base_psnrs, rates, psnrs) if n else 0.0
        gain = bd_psnr(base_rates, base_psnrs, rates, psnrs) if n else 0.0
        median = statistics.median(results[n]["times"])
        table[n] = {"bd_rate_percent": rate, "bd_psnr_db": gain, "median_encode_s": median,
                    "time_ratio": median / base_time, "curve": results[n]["curve"]}
        print(f"| {n} | {rate:+.2f}% | {gain:+.3f} dB | {median:.2f} | {median / base_time:.1f}x |")
    if args.json:
        args.json.write_text(json.dumps({"images": [name for name, _ in images], "crop": args.crop,
                                         "threads": args.threads, "results": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
