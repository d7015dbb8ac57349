#!/usr/bin/env python3
"""Runtime benchmark: edgesdk's overhead against bare ONNX Runtime inference, and fps.

For each size, the sample photograph (scaled) is coded with the shipped default model on
ONNX Runtime (CPU unless told otherwise). Every stage is timed on its own (median of the
repeats): the two graphs (compressor, generator) are the baseline, run in this same process
on the same inputs; padding/conversion, the integer entropy path and the container are
edgesdk's overhead. Target (issue 5): overhead at most 15% of bare inference at 768x512.

    python benchmarks/bench_runtime.py [--sizes 768x512 cif 720p] [--repeats 7] [--threads N]
        [--backend onnxruntime] [--precision fp32] [--quality Q]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

from edgesdk.cli import main as cli_main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["768x512", "cif", "720p"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--quality", type=int)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    argv = ["bench", "image", "--sizes", *args.sizes, "--repeats", str(args.repeats), "--backend", args.backend,
            "--precision", args.precision]
    if args.quality is not None:
        argv += ["--quality", str(args.quality)]
    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
