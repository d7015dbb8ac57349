"""What ``edgesdk encode`` and ``edgesdk decode`` do with paths and URIs: the kind of each
side (image, image folder, video, latent image, latent folder, latent video) follows from
its extension or URI scheme."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse

from edgesdk.errors import InvalidArgumentError
from edgesdk.limits import DEFAULT_MAX_GOP_LENGTH, DEFAULT_MAX_REFERENCE_DISTANCE
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
    b_frames: int | None = None  # None: the preset's, else the encoder's default
    max_frames: int | None = None  # live sources (rtsp://, v4l2://) run until this or Ctrl-C
    step: float = 1.0  # residual quantization step of inter frames: larger is fewer bits
    preset: str | None = None  # edgesdk.codecs.video.PRESETS; None: DEFAULT_PRESET, LIVE_PRESET for live sources
    roi: object = None  # --roi: rectangles or a detector (edgesdk.cli.roi_option), applied to every frame
    live_queue: int = 4  # live sources: frames queued between capture and encoder (docs/media-io.md)


def encoder_options(options: VideoOptions, live: bool = False) -> dict:
    """The :class:`~edgesdk.codecs.video.VideoEncoder` keywords of ``options``: the preset's
    (none given: the file or the ``live`` default) over the command's defaults, and a B-frame
    count the user gave over the preset's."""
    from edgesdk.codecs.video import preset_options
    from edgesdk.codecs.video.presets import DEFAULT_PRESET, LIVE_PRESET

    preset = options.preset or (LIVE_PRESET if live else DEFAULT_PRESET)
    chosen = {"keyframe_interval": options.keyframe_interval, "p_step": options.step, "roi": options.roi,
              **preset_options(preset)}
    if options.b_frames is not None:
        chosen["b_frames"] = options.b_frames
    return chosen


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
        if must_exist and any(p.suffix.lower() == LATENT_IMAGE_SUFFIX for p in path.rglob("*")):
            return "latent-folder"
        return "image-folder"
    if must_exist and not suffix and not path.exists():
        from edgesdk.errors import NotFoundError

        raise NotFoundError(f"{target}: no such file or folder")
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
    """Files of ``folder`` and its subfolders with one of ``suffixes`` (hidden ones skipped),
    in order."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in suffixes and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise InvalidArgumentError(f"{folder}: no {'/'.join(sorted(suffixes))} files in this folder or its subfolders")
    return files


def folder_pairs(source: Path, destination: Path, suffixes: set[str], out_suffix: str) -> list[tuple[Path, Path]]:
    """(input, output) for every file of ``source`` (subfolders mirrored under ``destination``).
    Inputs whose names differ only in their extension (``x.png``, ``x.jpg``) keep it in the
    output's name (``x.png.eli``, ``x.jpg.eli``), so no output overwrites another."""
    files = _image_files(source, suffixes)
    stems: dict[Path, int] = {}
    for path in files:
        key = path.relative_to(source).with_suffix("")
        stems[key] = stems.get(key, 0) + 1
    pairs = []
    for path in files:
        relative = path.relative_to(source)
        name = relative.name if stems[relative.with_suffix("")] > 1 else relative.stem
        pairs.append((path, destination / relative.parent / (name + out_suffix)))
    return pairs


@dataclass
class Failed:
    """An input of a batch that could not be done, and why."""

    path: Path
    reason: str


@dataclass
class Batch:
    """What a command wrote, and the inputs that failed (the rest were done)."""

    written: list[Written]
    failed: list[Failed]
    damage: str | None = None  # a video decoded with losses: what was lost


def _prepare_pairs(pairs: list[tuple[Path, Path]], force: bool) -> None:
    """Checks every output before any work: folders writable, nothing overwritten without force."""
    from edgesdk.cli.common import check_writable_folder

    existing = [str(dst) for _, dst in pairs if dst.exists()]
    if existing and not force:
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise InvalidArgumentError(f"{', '.join(existing[:3])}{more}: exist(s); use --force to overwrite")
    for folder in sorted({dst.parent for _, dst in pairs}):
        check_writable_folder(folder, create=True)


def _run_pairs(pairs: list[tuple[Path, Path]], work, desc: str, unit: str) -> Batch:
    """Runs ``work(src, dst) -> Written`` on every pair; a failing input is reported on stderr
    and the batch goes on."""
    import sys

    from edgesdk.cli.common import progress
    from edgesdk.errors import Error

    written, failed = [], []
    for src, dst in progress(pairs, total=len(pairs), desc=desc, unit=unit):
        try:
            written.append(work(src, dst))
        except Error as error:
            failed.append(Failed(src, str(error)))
            if len(pairs) > 1:
                print(f"edgesdk: error: {src}: {error} (skipped)", file=sys.stderr)
            else:
                raise
    return Batch(written, failed)


def encode(source: str, destination: str, codec, video: VideoOptions = VideoOptions(), force: bool = False,
           transforms=None) -> Batch:
    """Encodes ``source`` to ``destination`` with an :class:`edgesdk.ImageCodec`; outputs are
    checked before any work and written atomically. ``transforms`` (images only) are applied
    to the integer latents before entropy coding and recorded in each frame (docs/latent-edit.md);
    ``video.roi`` applies to images too."""
    from edgesdk.cli.common import check_output_file, write_atomically
    from edgesdk.cli.roi_option import region_of
    from edgesdk.codecs.model import load_image

    src_kind, dst_kind = kind_of(source, must_exist=True), kind_of(destination, must_exist=False)
    _check_source(source, src_kind)
    pairs: list[tuple[Path, Path]]
    if (src_kind, dst_kind) == ("image", "latent-image"):
        pairs = [(local_path(source), local_path(destination))]
        check_output_file(pairs[0][1], force)
    elif (src_kind, dst_kind) == ("image-folder", "image-folder"):
        pairs = folder_pairs(local_path(source), local_path(destination), IMAGE_SUFFIXES, LATENT_IMAGE_SUFFIX)
        _prepare_pairs(pairs, force)
    elif src_kind in ("video", "image-folder") and dst_kind == "latent-video":
        if transforms:
            raise InvalidArgumentError(f"--transform applies to images, not to video: P and B frames code residuals "
                                       f"against decoded pixels, which a latent transform cannot follow; encode the "
                                       f"frames as images (a folder of {LATENT_IMAGE_SUFFIX}) or transform the video")
        if video.max_frames is not None and video.max_frames < 1:
            raise InvalidArgumentError(f"--max-frames must be at least 1, not {video.max_frames}")
        if video.b_frames is not None and not 0 <= video.b_frames < DEFAULT_MAX_REFERENCE_DISTANCE:
            raise InvalidArgumentError(f"--b-frames must be in 0..{DEFAULT_MAX_REFERENCE_DISTANCE - 1} (a B frame's "
                                       f"references are at most {DEFAULT_MAX_REFERENCE_DISTANCE} frames apart), "
                                       f"not {video.b_frames}")
        if not 1 <= video.keyframe_interval <= DEFAULT_MAX_GOP_LENGTH:
            raise InvalidArgumentError(f"--keyframe-interval must be in 1..{DEFAULT_MAX_GOP_LENGTH}, "
                                       f"not {video.keyframe_interval}")
        check_output_file(local_path(destination), force)
        return Batch([_encode_video(source, local_path(destination), codec, video)], [])
    else:
        raise InvalidArgumentError(f"cannot encode {_a(src_kind)} to {_a(dst_kind)}: encode an image to "
                                   f"{LATENT_IMAGE_SUFFIX}, a folder of images to a folder, a video to "
                                   f"{LATENT_VIDEO_SUFFIX}")

    def work(src: Path, dst: Path) -> Written:
        from edgesdk.cli.common import tile_progress

        from edgesdk.bitstream.container import Frame

        image = load_image(src)
        with tile_progress(codec, image.shape[0], image.shape[1], "encode"):
            region = None if video.roi is None else region_of(video.roi, image)
            data = codec.encode(image, transforms=transforms, roi=region)  # both at once are refused there
        write_atomically(dst, data)
        header = Frame.parse(data) if transforms else None  # a crop or a turn changes the size
        return Written(dst, len(data), *((header.width, header.height) if header else image.shape[1::-1]))

    return _run_pairs(pairs, work, "encode", "image")


def _a(kind: str) -> str:
    """'an image folder', 'a latent video': a kind with its article, in words."""
    words = kind.replace("-", " ")
    return ("an " if words[0] in "aeiou" else "a ") + words


def _check_source(source: str, kind: str) -> None:
    """A local input must exist (one line instead of a traceback later)."""
    from edgesdk.errors import NotFoundError

    if urlparse(source).scheme in VIDEO_SCHEMES:
        return
    path = local_path(source)
    if not path.exists():
        raise NotFoundError(f"{source}: no such file or folder")


def _encode_video(source: str, destination: Path, codec, options: VideoOptions) -> Written:
    from edgesdk.cli.common import atomic_output, progress
    from edgesdk.media import open_source
    from edgesdk.codecs.video import write_video
    import sys

    from edgesdk.media.live import LiveQueue, live_frames

    frames, live = 0, urlparse(source).scheme in VIDEO_SCHEMES
    queue = LiveQueue(options.live_queue) if live else None
    with open_source(source) as frames_in, atomic_output(destination) as temporary:
        rate = Fraction(frames_in.fps) if frames_in.fps else None
        total = getattr(frames_in, "frame_count", None)
        if options.max_frames is not None:
            total = min(total, options.max_frames) if total else options.max_frames

        def pixels():
            nonlocal frames
            try:
                for frame in live_frames(frames_in, queue=queue) if live else frames_in:
                    if options.max_frames is not None and frames >= options.max_frames:
                        return
                    frames += 1
                    yield frame if live else frame.pixels  # a LiveFrame: write_video skips what was dropped
            except KeyboardInterrupt:
                if urlparse(source).scheme not in VIDEO_SCHEMES:
                    raise  # a file: Ctrl-C stops the command
                return  # a live source ends when the user stops it; the stream is closed

        size = write_video(temporary, progress(pixels(), total=total, desc="encode", unit="frame"), codec,
                           **encoder_options(options, live),
                           frame_rate=(rate.numerator, rate.denominator) if rate else None)
        width, height = frames_in.width, frames_in.height
        if queue is not None:
            print(f"edgesdk: {queue.stats.summary()}", file=sys.stderr)
        if frames == 0:
            raise InvalidArgumentError(f"{source}: no frames to encode")
    return Written(destination, size, width, height, frames)


def decode(source: str, destination: str, codec, force: bool = False, on_damage: str = "skip",
           crf: float | None = None, transforms=None) -> Batch:
    """Decodes ``source`` (latent image, folder of them, or latent video) to ``destination``;
    outputs are checked before any work and written atomically. ``transforms`` (latent images
    only) are applied to the parsed latents before the generator (docs/latent-edit.md)."""
    from edgesdk.cli.common import atomic_output, check_output_file
    from edgesdk.codecs.image.codec import read_latent_image

    src_kind, dst_kind = kind_of(source, must_exist=True), kind_of(destination, must_exist=False)
    _check_source(source, src_kind)
    pairs: list[tuple[Path, Path]]
    if (src_kind, dst_kind) == ("latent-image", "image"):
        pairs = [(local_path(source), local_path(destination))]
        check_output_file(pairs[0][1], force)
    elif (src_kind, dst_kind) == ("latent-folder", "image-folder"):
        pairs = folder_pairs(local_path(source), local_path(destination), {LATENT_IMAGE_SUFFIX}, ".png")
        _prepare_pairs(pairs, force)
    elif src_kind == "latent-video" and dst_kind in ("video", "image-folder"):
        folder = dst_kind == "image-folder" and not destination.endswith("/")
        if transforms:
            raise InvalidArgumentError("--transform applies to latent images, not to a latent video: its P and B "
                                       "frames code residuals against decoded pixels, which a latent transform "
                                       "cannot follow; decode the video, or edit keyframes one by one")
        from edgesdk.cli.video_decode import decode_video

        return decode_video(local_path(source), destination + "/" if folder else destination, codec,
                            on_damage, force, crf)
    else:
        raise InvalidArgumentError(f"cannot decode {_a(src_kind)} to {_a(dst_kind)}: decode {LATENT_IMAGE_SUFFIX} to "
                                   f"an image, a folder of {LATENT_IMAGE_SUFFIX} to a folder, {LATENT_VIDEO_SUFFIX} "
                                   f"to a video")

    def work(src: Path, dst: Path) -> Written:
        from PIL import Image

        from edgesdk.bitstream.container import Frame, Parameter
        from edgesdk.cli.common import tile_progress

        data = read_latent_image(src)
        header = Frame.parse(data)
        with tile_progress(codec, header.height, header.width, "decode"):
            image = codec.decode(data) if not transforms else codec.decode(data, transforms=transforms)
        if header.parameters.get(Parameter.MONOCHROME) == 1:
            image = image[:, :, 0]  # a grey source comes back as a grey (mode L) file
        with atomic_output(dst) as temporary:
            Image.fromarray(image).save(temporary, format=Image.registered_extensions().get(dst.suffix.lower()))
        return Written(dst, dst.stat().st_size, image.shape[1], image.shape[0])

    return _run_pairs(pairs, work, "decode", "image")
