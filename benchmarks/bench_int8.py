#!/usr/bin/env python3
"""INT8 generator against the fp32 generator, on the same streams, in the same process.

Encodes every image of a folder (default: Kodak) at every quality with the fp32 compressor,
decodes each stream with the fp32 and the INT8 generator of the shipped model (ONNX Runtime,
CPU unless the device profile says otherwise), and prints per quality the mean PSNR of both,
the PSNR cost of INT8, and the median generator time of both with their ratio.

    python benchmarks/bench_int8.py [--folder ../shared/data/kodak] [--model M] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from edgesdk.eval.anchors import load_images
from edgesdk.eval.metrics import psnr
from edgesdk.codecs.image.codec import ImageCodec, to_pixels

DEFAULT_FOLDER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kodak"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--model", default="lite", help="bundle with INT8 generators (default: the shipped lite model)")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    images = load_images(args.folder)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"{len(images)} images from {args.folder}")
    encoder = ImageCodec(args.model, threads=args.threads)
    decoders = {p: ImageCodec(args.model, generator_precision=p, threads=args.threads) for p in ("fp32", "int8")}
    print("quality   PSNR fp32   PSNR int8    cost dB   generator ms fp32   int8   int8/fp32")
    for quality in encoder.model.qualities:
        quality_db = {p: [] for p in decoders}
        seconds = {p: [] for p in decoders}
        warm_up = encoder.encode(images[0][1], quality)  # first runs of a session allocate: not timed
        for decoder in decoders.values():
            decoder.decode(warm_up)
        for _, image in images:
            data = encoder.encode(image, quality)
            for precision, decoder in decoders.items():
                low = decoder.codec(quality)
                _, y_hat = low.decode_latent(data)
                start = time.perf_counter()
                pixels = low.synthesize(y_hat[None])
                seconds[precision].append(time.perf_counter() - start)
                decoded = to_pixels(pixels)
                quality_db[precision].append(psnr(image, decoded[: image.shape[0], : image.shape[1]]))
        mean = {p: float(np.mean(v)) for p, v in quality_db.items()}
        ms = {p: 1e3 * statistics.median(v) for p, v in seconds.items()}
        print(f"{quality:7d}   {mean['fp32']:9.3f}   {mean['int8']:9.3f}   {mean['fp32'] - mean['int8']:8.3f}"
              f"   {ms['fp32']:17.1f}   {ms['int8']:5.1f}   {ms['int8'] / ms['fp32']:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
