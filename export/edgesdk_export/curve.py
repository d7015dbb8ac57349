"""Learning-curve point of a checkpoint: ``python -m edgesdk_export.curve CKPT --images DIR``.

Runs the PyTorch model in eval mode (actual rounding) on every image of a folder at every rate
level, and prints one JSON line: per level the mean bpp (from the entropy model's likelihoods
of the rounded latents: the integer tables spend within about 1% of it) and mean RGB PSNR, and
the BD-rate against Pillow WebP on the same images (cached in ``--cache``). For tracking
training only; bundles are measured from real bitstreams by ``edgesdk eval``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from edgesdk.eval import bd_rate, load_images, pillow_codec_points, psnr
from edgesdk_export.models import pad_to_multiple, unpad
from edgesdk_export.train import load_model

WEBP_QUALITIES = tuple(range(5, 100, 5))


def webp_curve(images: list[tuple[str, np.ndarray]], cache: Path | None) -> dict:
    if cache is not None and cache.exists():
        return json.loads(cache.read_text())
    points = pillow_codec_points(images, "webp", WEBP_QUALITIES)
    curve = {"bpp": [p["bpp"] for p in points], "psnr": [p["psnr"] for p in points]}
    if cache is not None:
        cache.write_text(json.dumps(curve))
    return curve


@torch.no_grad()
def measure(model, images: list[tuple[str, np.ndarray]]) -> list[dict]:
    """Per rate level: mean bpp and PSNR over ``images``."""
    results = []
    for level in range(model.rate_levels):
        model.select_rate_level(level)
        bpps, psnrs = [], []
        for _, image in images:
            x = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
            padded, padding = pad_to_multiple(x)
            out = model(padded)
            x_hat = unpad(out["x_hat"], padding).clamp(0, 1)
            decoded = (x_hat[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
            bpps.append(float(out["bits"].sum()) / (image.shape[0] * image.shape[1]))
            psnrs.append(psnr(image, decoded))
        results.append({"level": level, "bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgesdk_export.curve", description=__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--cache", type=Path, help="JSON file caching the WebP curve of these images")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, meta = load_model(args.checkpoint)
    images = load_images(args.images)
    start = time.monotonic()
    levels = measure(model, images)
    webp = webp_curve(images, args.cache)
    record = {"step": meta["step"], "elapsed_s": round(meta["elapsed_s"], 1), "levels": levels,
              "eval_s": round(time.monotonic() - start, 1)}
    if len(levels) > 1:
        record["bd_rate_vs_webp"] = round(bd_rate(webp["bpp"], webp["psnr"], [p["bpp"] for p in levels],
                                                  [p["psnr"] for p in levels]), 2)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
