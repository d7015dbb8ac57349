"""Training a search feature identifier (docs/latent-search.md): pairs (parsed latent ŷ,
labels measured on the pixels the generator makes from it), a small network trained on
them in float, then quantized to an integer network (EINT) that runs on the integer latent.

``python -m edgesdk_export.search data FOLDER... --out pairs.npz`` builds the pairs;
``python -m edgesdk_export.search train pairs.npz --out identifier.eint`` trains one (and writes
``identifier.json``, its manifest entry); ``python -m edgesdk_export.search attach BUNDLE
identifier.eint --quality 2 --out NEW.edgesdk [--sign-key KEY]`` puts it into a copy of a bundle.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from edgesdk.search.identifier import IDENTIFIER_INPUT_SCALE, latent_input
from edgesdk.search.labels import COMPONENTS, pixel_labels

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}


def image_files(folders: list[str], limit: int | None = None, seed: int = 0) -> list[Path]:
    """The image files under ``folders`` (recursively), sorted, then a seeded sample of ``limit``."""
    files = sorted(p for folder in folders for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if limit is not None and limit < len(files):
        chosen = np.random.default_rng(seed).choice(len(files), limit, replace=False)
        files = [files[i] for i in sorted(chosen)]
    return files


def latent_pairs(codec, images, quality: int | None = None) -> dict[str, np.ndarray]:
    """For each HxWx3 uint8 image: the identifier's integer input (int8 [M, h, w], flattened
    into ``inputs`` with ``shapes``) and the labels of the decoded pixels."""
    inputs, shapes, labels = [], [], []
    low = codec.codec(quality)
    for pixels in images:
        frame, y_hat = low.decode_latent(low.encode(pixels))
        decoded = codec.decode(frame.to_bytes())
        x = latent_input(y_hat, frame.height, frame.width)
        inputs.append(x.reshape(-1))
        shapes.append(x.shape)
        labels.append(pixel_labels(decoded))
    return {"inputs": np.concatenate(inputs), "shapes": np.array(shapes, np.int64), "labels": np.array(labels)}


def _data_main(args: argparse.Namespace) -> int:
    from edgesdk.codecs.image.codec import ImageCodec, load_image

    files = image_files(args.folders, args.limit)
    start = time.perf_counter()
    with ImageCodec(args.model, quality=args.quality, threads=args.threads) as codec:
        pairs = latent_pairs(codec, (load_image(f) for f in files), args.quality)
    np.savez(args.out, **pairs, quality=np.array(codec.quality), files=np.array([str(f) for f in files]))
    faces = int(np.sum(pairs["labels"][:, COMPONENTS.index("face")]))
    print(f"{len(files)} images ({faces} with a face) in {time.perf_counter() - start:.0f} s -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``data`` builds pairs, ``train`` trains and writes an identifier."""
    parser = argparse.ArgumentParser(prog="python -m edgesdk_export.search")
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="encode, decode and label training images")
    data.add_argument("folders", nargs="+")
    data.add_argument("--out", required=True)
    data.add_argument("--model")
    data.add_argument("--quality", type=int)
    data.add_argument("--limit", type=int)
    data.add_argument("--threads", type=int, default=1)
    data.set_defaults(run=_data_main)
    train = commands.add_parser("train", help="train an identifier on pairs")
    train.add_argument("pairs")
    train.add_argument("--out", required=True)
    train.add_argument("--steps", type=int, default=1500)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--hidden", type=int, default=32, help="channels of the hidden layers")
    train.set_defaults(run=_train_main)
    attach = commands.add_parser("attach", help="copy a bundle with an identifier added")
    attach.add_argument("bundle")
    attach.add_argument("identifier", help="EINT file; its manifest entry is the .json beside it")
    attach.add_argument("--quality", type=int, required=True)
    attach.add_argument("--out", required=True)
    attach.add_argument("--sign-key", help="private key to sign the new bundle with (else it is unsigned)")
    attach.add_argument("--overwrite", action="store_true")
    attach.set_defaults(run=_attach_main)
    args = parser.parse_args(argv)
    return args.run(args)


def _train_main(args: argparse.Namespace) -> int:
    from edgesdk_export.search_train import train_identifier

    pairs = dict(np.load(args.pairs))
    blob, meta, report = train_identifier(pairs, steps=args.steps, seed=args.seed, hidden=args.hidden)
    Path(args.out).write_bytes(blob)
    Path(args.out).with_suffix(".json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    print(json.dumps(report, indent=1))
    return 0


def _attach_main(args: argparse.Namespace) -> int:
    from edgesdk.search.identifier import attach_identifier

    key = None
    if args.sign_key:
        from edgesdk.security.keys import load_private_key

        key = load_private_key(args.sign_key)
    blob = Path(args.identifier).read_bytes()
    entry = json.loads(Path(args.identifier).with_suffix(".json").read_text())
    out = attach_identifier(args.bundle, args.out, args.quality, blob, entry, signing_key=key, overwrite=args.overwrite)
    print(f"{out}: identifier for quality {args.quality} ({len(blob)} bytes){', signed' if key else ', unsigned'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
