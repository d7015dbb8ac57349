"""What ``edgesdk encode`` and ``edgesdk decode`` do with paths and URIs: the kind of each
side (image, image folder, video, latent image, latent folder, latent video) follows from
its extension or URI scheme."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse

from edgesdk.errors import BitstreamError, InvalidArgumentError
from edgesdk.media.formats import IMAGE_EXTENSIONS, RAW_VIDEO_EXTENSIONS, VIDEO_EXTENSIONS

LATENT_IMAGE_SUFFIX = ".eli"  # one frame (docs/bitstream.md)
LATENT_VIDEO_SUFFIX = ".elv"  # packets of frames (docs/video.md)
IMAGE_SUFFIXES = set(IMAGE_EXTENSIONS)
VIDEO_SUFFIXES = {*VIDEO_EXTENSIONS, *RAW_VIDEO_EXTENSIONS}
VIDEO_SCHEMES = {"v4l2", "rtsp", "rtsps"}
DEFAULT_FRAME_RATE = Fraction(25)  # for streams that carry none


@dataclass(frozen=True)
class Written:
    """One output of encode/decode: a file, its size, and the pixels and frames it holds."""

    path: Path
    bytes: int
    width: int
    height: int
    frames: int = 1

    @property
    def bpp(self) -> float:
        """Bits per pixel of what was written."""
        return 8 * self.bytes / (self.width * self.height * self.frames)


@dataclass(frozen=True)
class VideoOptions:
    """The encoder options of ``edgesdk encode`` for video."""
    keyframe_interval: int = 32
    b_frames: int = 2
    max_frames: int | None = None  # live sources (rtsp://, v4l2://) run until this or Ctrl-C
    step: float = 1.0  # residual quantization step of inter frames: larger is fewer bits


def kind_of(target: str, must_exist: bool) -> str:
    """One of ``image``, ``image-folder``, ``video``, ``latent-image``, ``latent-folder``,
    ``latent-video``."""
    scheme = urlparse(target).scheme
    if scheme in VIDEO_SCHEMES:
        return "video"
    path = local_path(target)
    suffix = path.suffix.lower()
    if suffix == LATENT_IMAGE_SUFFIX:
        return "latent-image"
    if suffix == LATENT_VIDEO_SUFFIX:
        return "latent-video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if path.is_dir() or (not must_exist and not suffix):
        if must_exist and any(p.suffix.lower() == LATENT_IMAGE_SUFFIX for p in path.iterdir()):
            return "latent-folder"
        return "image-folder"
    raise InvalidArgumentError(
        f"{target}: cannot tell what this is from its name; use an image ({', '.join(sorted(IMAGE_SUFFIXES))}), "
        f"a folder, a video ({', '.join(sorted(VIDEO_SUFFIXES))}, rtsp://, v4l2://), "
        f"a latent image ({LATENT_IMAGE_SUFFIX}) or a latent video ({LATENT_VIDEO_SUFFIX})"
    )


def local_path(target: str) -> Path:
    """The local path of a target given as a path or a ``file:`` URI."""
    parsed = urlparse(target)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if parsed.scheme and len(parsed.scheme) > 1:  # one letter: a Windows drive
        raise InvalidArgumentError(f"{target}: URI scheme {parsed.scheme!r} is not a file")
    return Path(target)


def _image_files(folder: Path, suffixes: set[str]) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise InvalidArgumentError(f"{folder}: no {'/'.join(sorted(suffixes))} files in this folder")
    return files


def encode(source: str, destination: str, codec, video: VideoOptions = VideoOptions()) -> list[Written]:
    """Encodes ``source`` to ``destination`` with an :class:`edgesdk.ImageCodec`."""
    from edgesdk.codecs.model import load_image

    src_kind, dst_kind = kind_of(source, must_exist=True), kind_of(destination, must_exist=False)
    pairs: list[tuple[Path, Path]]
    if (src_kind, dst_kind) == ("image", "latent-image"):
        pairs = [(local_path(source), local_path(destination))]
    elif (src_kind, dst_kind) == ("image-folder", "image-folder"):
        out = local_path(destination)
        out.mkdir(parents=True, exist_ok=True)
        pairs = [(p, out / (p.stem + LATENT_IMAGE_SUFFIX)) for p in _image_files(local_path(source), IMAGE_SUFFIXES)]
    elif src_kind in ("video", "image-folder") and dst_kind == "latent-video":
        return [_encode_video(source, local_path(destination), codec, video)]
    else:
        raise InvalidArgumentError(f"cannot encode a {src_kind} to a {dst_kind}: encode an image to {LATENT_IMAGE_SUFFIX}, "
                                   f"a folder of images to a folder, a video to {LATENT_VIDEO_SUFFIX}")
    written = []
    for src, dst in pairs:
        image = load_image(src)
        data = codec.encode(image)
        dst.write_bytes(data)
        written.append(Written(dst, len(data), image.shape[1], image.shape[0]))
    return written


def _encode_video(source: str, destination: Path, codec, options: VideoOptions) -> Written:
    from edgesdk.media import open_source
    from edgesdk.codecs.video import write_video

    frames = 0
    with open_source(source) as frames_in:
        rate = Fraction(frames_in.fps) if frames_in.fps else None

        def pixels():
            nonlocal frames
            try:
                for frame in frames_in:
                    if options.max_frames is not None and frames >= options.max_frames:
                        return
                    frames += 1
                    yield frame.pixels
            except KeyboardInterrupt:  # a live source ends when the user stops it; the stream is closed
                return

        size = write_video(destination, pixels(), codec, keyframe_interval=options.keyframe_interval,
                           b_frames=options.b_frames, p_step=options.step,
                           frame_rate=(rate.numerator, rate.denominator) if rate else None)
        width, height = frames_in.width, frames_in.height
    if frames == 0:
        raise InvalidArgumentError(f"{source}: no frames to encode")
    return Written(destination, size, width, height, frames)


def _stream_quality(path: Path) -> int:
    """The quality level recorded in a latent video's first frame."""
    from edgesdk.bitstream.container import Frame
    from edgesdk.bitstream.packets import DEFAULT_MAX_PAYLOAD, PacketReader

    reader = PacketReader(DEFAULT_MAX_PAYLOAD, "raise")
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 16):
            for packet in reader.feed(chunk):
                if packet.payload:
                    return Frame.parse(packet.payload).quality
    raise InvalidArgumentError(f"{path}: no frames in this latent video")


def _decode_video(source: Path, destination: str, codec) -> Written:
    from edgesdk.media import open_sink
    from edgesdk.codecs.video import read_video

    low = codec.codec(_stream_quality(source))
    sink, frames, size = None, 0, (0, 0)
    try:
        for decoded in read_video(source, low):
            if sink is None:
                size = decoded.image.shape[:2]
                rate = decoded.syntax.frame_rate
                sink = open_sink(destination, size[1], size[0], Fraction(*rate) if rate else DEFAULT_FRAME_RATE)
            sink.write(decoded.image)
            frames += 1
    except BitstreamError as error:
        if frames:  # what came before the damage is kept; say so
            raise type(error)(f"{error} (the {frames} frame(s) before it were written to {destination})") from error
        raise
    finally:
        if sink is not None:
            sink.close()
    if frames == 0:
        raise InvalidArgumentError(f"{source}: no frames decoded")
    target = local_path(destination)
    return Written(target, target.stat().st_size if target.is_file() else 0, size[1], size[0], frames)


def decode(source: str, destination: str, codec) -> list[Written]:
    """Decodes ``source`` (latent image, folder of them, or latent video) to ``destination``."""
    from PIL import Image

    src_kind, dst_kind = kind_of(source, must_exist=True), kind_of(destination, must_exist=False)
    pairs: list[tuple[Path, Path]]
    if (src_kind, dst_kind) == ("latent-image", "image"):
        pairs = [(local_path(source), local_path(destination))]
    elif (src_kind, dst_kind) == ("latent-folder", "image-folder"):
        out = local_path(destination)
        out.mkdir(parents=True, exist_ok=True)
        pairs = [(p, out / (p.stem + ".png")) for p in _image_files(local_path(source), {LATENT_IMAGE_SUFFIX})]
    elif src_kind == "latent-video" and dst_kind in ("video", "image-folder"):
        folder = dst_kind == "image-folder" and not destination.endswith("/")
        return [_decode_video(local_path(source), destination + "/" if folder else destination, codec)]
    else:
        raise InvalidArgumentError(f"cannot decode a {src_kind} to a {dst_kind}: decode {LATENT_IMAGE_SUFFIX} to an "
                                   f"image, a folder of {LATENT_IMAGE_SUFFIX} to a folder, {LATENT_VIDEO_SUFFIX} to a video")
    written = []
    for src, dst in pairs:
        image = codec.decode(src.read_bytes())
        Image.fromarray(image).save(dst)
        written.append(Written(dst, dst.stat().st_size, image.shape[1], image.shape[0]))
    return written
