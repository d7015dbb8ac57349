"""Frame types, source and sink base classes, size limits and option parsing.

Numpy only. Every concrete source and sink in edgesdk.media builds on these.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator

import numpy as np

from edgesdk.errors import InvalidArgumentError, LimitExceededError
from edgesdk.media.color import rgb_to_yuv, yuv_to_rgb
from edgesdk.media.formats import CHROMA_SUBSAMPLING, plane_shapes  # noqa: F401 - re-exported
from edgesdk.shapes import MAX_SIDE

# Largest frame any source or sink accepts, checked before anything is allocated:
# 2**26 pixels (8192 x 8192, or 8K UHD 7680 x 4320 with room to spare), each side at most
# 16384. A 4:4:4 frame at the cap is 192 MiB of planes plus the same again in RGB.
MAX_PIXELS = 1 << 26



def check_frame_size(width: int, height: int, what: str) -> None:
    """Raises unless ``width`` x ``height`` is a positive size within MAX_SIDE and MAX_PIXELS."""
    if width <= 0 or height <= 0:
        raise InvalidArgumentError(f"{what}: frame size {width}x{height} must be positive")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise LimitExceededError(
            f"{what}: frame size {width}x{height} exceeds the limit "
            f"({MAX_SIDE} per side, {MAX_PIXELS} pixels; edgesdk.media.MAX_PIXELS)"
        )


@dataclass(frozen=True)
class VideoFrame:
    """One RGB frame: ``pixels`` is uint8 H x W x 3; ``timestamp`` in seconds (None if unknown)."""

    pixels: np.ndarray
    index: int
    timestamp: Fraction | None = None

    def __post_init__(self) -> None:
        p = self.pixels
        if not isinstance(p, np.ndarray) or p.dtype != np.uint8 or p.ndim != 3 or p.shape[2] != 3:
            shape = getattr(p, "shape", None)
            raise InvalidArgumentError(f"VideoFrame pixels must be uint8 H x W x 3 RGB, got {getattr(p, 'dtype', type(p))} {shape}")

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class YUVFrame:
    """One 8-bit planar YCbCr frame: ``planes`` is (Y, U, V), or (Y,) for chroma "mono"."""

    planes: tuple[np.ndarray, ...]
    chroma: str
    index: int = 0
    timestamp: Fraction | None = None

    def __post_init__(self) -> None:
        if self.chroma not in CHROMA_SUBSAMPLING:
            raise InvalidArgumentError(f"unknown chroma format {self.chroma!r}; use one of {sorted(CHROMA_SUBSAMPLING)}")
        if not self.planes or any(not isinstance(p, np.ndarray) or p.dtype != np.uint8 or p.ndim != 2 for p in self.planes):
            raise InvalidArgumentError("YUVFrame planes must be 2-D uint8 arrays")
        expected = plane_shapes(self.width, self.height, self.chroma)
        actual = [p.shape for p in self.planes]
        if actual != expected:
            raise InvalidArgumentError(
                f"YUVFrame {self.chroma} planes for {self.width}x{self.height} must have shapes {expected}, got {actual}"
            )

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.planes[0].shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.planes[0].shape[0])


def frame_timestamp(index: int, fps: Fraction | None) -> Fraction | None:
    """Presentation time of frame ``index`` of a constant-rate sequence starting at 0."""
    return None if fps is None else Fraction(index) / fps


def parse_fps(value: Any, what: str) -> Fraction:
    """A positive frame rate from an int, float, Fraction or a string like "25", "29.97", "30000/1001"."""
    try:
        if isinstance(value, str):
            rate = Fraction(value.strip())
        elif isinstance(value, float):
            rate = Fraction(repr(value))
        else:
            rate = Fraction(value)
    except (ValueError, TypeError, ZeroDivisionError):
        raise InvalidArgumentError(f"{what}: fps {value!r} is not a number (examples: 25, 29.97, 30000/1001)") from None
    if rate <= 0 or rate > 100_000:
        raise InvalidArgumentError(f"{what}: fps {value!r} must be in (0, 100000]")
    return rate


class Options:
    """Typed access to a handler's options; ``finish()`` rejects any it did not take (typos)."""

    def __init__(self, options: dict[str, Any], what: str):
        self._options = dict(options)
        self._taken: list[str] = []
        self.what = what

    def take(self, name: str, convert: Callable[[Any], Any], default: Any = None) -> Any:
        """Removes option ``name`` and returns it converted (``default`` when absent); InvalidArgumentError when invalid."""
        self._taken.append(name)
        if name not in self._options:
            return default
        value = self._options.pop(name)
        if value is None:
            return default
        try:
            return convert(value)
        except InvalidArgumentError:
            raise
        except (ValueError, TypeError):
            raise InvalidArgumentError(f"{self.what}: option {name}={value!r} is not valid") from None

    def take_choice(self, name: str, choices: dict[str, Any] | tuple[str, ...], default: Any = None) -> Any:
        """Removes option ``name``, which must be one of ``choices``."""
        value = self.take(name, lambda v: str(v).lower(), None)
        if value is None:
            return default
        if value not in choices:
            raise InvalidArgumentError(f"{self.what}: option {name}={value!r} must be one of {sorted(choices)}")
        return choices[value] if isinstance(choices, dict) else value

    def take_fps(self, default: Fraction | None = None) -> Fraction | None:
        """Removes the ``fps`` option as a Fraction."""
        return self.take("fps", lambda v: parse_fps(v, self.what), default)

    def finish(self) -> None:
        """InvalidArgumentError when options remain that nothing took."""
        if self._options:
            accepted = ", ".join(sorted(self._taken)) or "none"
            raise InvalidArgumentError(f"{self.what}: unknown option(s) {', '.join(sorted(self._options))}; accepted: {accepted}")


def positive_int(value: Any) -> int:
    """``value`` as a positive int; ValueError otherwise."""
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Source:
    """Frames from a file, folder, device or stream. Iterate it, or call ``read()``.

    Attributes: ``width``, ``height``; ``fps`` (Fraction, None if unknown, e.g. image
    folders without an ``fps`` option); ``frame_count`` (None where unknown, e.g. live).
    """

    width: int
    height: int
    fps: Fraction | None = None
    frame_count: int | None = None
    uri: str = ""
    _closed = False

    def read(self) -> VideoFrame | None:
        """The next RGB frame, or None at the end."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[VideoFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        """Releases the source."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidArgumentError(f"{self.uri}: the source is closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri} {self.width}x{self.height} fps={self.fps} frames={self.frame_count}>"


class YUVSource(Source):
    """A source whose native samples are planar YCbCr: ``read_yuv()`` gives them unconverted.

    ``read()`` converts with ``matrix`` ("bt601" or "bt709") and ``color_range``
    ("limited" or "full") via edgesdk.media.color.
    """

    chroma: str = "420"
    matrix: str = "bt601"
    color_range: str = "limited"

    def read_yuv(self) -> YUVFrame | None:
        """The next frame's planes, or None at the end."""
        raise NotImplementedError

    def yuv_frames(self) -> Iterator[YUVFrame]:
        """Yields the frames as planes until the end."""
        while (frame := self.read_yuv()) is not None:
            yield frame

    def read(self) -> VideoFrame | None:
        """The next frame as RGB, or None at the end."""
        frame = self.read_yuv()
        if frame is None:
            return None
        rgb = yuv_to_rgb(frame.planes, frame.chroma, matrix=self.matrix, color_range=self.color_range)
        return VideoFrame(rgb, frame.index, frame.timestamp)


class Sink:
    """Writes frames to a file, folder or stream. ``write()`` each frame, then ``close()``."""

    width: int
    height: int
    fps: Fraction | None = None
    uri: str = ""
    frames_written = 0
    _closed = False

    def write(self, frame: VideoFrame | np.ndarray) -> None:
        """Writes one RGB frame (a VideoFrame or a uint8 H x W x 3 array of the sink's size)."""
        self._check_open()
        self._write_rgb(self._rgb_pixels(frame))
        self.frames_written += 1

    def _write_rgb(self, pixels: np.ndarray) -> None:
        raise NotImplementedError

    def _rgb_pixels(self, frame: VideoFrame | np.ndarray) -> np.ndarray:
        pixels = frame.pixels if isinstance(frame, VideoFrame) else VideoFrame(np.asarray(frame), 0).pixels
        if pixels.shape[:2] != (self.height, self.width):
            raise InvalidArgumentError(
                f"{self.uri}: frame is {pixels.shape[1]}x{pixels.shape[0]}, the sink was opened for {self.width}x{self.height}"
            )
        return pixels

    def close(self) -> None:
        """Flushes and releases the sink."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidArgumentError(f"{self.uri}: the sink is closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri} {self.width}x{self.height} fps={self.fps} written={self.frames_written}>"


class YUVSink(Sink):
    """A sink that stores planar YCbCr: ``write_yuv()`` stores planes exactly; ``write()``
    converts RGB with the sink's ``chroma``, ``matrix`` and ``color_range``."""

    chroma: str = "420"
    matrix: str = "bt601"
    color_range: str = "limited"

    def write_yuv(self, frame: YUVFrame) -> None:
        """Writes one frame given as planes."""
        self._check_open()
        if not isinstance(frame, YUVFrame):
            raise InvalidArgumentError(f"{self.uri}: write_yuv takes a YUVFrame, got {type(frame).__name__}")
        if frame.chroma != self.chroma or (frame.width, frame.height) != (self.width, self.height):
            raise InvalidArgumentError(
                f"{self.uri}: frame is {frame.width}x{frame.height} {frame.chroma}, "
                f"the sink was opened for {self.width}x{self.height} {self.chroma}"
            )
        self._write_planes(frame.planes)
        self.frames_written += 1

    def _write_rgb(self, pixels: np.ndarray) -> None:
        self._write_planes(rgb_to_yuv(pixels, self.chroma, matrix=self.matrix, color_range=self.color_range))

    def _write_planes(self, planes: tuple[np.ndarray, ...]) -> None:
        raise NotImplementedError
