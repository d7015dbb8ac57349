"""Edits in latent space (docs/latent-edit.md).

For each transform of TRANSFORMS on Kodak images coded at --quality: the latent route
(``edit_frame``: parse, transform the integers, re-code; then decode) against the pixel route
(decode, transform the pixels, re-encode, decode), both scored by PSNR against the transform
applied to the original image. "At equal bits": the pixel route is re-encoded at every quality
of the model and its PSNR interpolated (linearly in log bits) at the latent route's bits per
pixel. Time per frame: ``edit_frame`` against decode + pixel edit + encode at the same quality
(medians, same process). Redaction: the correlation between the decoded rectangle's luma
and the original's, and their standard deviations (texture left).

    python benchmarks/bench_edit.py [--model BUNDLE] [--quality 2] [--images 8] [--only NAME ...] [--json]

(the shipped default model carries every map and constant latent at quality 2; ``--only``
runs the named rows of TRANSFORMS alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from edgesdk.eval.metrics import psnr

KODAK = Path("/work/shared/data/kodak")
REDACT = (256, 128, 256, 256)  # x, y, w, h (on the 64 grid; a 768x512 picture)


def _box(pixels: np.ndarray, factor: int) -> np.ndarray:
    h, w, c = pixels.shape
    return np.rint(pixels.reshape(h // factor, factor, w // factor, factor, c).mean(axis=(1, 3))).astype(np.uint8)


def _contrast(pixels: np.ndarray, factor: float) -> np.ndarray:
    """Contrast about mid-grey, as ``contrast=F`` means it: 128 + F·(x − 128), rounded, clipped."""
    return np.clip(np.rint(128 + factor * (pixels.astype(np.float64) - 128)), 0, 255).astype(np.uint8)


TRANSFORMS = {
    "hflip": lambda x: x[:, ::-1],
    "rot90": lambda x: np.rot90(x, 1),
    "crop=128,64,320,256": lambda x: x[64:320, 128:448],
    "downscale=2": lambda x: _box(x, 2),
    "downscale=4": lambda x: _box(x, 4),
    "brightness=24": lambda x: np.clip(x.astype(np.int32) + 24, 0, 255).astype(np.uint8),
    "colour=24,0,-24": lambda x: np.clip(x.astype(np.int32) + np.array([24, 0, -24]), 0, 255).astype(np.uint8),
    "contrast=1.5": lambda x: _contrast(x, 1.5),
    "contrast=0.75": lambda x: _contrast(x, 0.75),
}


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def _equal_bits_psnr(bpp: float, curve: list[tuple[float, float]]) -> tuple[float, bool]:
    """PSNR of the (bpp, psnr) curve at ``bpp``, linear in log bpp; clamped flag when outside."""
    curve = sorted(curve)
    rates, values = np.log([c[0] for c in curve]), [c[1] for c in curve]
    inside = rates[0] <= np.log(bpp) <= rates[-1]
    return float(np.interp(np.log(bpp), rates, values)), not inside


def run(args: argparse.Namespace) -> dict:
    from edgesdk.codecs.image.codec import ImageCodec, load_image
    from edgesdk.edit.recode import edit_frame
    from edgesdk.search.labels import luma

    files = sorted(KODAK.glob("kodim*.png"))[: args.images]
    unknown = set(args.only or ()) - set(TRANSFORMS)
    if unknown:
        raise SystemExit(f"--only: no rows {sorted(unknown)}; rows are {list(TRANSFORMS)}")
    chosen = {name: edit for name, edit in TRANSFORMS.items() if not args.only or name in args.only}
    rows: dict[str, list[dict]] = {name: [] for name in chosen}
    redaction = []
    with ImageCodec(args.model, quality=args.quality) as codec:
        qualities = codec.model.qualities
        for path in files:
            image = load_image(path)
            if image.shape[:2] != (512, 768):
                image = np.ascontiguousarray(np.rot90(image))  # portrait Kodak images, turned
            data = codec.encode(image)
            decoded = codec.decode(data)
            for name, pixel_edit in chosen.items():
                reference = np.ascontiguousarray(pixel_edit(image))
                edited, latent_s = _timed(lambda: edit_frame(codec, data, [name]))
                result = codec.decode(edited)
                bpp = 8 * len(edited) / (result.shape[0] * result.shape[1])
                curve = []
                for quality in qualities:
                    frame = codec.encode(np.ascontiguousarray(pixel_edit(decoded)), quality)
                    curve.append((8 * len(frame) / (reference.shape[0] * reference.shape[1]),
                                  psnr(reference, codec.decode(frame))))
                pixel_s = _timed(lambda: codec.encode(np.ascontiguousarray(pixel_edit(codec.decode(data)))))[1]
                same, clamped = _equal_bits_psnr(bpp, curve)
                rows[name].append({"latent_psnr": psnr(reference, result), "bpp": bpp, "pixel_psnr_equal_bits": same,
                                   "clamped": clamped, "latent_s": latent_s, "pixel_s": pixel_s})
            x, y, w, h = REDACT
            redacted = codec.decode(edit_frame(codec, data, [f"redact={x},{y},{w},{h}"]))
            inside, original = luma(redacted[y:y + h, x:x + w]), luma(image[y:y + h, x:x + w])
            redaction.append({"correlation": float(np.corrcoef(inside.ravel(), original.ravel())[0, 1]),
                              "std_redacted": float(inside.std()), "std_original": float(original.std())})
    report = {"images": len(files), "quality": args.quality, "transforms": {}}
    for name, items in rows.items():
        median = {key: statistics.median(item[key] for item in items)
                  for key in ("latent_psnr", "pixel_psnr_equal_bits", "bpp", "latent_s", "pixel_s")}
        report["transforms"][name] = {
            "latent_psnr": round(float(np.mean([i["latent_psnr"] for i in items])), 2),
            "pixel_psnr_equal_bits": round(float(np.mean([i["pixel_psnr_equal_bits"] for i in items])), 2),
            "bpp": round(float(np.mean([i["bpp"] for i in items])), 3),
            "outside_pixel_curve": sum(i["clamped"] for i in items),
            "latent_ms": round(1e3 * median["latent_s"], 1), "pixel_ms": round(1e3 * median["pixel_s"], 1),
            "speedup": round(median["pixel_s"] / median["latent_s"], 1)}
    report["redaction"] = {key: round(float(np.mean([r[key] for r in redaction])), 3) for key in redaction[0]}
    report["redaction"]["max_abs_correlation"] = round(max(abs(r["correlation"]) for r in redaction), 3)
    return report


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lite", help="bundle with edit data (default: the shipped lite model)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="rows of TRANSFORMS to run (default: all)")
    parser.add_argument("--quality", type=int, default=2)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(args), indent=1 if args.json else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
