"""Training throughput on this CPU (issue 12): one optimizer step of the `wavelet` preset as
`edgesdk_export.train` runs it (forward, loss, backward, clip, Adam), timed in several
settings in one process. Prints median seconds per step, steps/s and pixels/s, and each
setting's speed as a ratio to the float32 baseline run in the same process.

    python benchmarks/bench_train.py [--images ../shared/data/train] [--steps 12] [--threads 2]

Needs the export extra (PyTorch). Settings: float32; bf16 autocast (AVX-512 BF16); bf16 with
channels-last tensors; bf16 with torch.compile; and the crop/batch schedules (pixels per
step held or halved) under bf16.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from edgesdk_export.models import PRESETS, ImageCodecModel
from edgesdk_export.train import LAMBDAS, batch_loss, find_images, load_images, sample_batch

ROOT = Path(__file__).resolve().parents[1]


def _settings() -> list[tuple[str, dict]]:
    return [
        ("float32, batch 8 × 256²", {"amp": False, "batch": 8, "crop": 256}),
        ("bf16 autocast, batch 8 × 256²", {"amp": True, "batch": 8, "crop": 256}),
        ("bf16 + channels-last, batch 8 × 256²", {"amp": True, "batch": 8, "crop": 256, "channels_last": True}),
        ("bf16 + torch.compile, batch 8 × 256²", {"amp": True, "batch": 8, "crop": 256, "compile": True}),
        ("bf16 autocast, batch 32 × 128²", {"amp": True, "batch": 32, "crop": 128}),
        ("bf16 autocast, batch 4 × 256²", {"amp": True, "batch": 4, "crop": 256}),
        ("bf16 autocast, batch 16 × 256²", {"amp": True, "batch": 16, "crop": 256}),
    ]


def time_setting(images: list[np.ndarray], steps: int, amp: bool, batch: int, crop: int,
                 channels_last: bool = False, compile: bool = False) -> list[float]:
    """Seconds of each of ``steps`` training steps (after two warm-up steps) in one setting."""
    torch.manual_seed(0)
    config = PRESETS["wavelet"]
    model = ImageCodecModel(config)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    lambdas = torch.tensor([LAMBDAS[q] for q in config.rate_qualities])
    optimizer = torch.optim.Adam(model.parameter_groups(2e-4, 10.0), lr=2e-4)
    forward = torch.compile(model) if compile else model
    rng = np.random.default_rng(0)
    model.train()
    times = []
    for index in range(steps + 2):
        start = time.perf_counter()
        x = sample_batch(images, rng, batch, crop).float().div_(255.0)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        rate_level = torch.from_numpy(rng.integers(len(lambdas), size=batch))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            out = forward(x, rate_level)
        loss, _ = batch_loss(out, x, None, lambdas, rate_level)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if index >= 2:
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    parser.add_argument("--count", type=int, default=32, help="training photographs to crop from")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per setting")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="settings whose name contains one of these words")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    images = load_images(find_images(args.images)[:args.count], 256, 1024, 2048, args.threads, 0)
    print(f"wavelet preset, {args.threads} threads, {args.steps} timed steps per setting, "
          f"torch {torch.__version__}; median seconds per step")
    baseline = baseline_name = None
    for name, setting in _settings():
        if args.only and not any(word in name for word in args.only):
            continue
        try:
            seconds = statistics.median(time_setting(images, args.steps, **setting))
        except Exception as error:  # torch.compile needs a C++ compiler; say so, keep going
            print(f"  {name:40s} failed: {type(error).__name__}: {str(error).splitlines()[0][:100]}")
            continue
        pixels = setting["batch"] * setting["crop"] ** 2 / seconds
        if baseline is None:
            baseline, baseline_name = pixels, name.split(",")[0]
        print(f"  {name:40s} {seconds:6.3f} s  {1 / seconds:5.2f} steps/s  {pixels / 1e6:5.2f} Mpixel/s  "
              f"{pixels / baseline:4.2f}× {baseline_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
