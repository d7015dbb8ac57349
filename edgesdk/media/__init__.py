"""Media I/O by URI: sources and sinks of RGB frames (images, image folders, .y4m, raw .yuv,
video files, V4L2 cameras, RTSP streams). See docs/media-io.md.

    with open_source("clip.y4m") as source, open_sink("out.mp4", source.width, source.height, source.fps) as sink:
        for frame in source:
            sink.write(frame)

Imports numpy only; Pillow and PyAV (pip install 'edgesdk[video]') load when used.
"""

from __future__ import annotations

from edgesdk.media.color import rgb_to_yuv, yuv_to_rgb
from edgesdk.media.frames import (
    MAX_PIXELS,
    MAX_SIDE,
    Sink,
    Source,
    VideoFrame,
    YUVFrame,
    YUVSink,
    YUVSource,
)
from edgesdk.media.registry import FOLDER, MediaURI, open_sink, open_source, parse_uri, register_sink, register_source

__all__ = [
    "FOLDER",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MediaURI",
    "Sink",
    "Source",
    "VideoFrame",
    "YUVFrame",
    "YUVSink",
    "YUVSource",
    "open_sink",
    "open_source",
    "parse_uri",
    "register_sink",
    "register_source",
    "rgb_to_yuv",
    "yuv_to_rgb",
]
