"""Speed of the integer hyper-synthesis (the C++ network that gives every table index and mean)
with each convolution kernel this CPU has, on the shipped models' networks and real hyper-latents.

    python benchmarks/bench_intnet.py                      # kodim23 768x512 and a CIF crop
    python benchmarks/bench_intnet.py --repeats 30 --models wavelet

For each model (quality 2) and size: the median time of one run per kernel, its ratio to the
AVX2 kernel (the previous default) measured in the same process, and whether every kernel gave
the same integers as the portable one (they must: the parse depends on them).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from edgesdk.bitstream.intnet import IntNetwork
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import SHIPPED_MODELS
from edgesdk.media.images import read_image

KODIM23 = Path(__file__).resolve().parents[1] / "edgesdk" / "data" / "samples" / "kodim23.png"
SIZES = {"768x512": (512, 768), "CIF": (288, 352)}


def median_ms(network: IntNetwork, z_hat: np.ndarray, kernel: str, repeats: int) -> float:
    """Median wall time of one run, in milliseconds (after one warm-up run)."""
    network.run(z_hat, kernel)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        network.run(z_hat, kernel)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, default=KODIM23)
    parser.add_argument("--models", nargs="+", default=list(SHIPPED_MODELS), choices=list(SHIPPED_MODELS))
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    picture = read_image(args.image)
    kernels = [k for k in IntNetwork.kernels() if k != "auto"]
    print(f"kernels on this CPU: {', '.join(kernels)} (auto = {kernels[-1]})")
    for name in args.models:
        codec = ImageCodec(name, backend="onnxruntime", precision="fp32").codec(2)
        network = codec.entropy_model.hyper_synthesis
        for label, (height, width) in SIZES.items():
            _, _, z = codec.analyze_image(np.ascontiguousarray(picture[:height, :width]))
            z_hat = np.rint(z).astype(np.int32)
            outputs = {kernel: network.run(z_hat, kernel) for kernel in kernels}
            same = all(np.array_equal(outputs["portable"], out) for out in outputs.values())
            times = {kernel: median_ms(network, z_hat, kernel, args.repeats) for kernel in kernels}
            baseline = times.get("avx2", times["portable"])
            row = "  ".join(f"{kernel} {ms:7.2f} ms (x{baseline / ms:4.2f})" for kernel, ms in times.items())
            print(f"{name:8s} {label:8s} {row}  identical: {same}")


if __name__ == "__main__":
    main()
