"""Image folders and the Pillow anchors (JPEG, WebP, AVIF): evaluating any codec, or one of
Pillow's, over a set of images."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from edgesdk.errors import DependencyError, InvalidArgumentError, NotFoundError
from edgesdk.lazy import require
from edgesdk.eval.metrics import ms_ssim, psnr


_PILLOW_FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}


# --------------------------------------------------------------------- images, codecs


def load_images(folder: str | Path) -> list[tuple[str, np.ndarray]]:
    """All images in ``folder`` (sorted by file name) as ``(name, uint8 H x W x 3 RGB)``."""
    from edgesdk.media.images import IMAGE_EXTENSIONS, read_image

    folder = Path(folder)
    if not folder.is_dir():
        raise NotFoundError(f"{folder}: no such folder")
    out = [(path.name, read_image(path)) for path in sorted(folder.iterdir())
           if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()]
    if not out:
        raise NotFoundError(f"no images in {folder}")
    return out


def _as_image_list(images: Iterable[Any]) -> list[tuple[str, np.ndarray]]:
    out = []
    for i, item in enumerate(images):
        name, array = item if isinstance(item, tuple) else (f"image{i:03d}", item)
        array = np.asarray(array)
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise InvalidArgumentError(f"{name}: expected uint8 H x W x 3, got {array.dtype} {array.shape}")
        out.append((name, array))
    if not out:
        raise InvalidArgumentError("no images")
    return out


def pillow_codecs() -> dict[str, bool]:
    """Which of jpeg / webp / avif the installed Pillow can encode."""
    from PIL import features

    feature = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}  # Pillow's feature names
    return {name: bool(features.check(key)) for name, key in feature.items()}


def _pillow_encoder(codec: str, quality: int, options: Mapping[str, Any]) -> Callable[[np.ndarray], bytes]:
    import io

    from PIL import Image

    fmt = _PILLOW_FORMATS[codec]

    def encode(array: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(array, "RGB").save(buf, format=fmt, quality=int(quality), **options)
        return buf.getvalue()

    return encode


def _pillow_decode(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def evaluate_codec(
    images: Iterable[Any],
    encode: Callable[[np.ndarray], bytes],
    decode: Callable[[bytes], np.ndarray],
    label: str,
    per_image: bool = False,
) -> dict:
    """One operating point of any codec given as callables.

    ``encode(uint8 H x W x 3) -> bytes``, ``decode(bytes) -> uint8 H x W x 3``. ``images``
    is a list of arrays or of ``(name, array)`` pairs (as from ``load_images``). Returns
    ``{"label", "bpp", "psnr", "ms_ssim", "n_images", "encode_s", "decode_s"}``: bpp,
    PSNR and MS-SSIM are means over images of per-image values; ``encode_s`` /
    ``decode_s`` are mean seconds per image (wall clock). With ``per_image=True`` the
    per-image values are added under ``"images"``.
    """
    items = _as_image_list(images)
    rows = []
    for name, array in items:
        t0 = time.perf_counter()
        data = bytes(encode(array))
        t1 = time.perf_counter()
        decoded = np.asarray(decode(data))
        t2 = time.perf_counter()
        if decoded.shape != array.shape or decoded.dtype != np.uint8:
            raise InvalidArgumentError(f"{label}: {name} decoded to {decoded.dtype} {decoded.shape}, expected uint8 {array.shape}")
        h, w = array.shape[:2]
        rows.append(
            {
                "name": name,
                "bytes": len(data),
                "bpp": 8.0 * len(data) / (h * w),
                "psnr": psnr(array, decoded),
                "ms_ssim": ms_ssim(array, decoded),
                "encode_s": t1 - t0,
                "decode_s": t2 - t1,
            }
        )
    result = {"label": label, "n_images": len(rows)}
    for key in ("bpp", "psnr", "ms_ssim", "encode_s", "decode_s"):
        result[key] = float(np.mean([row[key] for row in rows]))
    if per_image:
        result["images"] = rows
    return result


def pillow_codec_points(
    images: Iterable[Any],
    codec: str,
    qualities: Iterable[int],
    per_image: bool = False,
    **save_options: Any,
) -> list[dict]:
    """Rate-distortion points of a Pillow codec, one dict per quality.

    ``codec`` is ``"jpeg"``, ``"webp"`` or ``"avif"``; each image is saved with
    ``Image.save(buf, format=..., quality=q, **save_options)`` (Pillow defaults otherwise,
    as CompressAI's bench: JPEG 4:2:0, WebP method 4, AVIF 4:2:0 speed 6), decoded by
    Pillow, and measured as in ``evaluate_codec``. Each dict also has ``"codec"``,
    ``"quality"`` and ``"pillow"`` (version). Raises ``RuntimeError`` if the installed
    Pillow cannot encode the format (AVIF needs Pillow >= 11.3 built with libavif, or
    the ``pillow-avif-plugin`` package).
    """
    import PIL

    codec = codec.lower()
    if codec not in _PILLOW_FORMATS:
        raise InvalidArgumentError(f"unknown codec {codec!r}: use one of {sorted(_PILLOW_FORMATS)}")
    if codec == "avif" and not pillow_codecs()["avif"]:
        # the plugin registers AVIF on import
        require("pillow_avif", "this Pillow has no AVIF support: install Pillow >= 11.3 with libavif or pillow-avif-plugin")
    elif not pillow_codecs()[codec]:
        raise DependencyError(f"this Pillow cannot encode {codec}")
    items = _as_image_list(images)
    points = []
    for quality in qualities:
        point = evaluate_codec(
            items,
            _pillow_encoder(codec, quality, save_options),
            _pillow_decode,
            label=f"{codec} q={quality}",
            per_image=per_image,
        )
        point.update({"codec": codec, "quality": int(quality), "pillow": PIL.__version__})
        points.append(point)
    return points
