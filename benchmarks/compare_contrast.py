"""The design comparison behind ``contrast=F`` (docs/latent-edit.md, "Contrast"): on BSDS500
crops held out of a fit, PSNR against the pixel edit ``128 + F·(x − 128)`` of

* ``none``: the unedited latent;
* ``map``: a least-squares 1×1 affine channel map fitted at F = 2 and at F = 0.5 (float),
  interpolated linearly in F between the identity and the map on the same side of 1;
* ``grey``: ŷ scaled by F about the latent of a flat mid-grey picture (what ships);
* ``ceiling``: the pixel-edited crop encoded (what a re-encode gives at the codec's rate).

Each latent is decoded directly (float, no re-coding), so this compares the methods, not rates.

    python benchmarks/compare_contrast.py [--fit 36] [--test 6] [--quality 2]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

TRAIN = "/work/shared/data/train/BSDS500"
CROP = 256


def contrast(pixels: np.ndarray, factor: float) -> np.ndarray:
    """128 + F·(x − 128), rounded, clipped."""
    return np.clip(np.rint(128 + factor * (pixels.astype(np.float64) - 128)), 0, 255).astype(np.uint8)


def run(args: argparse.Namespace) -> dict:
    """The mean PSNR of every method at F = 2, 1.5, 0.75, 0.5 on the held-out crops."""
    from edgesdk.codecs.image.codec import ImageCodec, load_image
    from edgesdk.codecs.image.tiles import to_pixels
    from edgesdk.edit.recode import read_latents
    from edgesdk.eval.metrics import psnr
    from edgesdk_export.search import image_files

    crops = [np.ascontiguousarray(load_image(f)[:CROP, :CROP]) for f in image_files([TRAIN], 48)]
    crops = [x for x in crops if x.shape[:2] == (CROP, CROP)]
    train, test = crops[:args.fit], crops[args.fit:args.fit + args.test]
    with ImageCodec(quality=args.quality) as codec:
        def latent(pixels):
            return read_latents(codec, codec.encode(pixels))[1].q / 16.0

        def pixels_of(y_hat):
            return to_pixels(codec.synthesize(args.quality, y_hat[None].astype(np.float32)))[:CROP, :CROP]

        maps = {}
        for reference in (2.0, 0.5):
            x, y = [], []
            for crop in train:
                before, after = latent(crop), latent(contrast(crop, reference))
                x.append(before.reshape(before.shape[0], -1).T)
                y.append(after.reshape(after.shape[0], -1).T)
            x = np.concatenate(x)
            maps[reference] = np.linalg.lstsq(np.hstack([x, np.ones((len(x), 1))]), np.concatenate(y), rcond=None)[0]
        grey = latent(np.full((CROP, CROP, 3), 128, np.uint8))[:, 0, 0][:, None, None]
        report = {}
        for factor in (2.0, 1.5, 0.75, 0.5):
            scores: dict[str, list[float]] = {}
            reference = 2.0 if factor > 1 else 0.5
            for crop in test:
                target, y_hat = contrast(crop, factor), latent(crop)
                flat = np.hstack([y_hat.reshape(y_hat.shape[0], -1).T, np.ones((y_hat[0].size, 1))])
                mapped = (flat @ maps[reference]).T.reshape(y_hat.shape)
                step = (factor - 1) / (reference - 1)
                for name, edited in (("none", y_hat), ("map", y_hat + step * (mapped - y_hat)),
                                     ("grey", grey + factor * (y_hat - grey)), ("ceiling", latent(target))):
                    scores.setdefault(name, []).append(psnr(target, pixels_of(edited)))
            report[str(factor)] = {name: round(float(np.mean(v)), 2) for name, v in scores.items()}
    return report


def main(argv: list[str] | None = None) -> int:
    """Runs the comparison and prints JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=int, default=36, help="crops the maps are fitted on")
    parser.add_argument("--test", type=int, default=6, help="held-out crops scored")
    parser.add_argument("--quality", type=int, default=2)
    print(json.dumps(run(parser.parse_args(argv)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
