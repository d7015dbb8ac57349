"""The media layer's facts, each kept once: file extensions of images and videos, chroma formats."""

from __future__ import annotations

from edgesdk.errors import InvalidArgumentError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm")
# Containers the FFmpeg (PyAV) source and sink open by extension.
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".avi", ".mov", ".webm")
# Raw video files the media layer reads and writes itself.
RAW_VIDEO_EXTENSIONS = (".y4m", ".yuv")

# Chroma formats: name -> (horizontal, vertical) subsampling of the two chroma planes.
# "mono" has no chroma planes (they read as neutral grey, 128).
CHROMA_SUBSAMPLING: dict[str, tuple[int, int]] = {"420": (2, 2), "422": (2, 1), "444": (1, 1), "mono": (1, 1)}


def plane_shapes(width: int, height: int, chroma: str) -> list[tuple[int, int]]:
    """(rows, columns) of each plane: Y, then U and V unless mono. Chroma sizes round up."""
    if chroma not in CHROMA_SUBSAMPLING:
        raise InvalidArgumentError(f"unknown chroma format {chroma!r}; use one of {sorted(CHROMA_SUBSAMPLING)}")
    if chroma == "mono":
        return [(height, width)]
    sx, sy = CHROMA_SUBSAMPLING[chroma]
    chroma_shape = (-(-height // sy), -(-width // sx))
    return [(height, width), chroma_shape, chroma_shape]
