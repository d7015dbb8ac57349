"""Fits the learned part of the geometric transformation identifiers (docs/latent-edit.md):
for hflip, rot90 (1, 2, 3 turns) and downscale (2, 4), a per-cell linear map of latent
channels such that map(structural transform of ŷ(x)) ≈ ŷ(pixel transform of x), by least
squares over training images (never Kodak), then quantized to a 1×1 integer network (EINT)
whose output is 16·ŷ'; for brightness, the constant latent (integer sixteenths per channel)
that adding 24 levels to every pixel adds to ŷ on average; for colour, the same for 24 levels
added to the red, the green and the blue channel alone; for contrast, the latent of a flat
mid-grey picture (level 128), about which ``contrast=F`` scales ŷ.

    python -m edgesdk_export.edit_fit FOLDER... --quality 2 --images 40 --out DIR
    python -m edgesdk_export.edit_fit FOLDER... --only offsets --out DIR   # refits edit.json's offsets only
    python -m edgesdk_export.edit_fit --attach DIR --bundle BUNDLE --quality 2 --out NEW.edgesdk [--sign-key KEY]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from edgesdk.edit.transforms import Latents, Transform, apply
from edgesdk.search.identifier import IDENTIFIER_INPUT_SCALE, INPUT_LIMIT
from edgesdk_export.intnet import INT8_MAX, IntConv, IntNetworkSpec
from edgesdk_export.search import image_files

CROP = 256  # training crops: 256×256, on every grid the transforms need
# map name: (structural transform, pixel transform of an HxWx3 crop)
MAPS = {
    "hflip": (Transform("hflip"), lambda x: x[:, ::-1]),
    "rot90": (Transform("rot90", (1,)), lambda x: np.rot90(x, 1)),
    "rot180": (Transform("rot90", (2,)), lambda x: np.rot90(x, 2)),
    "rot270": (Transform("rot90", (3,)), lambda x: np.rot90(x, 3)),
    "downscale2": (Transform("downscale", (2,)), lambda x: box_downscale(x, 2)),
    "downscale4": (Transform("downscale", (4,)), lambda x: box_downscale(x, 4)),
}


def box_downscale(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Mean of factor×factor pixel blocks, rounded (sides divisible by factor)."""
    h, w, c = pixels.shape
    blocks = pixels.reshape(h // factor, factor, w // factor, factor, c).astype(np.float64)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def fit_maps(codec, images: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Least-squares channel maps A (ŷ' = A^T·ŷ per cell, float64 [M, M]) for every map of MAPS."""
    from edgesdk.edit.recode import read_latents

    pairs: dict[str, tuple[list, list]] = {name: ([], []) for name in MAPS}
    for pixels in images:
        _, source = read_latents(codec, codec.encode(pixels))
        for name, (transform, pixel_transform) in MAPS.items():
            moved = apply(transform, source)
            _, target = read_latents(codec, codec.encode(np.ascontiguousarray(pixel_transform(pixels))))
            m = moved.q.shape[0]
            pairs[name][0].append(moved.q.reshape(m, -1).T / 16.0)
            pairs[name][1].append(target.q.reshape(m, -1).T / 16.0)
    return {name: np.linalg.lstsq(np.concatenate(x), np.concatenate(y), rcond=None)[0]
            for name, (x, y) in pairs.items()}


BRIGHTNESS_LEVELS = 24  # the brightness latent is fitted for +24 levels of every pixel


def fit_brightness(codec, images: list[np.ndarray], channel: int | None = None) -> list[int]:
    """The mean change of 16·ŷ per latent channel when every pixel gains BRIGHTNESS_LEVELS
    (clipped) in every RGB channel, or in ``channel`` (0, 1, 2) alone."""
    from edgesdk.edit.recode import read_latents

    added = np.zeros(3, np.int32)
    added[slice(None) if channel is None else channel] = BRIGHTNESS_LEVELS
    deltas = []
    for pixels in images:
        brighter = np.clip(pixels.astype(np.int32) + added, 0, 255).astype(np.uint8)
        _, before = read_latents(codec, codec.encode(pixels))
        _, after = read_latents(codec, codec.encode(brighter))
        deltas.append((after.q - before.q).reshape(after.q.shape[0], -1).mean(axis=1))
    return [int(v) for v in np.rint(np.mean(deltas, axis=0))]


COLOUR_CHANNELS = ("red", "green", "blue")
GREY_LEVEL = 128  # contrast pivots about the latent of a flat picture at this level


def fit_colour(codec, images: list[np.ndarray]) -> dict[str, list[int]]:
    """Per RGB channel (``red``, ``green``, ``blue``): the mean change of 16·ŷ per latent
    channel when that channel alone gains BRIGHTNESS_LEVELS (clipped)."""
    return {name: fit_brightness(codec, images, channel) for channel, name in enumerate(COLOUR_CHANNELS)}


def fit_grey(codec, side: int = CROP) -> list[int]:
    """16·ŷ of a flat picture at GREY_LEVEL, per channel (the median over its cells, so the
    cells at the border, which see the padding, do not count)."""
    from edgesdk.edit.recode import read_latents

    _, flat = read_latents(codec, codec.encode(np.full((side, side, 3), GREY_LEVEL, np.uint8)))
    return [int(v) for v in np.rint(np.median(flat.q.reshape(flat.q.shape[0], -1), axis=1))]


def fit_offsets(codec, images: list[np.ndarray]) -> dict[str, dict]:
    """Every constant latent of edit.json's ``offsets``: brightness, red, green, blue, grey."""
    offsets = {"brightness": {"levels": BRIGHTNESS_LEVELS, "values": fit_brightness(codec, images)}}
    for name, values in fit_colour(codec, images).items():
        offsets[name] = {"levels": BRIGHTNESS_LEVELS, "values": values}
    offsets["grey"] = {"levels": GREY_LEVEL, "values": fit_grey(codec)}
    return offsets


def to_network(matrix: np.ndarray) -> IntNetworkSpec:
    """The 1×1 integer conv computing 16·(A^T·ŷ) from the int8 input round(4·ŷ)."""
    weight = matrix.T  # [out, in]
    scale = np.abs(weight).max(axis=1).clip(1e-12) / INT8_MAX
    code = np.clip(np.rint(weight / scale[:, None]), -INT8_MAX, INT8_MAX)
    # acc · scale / IDENTIFIER_INPUT_SCALE = ŷ'; the output is 16·ŷ': ratio = 16 · scale / 4
    ratio = 16.0 * scale / IDENTIFIER_INPUT_SCALE
    exponent = np.frexp(ratio)[1]
    shift = np.clip(30 - exponent, 0, 62)
    multiplier = np.rint(np.ldexp(ratio, shift)).astype(np.int64)
    conv = IntConv(weight=code[:, :, None, None].astype(np.int8), bias=np.zeros(len(code), np.int32),
                   multiplier=multiplier.astype(np.int32), shift=shift.astype(np.uint8))
    spec = IntNetworkSpec(weight.shape[1], -INPUT_LIMIT, INPUT_LIMIT, [conv])
    spec.validate()
    return spec


def main(argv: list[str] | None = None) -> int:
    """Fits the maps on training images and writes DIR/<name>.eint and DIR/edit.json."""
    from edgesdk.codecs.image.codec import ImageCodec, load_image

    parser = argparse.ArgumentParser(prog="python -m edgesdk_export.edit_fit")
    parser.add_argument("folders", nargs="*")
    parser.add_argument("--attach", help="a folder of fitted maps to add to --bundle (writes --out)")
    parser.add_argument("--bundle")
    parser.add_argument("--sign-key")
    parser.add_argument("--out", required=True)
    parser.add_argument("--model")
    parser.add_argument("--quality", type=int, default=2)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--only", choices=("all", "offsets"), default="all",
                        help="offsets: refit the constant latents only, keeping DIR's maps and edit.json's maps")
    args = parser.parse_args(argv)
    if args.attach:
        return _attach(args)
    images = [load_image(f)[:CROP, :CROP] for f in image_files(args.folders, args.images)]
    images = [np.ascontiguousarray(x) for x in images if x.shape[:2] == (CROP, CROP)]
    out = Path(args.out)
    facts = {"maps": [], "training": {"images": len(images), "crop": CROP, "quality": args.quality}}
    if args.only == "offsets":
        facts = json.loads((out / "edit.json").read_text())  # the maps stay as they are
        if facts["training"] != {"images": len(images), "crop": CROP, "quality": args.quality}:
            raise SystemExit(f"{out}/edit.json was fitted on {facts['training']}; give the same --images and --quality")
    with ImageCodec(args.model, quality=args.quality) as codec:
        maps = fit_maps(codec, images) if args.only == "all" else {}
        facts["offsets"] = fit_offsets(codec, images)
    out.mkdir(parents=True, exist_ok=True)
    for name, matrix in maps.items():
        (out / f"{name}.eint").write_bytes(to_network(matrix).to_blob())
    facts["maps"] = sorted(maps) or facts["maps"]
    temporary = out / "edit.json.tmp"
    temporary.write_text(json.dumps(facts, indent=1) + "\n")
    temporary.replace(out / "edit.json")
    print(f"{len(maps)} maps and {len(facts['offsets'])} constant latents from {len(images)} images -> {out}")
    return 0


def _attach(args: argparse.Namespace) -> int:
    """Adds the maps of folder ``args.attach`` to a copy of ``args.bundle``."""
    from edgesdk.edit.maps import attach_edit_maps

    key = None
    if args.sign_key:
        from edgesdk.security.keys import load_private_key

        key = load_private_key(args.sign_key)
    out = attach_edit_maps(args.bundle, args.out, int(args.quality), args.attach, signing_key=key)
    print(f"{out}: edit maps of {args.attach} for quality {args.quality}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
