"""YUV4MPEG2 (.y4m) and raw planar YUV (.yuv) sources and sinks; numpy only.

Y4M is parsed here, not by FFmpeg, so that malformed input fails with a typed error
before anything is allocated: header and FRAME lines are at most 4096 bytes, the frame
size is checked against MAX_PIXELS, and a short frame raises TruncatedError.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from edgesdk.errors import BadMagicError, CorruptedError, InvalidArgumentError, TruncatedError, UnsupportedFormatError
from edgesdk.media.color import MATRICES, RANGES
from edgesdk.media.frames import (
    Options,
    YUVFrame,
    YUVSink,
    YUVSource,
    check_frame_size,
    frame_timestamp,
    plane_shapes,
    positive_int,
)

Y4M_MAGIC = b"YUV4MPEG2"
MAX_LINE = 4096

# Y4M "C" tag -> chroma format. All 420 sitings decode with centred chroma (see color.py).
Y4M_CHROMA = {"420jpeg": "420", "420paldv": "420", "420mpeg2": "420", "420": "420", "422": "422", "444": "444", "mono": "mono"}
Y4M_TAG_FOR_CHROMA = {"420": "420jpeg", "422": "422", "444": "444", "mono": "mono"}

# Raw file formats -> (chroma, layout). "planar": Y U V; "yv12": Y V U; "nv12": Y then interleaved UV.
RAW_FORMATS = {
    "i420": ("420", "planar"),
    "yuv420p": ("420", "planar"),
    "yv12": ("420", "yv12"),
    "nv12": ("420", "nv12"),
    "yuv422p": ("422", "planar"),
    "i444": ("444", "planar"),
    "yuv444p": ("444", "planar"),
    "gray": ("mono", "planar"),
}

_SIZE_IN_NAME = re.compile(r"(?<![0-9])([1-9][0-9]{0,4})x([1-9][0-9]{0,4})(?![0-9])")


def _frame_bytes(width: int, height: int, chroma: str) -> int:
    return sum(rows * cols for rows, cols in plane_shapes(width, height, chroma))


def _read_exact(stream: BinaryIO, count: int, what: str) -> bytes | None:
    """``count`` bytes, None at a clean end of file, TruncatedError for a partial read.

    A regular file is checked for ``count`` remaining bytes first, so a damaged header
    declaring a huge frame costs no allocation."""
    try:
        remaining = os.fstat(stream.fileno()).st_size - stream.tell()
    except (OSError, ValueError):
        remaining = None  # a pipe: read and see
    if remaining is not None and 0 < remaining < count:
        raise TruncatedError(f"{what}: file ends inside a frame ({remaining} of {count} bytes)")
    data = stream.read(count)
    if not data:
        return None
    if len(data) < count:
        raise TruncatedError(f"{what}: file ends inside a frame ({len(data)} of {count} bytes)")
    return data


def _split_planes(data: bytes, width: int, height: int, chroma: str, layout: str = "planar") -> tuple[np.ndarray, ...]:
    buffer = np.frombuffer(data, dtype=np.uint8)
    shapes = plane_shapes(width, height, chroma)
    planes, offset = [], 0
    for rows, cols in shapes:
        planes.append(buffer[offset : offset + rows * cols].reshape(rows, cols))
        offset += rows * cols
    if layout == "yv12":
        planes[1], planes[2] = planes[2], planes[1]
    elif layout == "nv12":
        rows, cols = shapes[1]
        interleaved = buffer[shapes[0][0] * shapes[0][1] :].reshape(rows, 2 * cols)
        planes[1], planes[2] = interleaved[:, 0::2], interleaved[:, 1::2]
    return tuple(planes)


def _join_planes(planes: tuple[np.ndarray, ...], layout: str = "planar") -> bytes:
    if layout == "yv12":
        planes = (planes[0], planes[2], planes[1])
    elif layout == "nv12":
        interleaved = np.stack([planes[1], planes[2]], axis=-1).reshape(planes[1].shape[0], -1)
        planes = (planes[0], interleaved)
    return b"".join(np.ascontiguousarray(p).tobytes() for p in planes)


def _open_for_reading(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as error:
        raise InvalidArgumentError(f"{path}: cannot open for reading: {error.strerror}") from None


def _open_for_writing(path: Path) -> BinaryIO:
    try:
        return open(path, "wb")
    except OSError as error:
        raise InvalidArgumentError(f"{path}: cannot open for writing: {error.strerror}") from None


# ------------------------------------------------------------------------------- Y4M


def parse_y4m_header(line: bytes, what: str) -> dict:
    """Fields of a YUV4MPEG2 stream header line (without its newline)."""
    if not line.startswith(Y4M_MAGIC + b" "):
        raise BadMagicError(f"{what}: not a YUV4MPEG2 file (it must start with 'YUV4MPEG2 ')")
    try:
        tokens = line[len(Y4M_MAGIC) + 1 :].decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise CorruptedError(f"{what}: the Y4M header contains non-ASCII bytes") from None
    fields = {"fps": None, "chroma_tag": "420jpeg", "interlace": "p", "color_range": "limited"}
    for token in tokens:
        if not token:
            continue
        tag, value = token[0], token[1:]
        if tag in "WH":
            if not value.isdigit() or len(value) > 9:
                raise CorruptedError(f"{what}: Y4M {tag}{value!r} is not a frame size")
            fields["width" if tag == "W" else "height"] = int(value)
        elif tag == "F":
            numerator, _, denominator = value.partition(":")
            if not (numerator.isdigit() and denominator.isdigit()) or len(value) > 21:
                raise CorruptedError(f"{what}: Y4M frame rate F{value!r} must be 'numerator:denominator'")
            num, den = int(numerator), int(denominator)
            fields["fps"] = Fraction(num, den) if num > 0 and den > 0 else None  # F0:0 = unknown
        elif tag == "C":
            if value not in Y4M_CHROMA:
                raise UnsupportedFormatError(
                    f"{what}: Y4M chroma format C{value} is not supported (8-bit {', '.join(Y4M_CHROMA)}); "
                    "convert it, e.g. ffmpeg -i in.y4m -pix_fmt yuv420p out.y4m"
                )
            fields["chroma_tag"] = value
        elif tag == "I":
            if value not in ("p", "t", "b", "m", "?"):
                raise CorruptedError(f"{what}: Y4M interlacing I{value!r} must be one of p, t, b, m, ?")
            fields["interlace"] = value
        elif tag == "X" and value.upper().startswith("COLORRANGE="):
            kind = value.split("=", 1)[1].upper()
            if kind not in ("FULL", "LIMITED"):
                raise CorruptedError(f"{what}: Y4M {token} must be XCOLORRANGE=FULL or XCOLORRANGE=LIMITED")
            fields["color_range"] = kind.lower()
        # A (aspect) and other X comments do not affect decoding.
    if "width" not in fields or "height" not in fields:
        raise CorruptedError(f"{what}: the Y4M header lacks W (width) or H (height)")
    check_frame_size(fields["width"], fields["height"], what)
    return fields


class _YUVFileSource(YUVSource):
    """A YUV source reading fixed-size frames from one open file (``_file``)."""

    _file: BinaryIO
    _index: int

    def _frame_from(self, data: bytes, layout: str = "planar") -> YUVFrame:
        planes = _split_planes(data, self.width, self.height, self.chroma, layout)
        frame = YUVFrame(planes, self.chroma, self._index, frame_timestamp(self._index, self.fps))
        self._index += 1
        return frame

    def close(self) -> None:
        self._file.close()
        super().close()


class _YUVFileSink(YUVSink):
    """A YUV sink writing to one open file (``_file``)."""

    _file: BinaryIO

    def close(self) -> None:
        if not self._closed:
            self._file.close()
        super().close()


class Y4MSource(_YUVFileSource):
    """Frames of a .y4m file. Options: ``matrix`` (bt601|bt709; the header cannot say)."""

    def __init__(self, path: Path, options: dict):
        opts = Options(options, f"{path} (y4m)")
        self.matrix = opts.take_choice("matrix", tuple(MATRICES), "bt601")
        range_override = opts.take_choice("color_range", RANGES)
        opts.finish()
        self.uri = str(path)
        self._file = _open_for_reading(path)
        try:
            line = self._file.readline(MAX_LINE)
            if not line.endswith(b"\n"):
                if not line.startswith(Y4M_MAGIC):
                    raise BadMagicError(f"{path}: not a YUV4MPEG2 file (it must start with 'YUV4MPEG2 ')")
                raise CorruptedError(f"{path}: the Y4M header line is missing its newline or exceeds {MAX_LINE} bytes")
            fields = parse_y4m_header(line[:-1], str(path))
        except BaseException:
            self._file.close()
            raise
        self.width, self.height = fields["width"], fields["height"]
        self.fps = fields["fps"]
        self.chroma = Y4M_CHROMA[fields["chroma_tag"]]
        self.color_range = range_override or fields["color_range"]
        self.interlace = fields["interlace"]
        self._frame_size = _frame_bytes(self.width, self.height, self.chroma)
        # Known only when every frame header is the plain "FRAME\n".
        remaining = path.stat().st_size - len(line)
        per_frame = len(b"FRAME\n") + self._frame_size
        self.frame_count = remaining // per_frame if remaining % per_frame == 0 else None
        self._index = 0

    def read_yuv(self) -> YUVFrame | None:
        """The next frame as planes, or None at the end."""
        self._check_open()
        what = f"{self.uri} frame {self._index}"
        marker = self._file.readline(MAX_LINE)
        if not marker:
            return None
        if not marker.endswith(b"\n") and b"FRAME".startswith(marker):
            raise TruncatedError(f"{what}: file ends inside the FRAME marker")
        if not (marker.startswith(b"FRAME") and marker[5:6] in (b"\n", b" ")):
            raise CorruptedError(f"{what}: expected a FRAME marker, found {marker[:16]!r}")
        if not marker.endswith(b"\n"):
            if len(marker) >= MAX_LINE:
                raise CorruptedError(f"{what}: FRAME line exceeds {MAX_LINE} bytes")
            raise TruncatedError(f"{what}: file ends inside the FRAME line")
        data = _read_exact(self._file, self._frame_size, what)
        if data is None:
            raise TruncatedError(f"{what}: file ends after the FRAME marker, before the frame data")
        return self._frame_from(data)


class Y4MSink(_YUVFileSink):
    """Writes a .y4m file. Options: ``chroma`` (420|422|444|mono), ``matrix``, ``color_range``."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction | None, options: dict):
        opts = Options(options, f"{path} (y4m)")
        self.chroma = opts.take_choice("chroma", tuple(Y4M_TAG_FOR_CHROMA), "420")
        self.matrix = opts.take_choice("matrix", tuple(MATRICES), "bt601")
        self.color_range = opts.take_choice("color_range", RANGES, "limited")
        opts.finish()
        check_frame_size(width, height, str(path))
        if fps is None:
            raise InvalidArgumentError(f"{path}: a .y4m sink needs fps")
        self.uri, self.width, self.height, self.fps = str(path), width, height, fps
        header = f"YUV4MPEG2 W{width} H{height} F{fps.numerator}:{fps.denominator} Ip A1:1 C{Y4M_TAG_FOR_CHROMA[self.chroma]}"
        if self.color_range == "full":
            header += " XCOLORRANGE=FULL"
        self._file = _open_for_writing(path)
        self._file.write(header.encode("ascii") + b"\n")

    def _write_planes(self, planes: tuple[np.ndarray, ...]) -> None:
        self._file.write(b"FRAME\n")
        self._file.write(_join_planes(planes))


# --------------------------------------------------------------------------- raw YUV


def _raw_geometry(path: Path, opts: Options) -> tuple[int, int, str, str, str]:
    """(width, height, format name, chroma, layout) from options, else from the file name."""
    width = opts.take("width", positive_int)
    height = opts.take("height", positive_int)
    name = opts.take_choice("format", tuple(RAW_FORMATS), "i420")
    if width is None and height is None:
        found = _SIZE_IN_NAME.findall(path.stem)
        if found:
            width, height = (int(v) for v in found[-1])
    if width is None or height is None:
        raise InvalidArgumentError(
            f"{path}: a raw .yuv file needs its frame size: pass width= and height= (or "
            f"file:///path.yuv?width=352&height=288&format=i420), or name it like clip_352x288.yuv"
        )
    check_frame_size(width, height, str(path))
    chroma, layout = RAW_FORMATS[name]
    return width, height, name, chroma, layout


class RawYUVSource(_YUVFileSource):
    """Frames of a headerless .yuv file. Options: width, height, format (i420 default), fps,
    matrix, color_range (limited default)."""

    def __init__(self, path: Path, options: dict):
        opts = Options(options, f"{path} (raw yuv)")
        self.width, self.height, self.format, self.chroma, self._layout = _raw_geometry(path, opts)
        self.fps = opts.take_fps()
        self.matrix = opts.take_choice("matrix", tuple(MATRICES), "bt601")
        self.color_range = opts.take_choice("color_range", RANGES, "limited")
        opts.finish()
        self.uri = str(path)
        self._frame_size = _frame_bytes(self.width, self.height, self.chroma)
        size = path.stat().st_size
        if size % self._frame_size:
            raise TruncatedError(
                f"{path}: {size} bytes is not a whole number of {self.width}x{self.height} {self.format} frames "
                f"({self._frame_size} bytes each); check width, height and format"
            )
        self.frame_count = size // self._frame_size
        self._file = _open_for_reading(path)
        self._index = 0

    def read_yuv(self) -> YUVFrame | None:
        """The next frame as planes, or None at the end."""
        self._check_open()
        data = _read_exact(self._file, self._frame_size, f"{self.uri} frame {self._index}")
        if data is None:
            return None
        return self._frame_from(data, self._layout)


class RawYUVSink(_YUVFileSink):
    """Writes a headerless .yuv file. Options: format (i420 default), matrix, color_range."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction | None, options: dict):
        opts = Options(options, f"{path} (raw yuv)")
        self.format = opts.take_choice("format", tuple(RAW_FORMATS), "i420")
        self.matrix = opts.take_choice("matrix", tuple(MATRICES), "bt601")
        self.color_range = opts.take_choice("color_range", RANGES, "limited")
        opts.finish()
        check_frame_size(width, height, str(path))
        self.chroma, self._layout = RAW_FORMATS[self.format]
        self.uri, self.width, self.height, self.fps = str(path), width, height, fps
        self._file = _open_for_writing(path)

    def _write_planes(self, planes: tuple[np.ndarray, ...]) -> None:
        self._file.write(_join_planes(planes, self._layout))
