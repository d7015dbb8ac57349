"""What ``edgesdk encode`` and ``edgesdk decode`` do with paths and URIs: the kind of each
side (image, image folder, video, latent image, latent folder, latent video) follows from
its extension or URI scheme."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from edgesdk.errors import InvalidArgumentError

LATENT_IMAGE_SUFFIX = ".eli"  # one frame (docs/bitstream.md)
LATENT_VIDEO_SUFFIX = ".elv"  # packets of frames (docs/video.md)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".y4m", ".yuv"}
VIDEO_SCHEMES = {"v4l2", "rtsp", "rtsps"}


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


def encode(source: str, destination: str, codec, log=print) -> list[tuple[Path, int, tuple[int, int]]]:
    """Encodes ``source`` to ``destination`` with an :class:`edgesdk.ImageCodec`; returns
    (written path, bytes, (height, width)) per frame."""
    from edgesdk.model import load_image

    src_kind, dst_kind = kind_of(source, must_exist=True), kind_of(destination, must_exist=False)
    pairs: list[tuple[Path, Path]]
    if (src_kind, dst_kind) == ("image", "latent-image"):
        pairs = [(local_path(source), local_path(destination))]
    elif (src_kind, dst_kind) == ("image-folder", "image-folder"):
        out = local_path(destination)
        out.mkdir(parents=True, exist_ok=True)
        pairs = [(p, out / (p.stem + LATENT_IMAGE_SUFFIX)) for p in _image_files(local_path(source), IMAGE_SUFFIXES)]
    elif src_kind == "video" and dst_kind == "latent-video":
        from edgesdk.video_codec import encode_video_uri

        return encode_video_uri(source, local_path(destination), codec, log=log)
    else:
        raise InvalidArgumentError(f"cannot encode a {src_kind} to a {dst_kind}: encode an image to {LATENT_IMAGE_SUFFIX}, "
                                   f"a folder of images to a folder, a video to {LATENT_VIDEO_SUFFIX}")
    written = []
    for src, dst in pairs:
        image = load_image(src)
        data = codec.encode(image)
        dst.write_bytes(data)
        written.append((dst, len(data), image.shape[:2]))
    return written


def decode(source: str, destination: str, codec, log=print) -> list[tuple[Path, tuple[int, int]]]:
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
    elif src_kind == "latent-video":
        from edgesdk.video_codec import decode_video_uri

        return decode_video_uri(local_path(source), destination, codec, log=log)
    else:
        raise InvalidArgumentError(f"cannot decode a {src_kind} to a {dst_kind}: decode {LATENT_IMAGE_SUFFIX} to an "
                                   f"image, a folder of {LATENT_IMAGE_SUFFIX} to a folder, {LATENT_VIDEO_SUFFIX} to a video")
    written = []
    for src, dst in pairs:
        image = codec.decode(src.read_bytes())
        Image.fromarray(image).save(dst)
        written.append((dst, image.shape[:2]))
    return written
