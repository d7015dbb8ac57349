"""Video files, V4L2 cameras and RTSP streams through PyAV (FFmpeg), imported lazily.

8-bit planar YUV frames (the usual case) are converted to RGB by edgesdk.media.color,
so a clip decodes to the same RGB whether it comes from .y4m, .yuv, .mkv or .mp4; other
pixel formats (RGB, 10-bit, NV12 from cameras) go through FFmpeg's swscale.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path
import numpy as np

from edgesdk.lazy import require
from edgesdk.errors import (
    ConnectionFailedError,
    ConnectionTimeoutError,
    CorruptedError,
    DependencyError,
    Error,
    InvalidArgumentError,
    NotFoundError,
    UnsupportedFormatError,
)
from edgesdk.media.formats import VIDEO_EXTENSIONS  # noqa: F401 - re-exported
from edgesdk.media.color import MATRICES, RANGES, yuv_to_rgb
from edgesdk.media.frames import (
    Options,
    VideoFrame,
    YUVFrame,
    YUVSink,
    YUVSource,
    check_frame_size,
    frame_timestamp,
    positive_int,
)

DEFAULT_NETWORK_TIMEOUT = 5.0  # seconds without data before a network source gives up
DEFAULT_DEVICE_TIMEOUT = 10.0

# FFmpeg pixel formats decoded by edgesdk.media.color -> chroma format ("yuvj" = full range).
NATIVE_PIXEL_FORMATS = {
    "yuv420p": "420", "yuvj420p": "420", "yuv422p": "422", "yuvj422p": "422",
    "yuv444p": "444", "yuvj444p": "444", "gray": "mono",
}  # fmt: skip
# FFmpeg AVColorSpace / AVColorRange codes.
_BT709, _UNSPECIFIED, _BT470BG, _SMPTE170M = 1, 2, 5, 6
_COLORSPACE_FOR_MATRIX = {"bt601": _SMPTE170M, "bt709": _BT709}
_RANGE_CODE = {"limited": 1, "full": 2}
_CRF_ENCODERS = ("libx264", "libx265")


def import_av():
    """PyAV, or a DependencyError saying how to install it."""
    return require("av", "video files, cameras and RTSP need PyAV: pip install 'edgesdk[video]' "
                         "(or pip install 'av>=12')")


def _translate(error: Exception, what: str, *, timeout: float | None = None, elapsed: float = 0.0, network: bool = False) -> Error:
    """The edgesdk error for a PyAV/FFmpeg exception."""
    av = import_av()
    reason = getattr(error, "strerror", None) or str(error)
    if isinstance(error, av.error.FileNotFoundError):
        return NotFoundError(f"{what}: not found ({reason})")
    # FFmpeg's RTSP demuxer reports an interrupted (timed out) open as "invalid data", so the
    # elapsed time decides.
    if timeout is not None and (isinstance(error, (av.error.ExitError, av.error.TimeoutError)) or elapsed >= 0.9 * timeout):
        return _timeout_error(what, timeout)
    if network:
        return ConnectionFailedError(f"{what}: {reason}")
    if isinstance(error, av.error.PermissionError):
        return InvalidArgumentError(f"{what}: permission denied")
    if isinstance(error, (av.error.DemuxerNotFoundError, av.error.DecoderNotFoundError)):
        return UnsupportedFormatError(f"{what}: this FFmpeg cannot read it ({reason})")
    return CorruptedError(f"{what}: cannot decode ({reason}); the file is damaged, truncated or not a video")


def _timeout_error(what: str, timeout: float) -> ConnectionTimeoutError:
    return ConnectionTimeoutError(f"{what}: nothing received within {timeout:g} s (option timeout=seconds)")


def _colorimetry(frame, matrix: str | None, color_range: str | None) -> tuple[str, str] | None:
    """(matrix, range) of an 8-bit planar frame for our converter, None if it is not one."""
    if frame.format.name not in NATIVE_PIXEL_FORMATS:
        return None
    colorspace = int(frame.colorspace)
    if matrix is None:
        if colorspace not in (_BT709, _UNSPECIFIED, _BT470BG, _SMPTE170M):
            return None  # e.g. BT.2020: leave it to swscale
        matrix = "bt709" if colorspace == _BT709 else "bt601"
    if color_range is None:
        full = int(frame.color_range) == _RANGE_CODE["full"] or frame.format.name.startswith("yuvj")
        color_range = "full" if full else "limited"
    return matrix, color_range


def _planes_of(frame) -> tuple[np.ndarray, ...]:
    planes = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        planes.append(rows[:, : plane.width].copy())
    return tuple(planes)


class FFmpegSource(YUVSource):
    """Frames decoded by FFmpeg from a file, a capture device or a network URL.

    ``matrix``/``color_range`` override the stream's colour tags (untagged = BT.601 limited).
    """

    def __init__(
        self,
        url: str,
        *,
        what: str,
        input_format: str | None = None,
        container_options: dict[str, str] | None = None,
        timeout: float | None = None,
        network: bool = False,
        matrix: str | None = None,
        color_range: str | None = None,
    ):
        av = import_av()
        self.uri, self._what, self._timeout, self._network = url, what, timeout, network
        self._matrix_override, self._range_override = matrix, color_range
        started = time.monotonic()
        try:
            self._container = av.open(
                url, format=input_format, options=container_options or {}, timeout=None if timeout is None else (timeout, timeout)
            )
        except av.FFmpegError as error:
            raise _translate(error, what, timeout=timeout, elapsed=time.monotonic() - started, network=network) from None
        try:
            if not self._container.streams.video:
                raise UnsupportedFormatError(f"{what}: has no video stream")
            stream = self._stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            self.width, self.height = stream.codec_context.width, stream.codec_context.height
            check_frame_size(self.width, self.height, what)
            rate = stream.average_rate or stream.guessed_rate
            self.fps = Fraction(rate) if rate else None
            self.frame_count = None if network else (stream.frames or None)
            self.chroma = NATIVE_PIXEL_FORMATS.get(stream.codec_context.pix_fmt or "", "")
            self.matrix = matrix or "bt601"
            self.color_range = color_range or "limited"
        except BaseException:
            self._container.close()
            raise
        self._decoded = self._container.decode(stream)
        self._index = 0

    def _next_frame(self):
        """The next decoded av.VideoFrame, or None at the end of the stream."""
        self._check_open()
        av = import_av()
        started = time.monotonic()
        try:
            frame = next(self._decoded)
        except StopIteration:
            # An interrupted network read can surface as a plain end of stream.
            if self._network and time.monotonic() - started >= 0.9 * self._timeout:
                raise _timeout_error(self._what, self._timeout) from None
            return None
        except av.FFmpegError as error:
            elapsed = time.monotonic() - started
            what = f"{self._what} frame {self._index}"
            raise _translate(error, what, timeout=self._timeout, elapsed=elapsed, network=self._network) from None
        if (frame.width, frame.height) != (self.width, self.height):
            raise UnsupportedFormatError(
                f"{self._what}: frame {self._index} is {frame.width}x{frame.height}, the stream started at "
                f"{self.width}x{self.height}; size changes are not supported (reopen the source)"
            )
        return frame

    def _timestamp(self, frame) -> Fraction | None:
        if frame.pts is not None and frame.time_base:
            return Fraction(frame.pts) * Fraction(frame.time_base)
        return frame_timestamp(self._index, self.fps)

    def read_yuv(self) -> YUVFrame | None:
        """The next frame as planes, or None at the end."""
        frame = self._next_frame()
        if frame is None:
            return None
        if frame.format.name not in NATIVE_PIXEL_FORMATS:
            raise UnsupportedFormatError(
                f"{self._what}: frames are {frame.format.name}, not 8-bit planar YUV "
                f"({', '.join(NATIVE_PIXEL_FORMATS)}); use read() for RGB"
            )
        # Report the colour tags read_yuv() callers need to interpret the planes.
        colorimetry = _colorimetry(frame, self._matrix_override, self._range_override)
        if colorimetry is not None:
            self.matrix, self.color_range = colorimetry
        result = YUVFrame(_planes_of(frame), NATIVE_PIXEL_FORMATS[frame.format.name], self._index, self._timestamp(frame))
        self._index += 1
        return result

    def read(self) -> VideoFrame | None:
        """The next frame as RGB, or None at the end."""
        frame = self._next_frame()
        if frame is None:
            return None
        colorimetry = _colorimetry(frame, self._matrix_override, self._range_override)
        if colorimetry is None:
            pixels = frame.to_ndarray(format="rgb24")
        else:
            matrix, color_range = colorimetry
            chroma = NATIVE_PIXEL_FORMATS[frame.format.name]
            pixels = yuv_to_rgb(_planes_of(frame), chroma, matrix=matrix, color_range=color_range)
        result = VideoFrame(np.ascontiguousarray(pixels), self._index, self._timestamp(frame))
        self._index += 1
        return result

    def close(self) -> None:
        """Closes the container."""
        if not self._closed:
            self._container.close()
        super().close()


def _color_options(opts: Options) -> dict[str, str | None]:
    return {"matrix": opts.take_choice("matrix", tuple(MATRICES)), "color_range": opts.take_choice("color_range", RANGES)}


def open_video_file(path: Path, options: dict) -> FFmpegSource:
    """Source for .mp4/.mkv/.avi/.mov/.webm. Options: matrix, color_range (override the tags)."""
    opts = Options(options, f"{path} (video file)")
    colors = _color_options(opts)
    opts.finish()
    return FFmpegSource(str(path), what=str(path), **colors)


def has_v4l2(av) -> bool:
    """Whether this PyAV's FFmpeg can open V4L2 cameras."""
    names = {name for entry in av.formats_available for name in entry.split(",")}
    return "video4linux2" in names or "v4l2" in names


def open_v4l2(device: Path, options: dict) -> FFmpegSource:
    """Source for ``v4l2:///dev/videoN``. Options: width, height, fps, input_format
    (e.g. mjpeg, yuyv422), timeout (seconds, default 10), matrix, color_range."""
    opts = Options(options, f"v4l2://{device}")
    width, height = opts.take("width", positive_int), opts.take("height", positive_int)
    fps = opts.take_fps()
    camera_format = opts.take("input_format", str)
    timeout = opts.take("timeout", float, DEFAULT_DEVICE_TIMEOUT)
    colors = _color_options(opts)
    opts.finish()
    av = import_av()
    if not has_v4l2(av):
        raise DependencyError(
            "this PyAV's FFmpeg has no video4linux2 input (libavdevice without v4l2); install a PyAV built "
            "against a system FFmpeg with it: apt install libavdevice-dev, then pip install --no-binary av av"
        )
    if not device.exists():
        raise NotFoundError(f"v4l2://{device}: no such device (is the camera connected? ls /dev/video*)")
    container_options = {}
    if (width is None) != (height is None):
        raise InvalidArgumentError(f"v4l2://{device}: give both width and height, or neither")
    if width is not None:
        container_options["video_size"] = f"{width}x{height}"
    if fps is not None:
        container_options["framerate"] = f"{fps.numerator}/{fps.denominator}"
    if camera_format:
        container_options["input_format"] = camera_format
    return FFmpegSource(
        str(device), what=f"v4l2://{device}", input_format="video4linux2",
        container_options=container_options, timeout=timeout, **colors,
    )  # fmt: skip


def open_rtsp(url: str, options: dict) -> FFmpegSource:
    """Source for ``rtsp://`` / ``rtsps://``. Options: timeout (seconds to connect and between
    packets, default 5), transport (tcp default, or udp), matrix, color_range."""
    opts = Options(options, url)
    timeout = opts.take("timeout", float, DEFAULT_NETWORK_TIMEOUT)
    transport = opts.take_choice("transport", ("tcp", "udp"), "tcp")
    colors = _color_options(opts)
    opts.finish()
    if not 0 < timeout <= 3600:
        raise InvalidArgumentError(f"{url}: timeout must be in (0, 3600] seconds, got {timeout}")
    # FFmpeg's own socket timeout (microseconds) plus PyAV's interrupt deadline, which also
    # covers the stages that ignore the socket option.
    container_options = {"rtsp_transport": transport, "timeout": str(int(timeout * 1e6))}
    return FFmpegSource(url, what=url, container_options=container_options, timeout=timeout, network=True, **colors)


class FFmpegSink(YUVSink):
    """Encodes frames to a video file. Options: codec (default libx264; e.g. ffv1, libx265),
    crf (x264/x265 quality, default 23), preset, pixel_format (yuv420p default, yuv422p,
    yuv444p), gop, bit_rate, codec_options (dict passed to FFmpeg), matrix, color_range."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction | None, options: dict):
        what = f"{path} (video file)"
        opts = Options(options, what)
        codec = opts.take("codec", str, "libx264")
        crf = opts.take("crf", float, 23.0 if codec in _CRF_ENCODERS else None)
        preset = opts.take("preset", str)
        pixel_format = opts.take_choice("pixel_format", {"yuv420p": "420", "yuv422p": "422", "yuv444p": "444"}, None)
        gop = opts.take("gop", positive_int)
        bit_rate = opts.take("bit_rate", positive_int)
        codec_options = {str(k): str(v) for k, v in (opts.take("codec_options", dict, {}) or {}).items()}
        self.matrix = opts.take_choice("matrix", tuple(MATRICES), "bt601")
        self.color_range = opts.take_choice("color_range", RANGES, "limited")
        opts.finish()
        check_frame_size(width, height, what)
        if fps is None:
            raise InvalidArgumentError(f"{path}: a video file sink needs fps")
        self.chroma = pixel_format or "420"
        self._pix_fmt = {"420": "yuv420p", "422": "yuv422p", "444": "yuv444p"}[self.chroma]
        if crf is not None:
            codec_options.setdefault("crf", f"{crf:g}")
        if preset is not None:
            codec_options.setdefault("preset", preset)
        self.uri, self.width, self.height, self.fps, self.codec = str(path), width, height, fps, codec
        av = import_av()
        try:
            encoder = av.codec.Codec(codec, "w")
        except (av.FFmpegError, ValueError):
            raise DependencyError(f"{what}: this PyAV's FFmpeg has no encoder {codec!r} (try codec=libx264 or codec=ffv1)") from None
        if self._pix_fmt not in {f.name for f in encoder.video_formats or ()}:
            raise UnsupportedFormatError(f"{what}: encoder {codec} cannot take {self._pix_fmt}")
        try:
            self._container = av.open(str(path), "w")
        except (av.FFmpegError, ValueError) as error:
            raise UnsupportedFormatError(f"{what}: FFmpeg cannot write this file ({getattr(error, 'strerror', error)})") from None
        try:
            self._stream = self._container.add_stream(codec, rate=fps, options=codec_options)
            context = self._stream.codec_context
            context.width, context.height, context.pix_fmt = width, height, self._pix_fmt
            context.time_base = Fraction(1) / fps
            context.colorspace = _COLORSPACE_FOR_MATRIX[self.matrix]
            context.color_range = _RANGE_CODE[self.color_range]
            if gop is not None:
                context.gop_size = gop
            if bit_rate is not None:
                context.bit_rate = bit_rate
            context.open()
        except (av.FFmpegError, ValueError) as error:
            self._container.close()
            raise InvalidArgumentError(
                f"{what}: encoder {codec} rejected {width}x{height} {self._pix_fmt} at {fps} fps with "
                f"{codec_options} ({getattr(error, 'strerror', None) or error}); 4:2:0 needs even sizes for most encoders"
            ) from None
        self._av = av

    def _write_planes(self, planes: tuple[np.ndarray, ...]) -> None:
        frame = self._av.VideoFrame(self.width, self.height, self._pix_fmt)
        for plane, source in zip(frame.planes, planes):
            target = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
            target[:, : plane.width] = source
        frame.pts = self.frames_written
        frame.time_base = self._stream.codec_context.time_base
        frame.colorspace = _COLORSPACE_FOR_MATRIX[self.matrix]
        frame.color_range = _RANGE_CODE[self.color_range]
        self._mux(frame)

    def _mux(self, frame) -> None:
        try:
            self._container.mux(self._stream.encode(frame))
        except self._av.FFmpegError as error:
            raise _translate(error, self.uri) from None

    def close(self) -> None:
        """Flushes the encoder and closes the file."""
        if self._closed:
            return
        try:
            self._mux(None)  # flush the encoder's delayed frames
        finally:
            self._container.close()
            super().close()

