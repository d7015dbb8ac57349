"""Single images and image folders as sources, image folders as sinks (Pillow, imported lazily)."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from edgesdk.lazy import require
from edgesdk.errors import (
    CorruptedError,
    DependencyError,
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    UnsupportedFormatError,
)
from edgesdk.media.formats import IMAGE_EXTENSIONS
from edgesdk.media.frames import Options, Sink, Source, VideoFrame, check_frame_size, frame_timestamp

# Extensions the folder sink writes, with Pillow's format name.
_WRITE_FORMATS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP",
    ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP", ".ppm": "PPM",
}  # fmt: skip
DEFAULT_PATTERN = "%05d.png"
_PATTERN = re.compile(r"%0?([1-9]?)d")


def _pillow():
    return require("PIL.Image", "image files need Pillow: pip install pillow")


def natural_key(name: str) -> list:
    """Sort key that orders 'frame2' before 'frame10'."""
    return [(0, int(part), part) if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header, without decoding the pixels."""
    Image = _pillow()
    try:
        with Image.open(path) as image:
            return image.size
    except Image.DecompressionBombError as error:
        raise LimitExceededError(f"{path}: {error} (for a trusted file, raise PIL.Image.MAX_IMAGE_PIXELS)") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptedError(f"{path}: not a readable image ({error})") from None


def read_image(path: str | Path, expected: tuple[int, int] | None = None) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB, upright (EXIF orientation applied), converted from
    its mode by :func:`to_rgb8` (16-bit and float scaled, grey replicated, alpha composited on
    white with an :class:`ImageWarning`). Typed errors: missing file (NotFoundError),
    unreadable (CorruptedError), above Pillow's decompression-bomb limit (LimitExceededError),
    not ``expected`` (width, height) (InvalidArgumentError)."""
    import warnings

    Image = _pillow()
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                # The header's size, before any pixel is decoded: the limit open_source applies.
                check_frame_size(image.size[0], image.size[1], str(path))
                if expected is not None and image.size != expected:
                    raise InvalidArgumentError(f"{path}: image is {image.size[0]}x{image.size[1]}, expected {expected[0]}x{expected[1]}")
                pixels = to_rgb8(image, str(path))
        for warning in caught:
            if issubclass(warning.category, Image.DecompressionBombWarning):
                width, height = pixels.shape[1], pixels.shape[0]
                warnings.warn(ImageWarning(f"{path}: {width}x{height} is a very large image "
                                           f"({width * height / 1e6:.0f} megapixels); this will take a while"))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return pixels
    except Image.DecompressionBombError as error:
        raise LimitExceededError(f"{path}: {error} (for a trusted file, raise PIL.Image.MAX_IMAGE_PIXELS)") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptedError(f"{path}: cannot decode the image ({error})") from None


class ImageWarning(UserWarning):
    """Something about an input image the user should know (alpha dropped, very large)."""


_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def to_rgb8(image, name: str = "image") -> np.ndarray:
    """A Pillow image as HxWx3 uint8 RGB, decided per mode:

    * EXIF orientation is applied first (a portrait phone photograph stays upright);
    * ``1``, ``L``, ``P``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``, ``RGB``: Pillow's conversion
      (grey becomes three equal channels);
    * ``I;16*`` and ``I`` (16-bit grey): 0..65535 scaled to 0..255 (``I`` values outside are clipped);
    * ``F`` (float grey): 0..1 scaled to 0..255 when no value exceeds 1, else read as 0..255, clipped;
    * ``LA``, ``PA``, ``RGBA``, ``La``, ``RGBa`` and ``P`` with transparency: composited on white,
      with an :class:`ImageWarning` unless every pixel is opaque.
    """
    import warnings

    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        grey = np.asarray(image).astype(np.float64)
        grey = np.rint(np.clip(grey, 0, 65535) / 257.0).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        grey = np.nan_to_num(np.asarray(image, dtype=np.float64))
        scale = 255.0 if grey.size and grey.max() <= 1.0 else 1.0
        grey = np.rint(np.clip(grey * scale, 0, 255)).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("LA", "PA", "La", "RGBa", "RGBA"):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
        alpha = rgba[:, :, 3:4]
        if alpha.min() < 255:
            warnings.warn(ImageWarning(f"{name}: the alpha channel is not coded; transparent pixels "
                                       "were composited on white"))
            mixed = rgba[:, :, :3] * (alpha / 255.0) + 255.0 * (1 - alpha / 255.0)
            return np.rint(mixed).astype(np.uint8)
        return rgba[:, :, :3].copy()
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


class ImageSource(Source):
    """One image, or every image in a folder in natural order (all the same size).

    Options: ``fps`` (sets fps and timestamps; without it they are None).
    """

    def __init__(self, path: Path, options: dict):
        opts = Options(options, f"{path} (images)")
        self.fps = opts.take_fps()
        opts.finish()
        self.uri = str(path)
        if path.is_dir():
            self._paths = sorted(
                (p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith(".")),
                key=lambda p: natural_key(p.name),
            )
            if not self._paths:
                raise NotFoundError(f"{path}: the folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
        else:
            self._paths = [path]
        # Headers only: a folder of mixed sizes fails here, before any frame is produced.
        self.width, self.height = _image_size(self._paths[0])
        check_frame_size(self.width, self.height, str(self._paths[0]))
        for other in self._paths[1:]:
            size = _image_size(other)
            if size != (self.width, self.height):
                raise InvalidArgumentError(
                    f"{path}: all images of a folder must share one size, but {self._paths[0].name} is "
                    f"{self.width}x{self.height} and {other.name} is {size[0]}x{size[1]}"
                )
        self.frame_count = len(self._paths)
        self._index = 0

    def read(self) -> VideoFrame | None:
        """The next image as a frame, or None after the last."""
        self._check_open()
        if self._index >= len(self._paths):
            return None
        pixels = read_image(self._paths[self._index], (self.width, self.height))
        frame = VideoFrame(pixels, self._index, frame_timestamp(self._index, self.fps))
        self._index += 1
        return frame


def split_folder_pattern(path_text: str) -> tuple[Path, str] | None:
    """(folder, file pattern) when ``path_text`` names an image folder sink, else None."""
    path = Path(path_text).expanduser()
    if "%" in path.name:
        return path.parent, path.name
    if path_text.endswith(("/", "\\")) or path.is_dir():
        return path, DEFAULT_PATTERN
    return None


class ImageFolderSink(Sink):
    """Writes each frame as an image: ``folder/%05d.png`` by default, or a given pattern
    with one ``%d``/``%0Nd`` (the frame number, from 0). Options: ``quality`` (JPEG/WebP, 1..100,
    default 95), ``start`` (first number, default 0). Creates the folder if its parent exists."""

    def __init__(self, folder: Path, pattern: str, width: int, height: int, fps: Fraction | None, options: dict):
        opts = Options(options, f"{folder / pattern} (image folder)")
        self.quality = opts.take("quality", int, 95)
        self._next_number = opts.take("start", int, 0)
        opts.finish()
        if not 1 <= self.quality <= 100:
            raise InvalidArgumentError(f"{folder}: quality must be in 1..100, got {self.quality}")
        if len(_PATTERN.findall(pattern)) != 1 or pattern.count("%") != 1:
            raise InvalidArgumentError(f"{folder / pattern}: the file pattern needs exactly one %d or %0Nd, like %05d.png")
        suffix = Path(pattern).suffix.lower()
        if suffix not in _WRITE_FORMATS:
            raise UnsupportedFormatError(
                f"{folder / pattern}: cannot write {suffix or 'files without an extension'}; "
                f"use one of {', '.join(_WRITE_FORMATS)}"
            )
        check_frame_size(width, height, str(folder))
        _pillow()
        if not folder.parent.is_dir():
            raise NotFoundError(f"{folder}: its parent folder does not exist")
        folder.mkdir(exist_ok=True)
        self.uri, self.width, self.height, self.fps = str(folder / pattern), width, height, fps
        self._folder, self._pattern, self._format = folder, pattern, _WRITE_FORMATS[suffix]

    def _write_rgb(self, pixels: np.ndarray) -> None:
        Image = _pillow()
        path = self._folder / (self._pattern % self._next_number)
        extra = {"quality": self.quality} if self._format in ("JPEG", "WEBP") else {}
        if self._format == "WEBP" and self.quality == 100:
            extra = {"lossless": True}
        Image.fromarray(pixels, "RGB").save(path, self._format, **extra)
        self._next_number += 1
