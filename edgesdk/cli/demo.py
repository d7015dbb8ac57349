"""``edgesdk demo``: the shipped model on the shipped sample photograph, on the CPU. Encodes
and decodes it at every quality level, prints size, bpp, PSNR and times, and writes the
original beside the decoded image (default quality) as a PNG."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edgesdk.eval.metrics import psnr
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import SAMPLE_IMAGE, load_image


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 8) -> np.ndarray:
    """``left`` and ``right`` next to each other on white, ``gap`` pixels apart."""
    height = max(left.shape[0], right.shape[0])
    canvas = np.full((height, left.shape[1] + gap + right.shape[1], 3), 255, np.uint8)
    canvas[: left.shape[0], : left.shape[1]] = left
    canvas[: right.shape[0], left.shape[1] + gap :] = right
    return canvas


def run_demo(out_dir: str | Path = "edgesdk-demo", backend: str = "onnxruntime", image: str | Path | None = None,
             log=print) -> dict:
    """Runs the demo; returns the measured rows and the written paths."""
    from PIL import Image

    path = Path(image) if image else SAMPLE_IMAGE
    original = load_image(path)
    height, width = original.shape[:2]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with ImageCodec(backend=backend) as codec:
        log(f"model: {codec.model.name} (bundle {codec.model.bundle_id[:12]}…), backend {backend}, "
            f"image {path.name} {width}x{height}")
        log(f"{'quality':>7} {'bytes':>8} {'bpp':>6} {'PSNR dB':>8} {'encode ms':>10} {'decode ms':>10}")
        codec.decode(codec.encode(original[:64, :64]))  # loads the graphs: not part of the timings
        decoded_default = None
        for quality in codec.model.qualities:
            start = time.perf_counter()
            data = codec.encode(original, quality)
            encoded = time.perf_counter()
            decoded = codec.decode(data)
            done = time.perf_counter()
            row = {"quality": quality, "bytes": len(data), "bpp": 8 * len(data) / (height * width),
                   "psnr": psnr(original, decoded), "encode_ms": (encoded - start) * 1e3,
                   "decode_ms": (done - encoded) * 1e3}
            rows.append(row)
            log(f"{quality:>7} {row['bytes']:>8} {row['bpp']:6.3f} {row['psnr']:8.2f} {row['encode_ms']:10.0f} "
                f"{row['decode_ms']:10.0f}")
            if quality == codec.quality:
                decoded_default = decoded
                (out / f"{path.stem}.q{quality}.eli").write_bytes(data)
        picture = out / f"{path.stem}.side-by-side.png"
        Image.fromarray(side_by_side(original, decoded_default)).save(picture)
    log(f"wrote {picture} (left: original, right: decoded at quality {codec.quality})")
    return {"rows": rows, "side_by_side": picture}
