"""What coding latent cells over padding alone as the predicted mean saves (``shown_cells``).

    python benchmarks/bench_padding.py FOLDER [--model wavelet] [--max-pixels 1210000]

For every image of FOLDER at every quality of the model: the frame the encoder writes (cells
beyond the image and one ring coded as symbol 0) against the same latents coded in full, both
decoded by the same decoder; mean bpp (from the frame bytes) and RGB PSNR per quality, and the
BD-rate of the first against the second. Images whose sides are multiples of 64 have no such
cells and weigh in unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from edgesdk.bitstream.container import Frame, Section, SectionKind
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.eval.bdrate import bd_rate
from edgesdk.eval.metrics import psnr
from edgesdk.media.images import read_image


def coded_in_full(codec, image: np.ndarray) -> bytes:
    """The frame of ``image`` with every latent cell coded as the compressor gave it."""
    header, y, z = codec.analyze_image(image)
    hyper, latent = codec.entropy_model.encode(y, z)
    return Frame(width=header.width, height=header.height, frame_type=header.frame_type, quality=header.quality,
                 model_id=header.model_id, parameters=header.parameters,
                 sections=(Section(SectionKind.HYPER_LATENT, hyper), Section(SectionKind.LATENT, latent))).to_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default="wavelet")
    parser.add_argument("--max-pixels", type=int, default=1_210_000, help="skip larger images (time)")
    args = parser.parse_args()
    images = [read_image(p) for p in sorted(args.folder.iterdir()) if p.is_file()]
    images = [im for im in images if im.shape[0] * im.shape[1] <= args.max_pixels]
    image_codec = ImageCodec(args.model, backend="onnxruntime", precision="fp32")
    curves = {"shown cells": [], "in full": []}
    for quality in image_codec.model.qualities:
        codec = image_codec.codec(quality)
        points = {name: [] for name in curves}
        for image in images:
            pixels = image.shape[0] * image.shape[1]
            for name, data in (("shown cells", codec.encode(image)), ("in full", coded_in_full(codec, image))):
                points[name].append((8 * len(data) / pixels, psnr(image, codec.decode(data))))
        for name, values in points.items():
            bpp, db = np.mean(values, axis=0)
            curves[name].append((bpp, db))
            print(f"quality {quality}  {name:11s}  {bpp:.4f} bpp  {db:.3f} dB")
    ours, full = np.array(curves["shown cells"]), np.array(curves["in full"])
    print(f"{len(images)} images; BD-rate of shown cells against in full: "
          f"{bd_rate(full[:, 0], full[:, 1], ours[:, 0], ours[:, 1]):+.2f}%")


if __name__ == "__main__":
    main()
