"""``edgesdk demo``: the shipped model on the shipped sample photograph, on the CPU. Encodes
and decodes it at every quality level, prints size, bpp, PSNR and times; then, at the default
quality's size, JPEG and WebP of the same photograph at the same number of bytes (or just
under), whichever wins, and writes the four pictures side by side as a PNG."""

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


def at_most_bytes(image: np.ndarray, budget: int, fmt: str) -> tuple[bytes, int] | None:
    """The largest ``fmt`` (JPEG or WEBP) encoding of ``image`` not above ``budget`` bytes, and
    its quality setting; None when even quality 1 is larger."""
    import io

    from PIL import Image

    picture = Image.fromarray(image)

    def encoded(quality: int) -> bytes:
        buffer = io.BytesIO()
        picture.save(buffer, fmt, quality=quality)
        return buffer.getvalue()

    best = None
    low, high = 1, 100
    while low <= high:
        middle = (low + high) // 2
        data = encoded(middle)
        if len(data) <= budget:
            best, low = (data, middle), middle + 1
        else:
            high = middle - 1
    return best


def _decode_picture(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


def labelled_grid(panels: list[tuple[str, np.ndarray]], gap: int = 8, label_height: int = 20) -> np.ndarray:
    """Panels in a row, each with its label above it, on white."""
    from PIL import Image, ImageDraw

    height = max(p.shape[0] for _, p in panels) + label_height
    width = sum(p.shape[1] for _, p in panels) + gap * (len(panels) - 1)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for label, pixels in panels:
        canvas.paste(Image.fromarray(pixels), (x, label_height))
        draw.text((x + 4, 4), label, fill="black")
        x += pixels.shape[1] + gap
    return np.asarray(canvas)


def run_demo(out_dir: str | Path = "edgesdk-demo", backend: str = "onnxruntime", image: str | Path | None = None,
             log=print) -> dict:
    """Runs the demo; returns the measured rows, the same-size comparison and the written paths.
    The output folder is checked (created) before any work."""
    from PIL import Image

    from edgesdk.cli.common import check_writable_folder, write_atomically

    path = Path(image) if image else SAMPLE_IMAGE
    out = Path(out_dir)
    check_writable_folder(out, create=True)
    original = load_image(path)
    height, width = original.shape[:2]
    rows = []
    with ImageCodec(backend=backend) as codec:
        log(f"model: {codec.model.name} (bundle {codec.model.bundle_id[:12]}…), backend {backend}, "
            f"image {path.name} {width}x{height}")
        log(f"{'quality':>7} {'bytes':>8} {'bpp':>6} {'PSNR dB':>8} {'encode ms':>10} {'decode ms':>10}")
        codec.decode(codec.encode(original[:64, :64]))  # loads the graphs: not part of the timings
        decoded_default = data_default = None
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
                decoded_default, data_default = decoded, data
                write_atomically(out / f"{path.stem}.q{quality}.eli", data)
    budget = len(data_default)
    ours = psnr(original, decoded_default)
    comparison = [{"codec": f"edgesdk q{codec.quality}", "bytes": budget, "psnr": ours}]
    panels = [("original", original), (f"edgesdk q{codec.quality}: {budget} B, {ours:.2f} dB", decoded_default)]
    for name, fmt in (("JPEG", "JPEG"), ("WebP", "WEBP")):
        found = at_most_bytes(original, budget, fmt)
        if found is None:
            log(f"{name}: cannot reach {budget} bytes even at quality 1")
            continue
        data, setting = found
        pixels = _decode_picture(data)
        comparison.append({"codec": f"{name} q{setting}", "bytes": len(data), "psnr": psnr(original, pixels)})
        panels.append((f"{name} q{setting}: {len(data)} B, {comparison[-1]['psnr']:.2f} dB", pixels))
    log(f"at the same size (at most {budget} bytes, {8 * budget / (height * width):.3f} bpp):")
    best = max(comparison, key=lambda row: row["psnr"])
    for row in comparison:
        mark = "  <- best PSNR" if row is best else ""
        log(f"  {row['codec']:<14} {row['bytes']:>8} bytes {8 * row['bytes'] / (height * width):6.3f} bpp "
            f"{row['psnr']:8.2f} dB{mark}")
    picture = out / f"{path.stem}.comparison.png"
    import io

    buffer = io.BytesIO()
    Image.fromarray(labelled_grid(panels)).save(buffer, "PNG")
    write_atomically(picture, buffer.getvalue())
    log(f"wrote {picture} (original, ours at quality {codec.quality}, then JPEG and WebP at the same size)")
    return {"rows": rows, "comparison": comparison, "picture": picture, "side_by_side": picture}
