"""URIs -> sources and sinks, through registries keyed by URI scheme and file extension.

Other modules add handlers without editing this one::

    from edgesdk.media import register_sink
    register_sink(open_egv_sink, extensions=[".egv"])

A source opener is ``opener(location: MediaURI, options: dict) -> Source``; a sink opener is
``opener(location, width, height, fps, options) -> Sink`` (fps a Fraction or None). Each
opener rejects options it does not know (edgesdk.media.frames.Options).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from edgesdk.errors import InvalidArgumentError, NotFoundError, UnsupportedFormatError
from edgesdk.media.ffmpeg import FFmpegSink, open_rtsp, open_v4l2, open_video_file
from edgesdk.media.frames import Sink, Source, parse_fps
from edgesdk.media.formats import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from edgesdk.media.images import ImageFolderSink, ImageSource, split_folder_pattern
from edgesdk.media.yuvfile import RawYUVSink, RawYUVSource, Y4MSink, Y4MSource

FOLDER = "/"  # registry key of the handler for folders (image sequences)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PATH_SCHEMES = ("file", "v4l2")  # schemes whose URI names a local path and may carry ?options


@dataclass(frozen=True)
class MediaURI:
    """A parsed source or sink URI. ``path_text`` is set for file and v4l2 URIs (and bare
    paths); ``query`` holds their ``?key=value`` options. Other schemes keep ``text`` whole."""

    text: str
    scheme: str
    path_text: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The URI's location as a local path."""
        if self.path_text is None:
            raise InvalidArgumentError(f"{self.text}: not a local path")
        return Path(self.path_text).expanduser()


def parse_uri(uri: str | os.PathLike) -> MediaURI:
    """``file:///abs/x.yuv?width=352``, ``v4l2:///dev/video0``, ``rtsp://host/stream`` or a
    bare path (taken literally: a bare path has no ?options; pass them as keywords)."""
    if isinstance(uri, os.PathLike):
        return MediaURI(os.fspath(uri), "file", os.fspath(uri))
    if not isinstance(uri, str) or not uri:
        raise InvalidArgumentError(f"a media URI must be a non-empty string or path, got {uri!r}")
    match = _SCHEME.match(uri)
    if not match:
        return MediaURI(uri, "file", uri)
    scheme = match.group(1).lower()
    if scheme not in _PATH_SCHEMES:
        return MediaURI(uri, scheme)
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise InvalidArgumentError(f"{uri}: {scheme}://{parts.netloc}/... names a host; use {scheme}:///absolute/path")
    if not parts.path:
        raise InvalidArgumentError(f"{uri}: no path; use {scheme}:///absolute/path")
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in query:
            raise InvalidArgumentError(f"{uri}: option {key} is given twice")
        query[key] = value
    return MediaURI(uri, scheme, unquote(parts.path), query)


SourceOpener = Callable[[MediaURI, dict], Source]
SinkOpener = Callable[[MediaURI, int, int, "Fraction | None", dict], Sink]

_source_schemes: dict[str, SourceOpener] = {}
_source_extensions: dict[str, SourceOpener] = {}
_sink_schemes: dict[str, SinkOpener] = {}
_sink_extensions: dict[str, SinkOpener] = {}


def _register(opener, extensions: Iterable[str], schemes: Iterable[str], by_extension: dict, by_scheme: dict, replace: bool) -> None:
    entries = []
    for extension in extensions:
        if extension != FOLDER and not re.fullmatch(r"\.[a-z0-9]+", extension):
            raise InvalidArgumentError(f"extension {extension!r} must look like '.egv' (lower case, with the dot)")
        entries.append((by_extension, extension))
    for scheme in schemes:
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
            raise InvalidArgumentError(f"scheme {scheme!r} must look like 'rtsp' (lower case, without '://')")
        entries.append((by_scheme, scheme))
    for table, key in entries:
        if key in table and table[key] is not opener and not replace:
            raise InvalidArgumentError(f"{key!r} already has a handler; pass replace=True to override it")
    for table, key in entries:
        table[key] = opener


def register_source(
    opener: SourceOpener, *, extensions: Iterable[str] = (), schemes: Iterable[str] = (), replace: bool = False
) -> None:
    """Makes ``open_source`` use ``opener`` for these file extensions (".y4m"; FOLDER for
    folders) and URI schemes ("rtsp")."""
    _register(opener, extensions, schemes, _source_extensions, _source_schemes, replace)


def register_sink(
    opener: SinkOpener, *, extensions: Iterable[str] = (), schemes: Iterable[str] = (), replace: bool = False
) -> None:
    """Makes ``open_sink`` use ``opener`` for these file extensions and URI schemes."""
    _register(opener, extensions, schemes, _sink_extensions, _sink_schemes, replace)


def _merge_options(location: MediaURI, options: dict[str, Any]) -> dict[str, Any]:
    both = sorted(set(location.query) & set(options))
    if both:
        raise InvalidArgumentError(f"{location.text}: option(s) {', '.join(both)} given both in the URI and as arguments")
    return {**location.query, **options}


def _unknown_scheme(location: MediaURI, table: dict) -> UnsupportedFormatError:
    known = ", ".join(f"{s}://" for s in sorted({*table, "file"}))
    return UnsupportedFormatError(f"{location.text}: unknown URI scheme {location.scheme}://; supported: {known}")


def _by_extension(path: Path, table: dict, what: str, hint: str = ""):
    extension = path.suffix.lower()
    if extension in table:
        return table[extension]
    known = ", ".join(sorted(k for k in table if k != FOLDER))
    raise UnsupportedFormatError(f"{path}: cannot {what} {extension or 'a file without an extension'}; supported: {known}{hint}")


def open_source(uri: str | os.PathLike, **options: Any) -> Source:
    """Opens frames from ``uri``: an image, an image folder, .y4m, .yuv, a video file,
    ``v4l2:///dev/videoN`` or ``rtsp://...``. ``options`` (or the URI's ?query) go to the
    handler; see docs/media-io.md for each one's options."""
    location = parse_uri(uri)
    merged = _merge_options(location, options)
    if location.scheme != "file":
        opener = _source_schemes.get(location.scheme)
        if opener is None:
            raise _unknown_scheme(location, _source_schemes)
        return opener(location, merged)
    path = location.path
    if not path.exists():
        raise NotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        return _source_extensions[FOLDER](location, merged)
    return _by_extension(path, _source_extensions, "read")(location, merged)


def open_sink(uri: str | os.PathLike, width: int, height: int, fps: Any = None, **options: Any) -> Sink:
    """Opens a sink for ``width`` x ``height`` frames at ``fps`` (int, float, Fraction or
    "30000/1001"; image folders accept None): ``out/`` or ``out/%05d.png``, .y4m, .yuv, .mp4,
    .mkv, ... Existing files are overwritten."""
    location = parse_uri(uri)
    merged = _merge_options(location, options)
    rate = None if fps is None else parse_fps(fps, location.text)
    if not isinstance(width, int) or not isinstance(height, int):
        raise InvalidArgumentError(f"{location.text}: width and height must be integers, got {width!r} x {height!r}")
    if location.scheme != "file":
        opener = _sink_schemes.get(location.scheme)
        if opener is None:
            raise _unknown_scheme(location, _sink_schemes)
        return opener(location, width, height, rate, merged)
    if split_folder_pattern(location.path_text) is not None:
        return _sink_extensions[FOLDER](location, width, height, rate, merged)
    path = location.path
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        hint = f" (for images give a folder: {path.parent / path.stem}/ or {path.parent / path.stem}/%05d{path.suffix})"
    else:
        hint = "" if path.suffix else " (for an image folder, end the path with /)"
    opener = _by_extension(path, _sink_extensions, "write", hint)
    if not path.parent.is_dir():
        raise NotFoundError(f"{path}: the folder {path.parent} does not exist")
    return opener(location, width, height, rate, merged)


# ------------------------------------------------------------------- built-in handlers
# Their modules import numpy only; Pillow and PyAV load when a handler runs.

register_source(lambda location, options: ImageSource(location.path, options), extensions=[*IMAGE_EXTENSIONS, FOLDER])
register_source(lambda location, options: Y4MSource(location.path, options), extensions=[".y4m"])
register_source(lambda location, options: RawYUVSource(location.path, options), extensions=[".yuv"])
register_source(lambda location, options: open_video_file(location.path, options), extensions=VIDEO_EXTENSIONS)
register_source(lambda location, options: open_v4l2(location.path, options), schemes=["v4l2"])
register_source(lambda location, options: open_rtsp(location.text, options), schemes=["rtsp", "rtsps"])


def _image_folder_sink(location: MediaURI, width: int, height: int, fps: Fraction | None, options: dict) -> Sink:
    folder, pattern = split_folder_pattern(location.path_text)
    return ImageFolderSink(folder, pattern, width, height, fps, options)


def _file_sink(sink_class):
    return lambda location, width, height, fps, options: sink_class(location.path, width, height, fps, options)


register_sink(_image_folder_sink, extensions=[FOLDER])
register_sink(_file_sink(Y4MSink), extensions=[".y4m"])
register_sink(_file_sink(RawYUVSink), extensions=[".yuv"])
register_sink(_file_sink(FFmpegSink), extensions=VIDEO_EXTENSIONS)
