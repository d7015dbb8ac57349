"""``edgesdk encode --roi``: rectangles X,Y,W,H (repeatable) or ``faces`` (OpenCV's shipped
frontal-face Haar cascade, run on each image and each video frame; docs/roi.md)."""

from __future__ import annotations

from edgesdk.errors import InvalidArgumentError


def faces_region(image) -> list[tuple[int, int, int, int]]:
    """The faces OpenCV's frontal-face Haar cascade finds in an HxWx3 uint8 image, as
    rectangles (x, y, w, h); DependencyError without OpenCV."""
    from edgesdk.search.labels import faces

    return faces(image)


def parse_roi(values: list[str] | None):
    """The region of ``--roi`` values: None (none given), :func:`faces_region`, or a list of
    rectangles (x, y, w, h); InvalidArgumentError for anything else."""
    if not values:
        return None
    if "faces" in values:
        if len(values) > 1:
            raise InvalidArgumentError("--roi faces cannot be combined with rectangles")
        from edgesdk.search.labels import _face_cascade

        _face_cascade()  # DependencyError now, not at the first frame
        return faces_region
    boxes = []
    for value in values:
        try:
            box = tuple(int(v) for v in value.split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or box[0] < 0 or box[1] < 0 or box[2] <= 0 or box[3] <= 0:
            raise InvalidArgumentError(f"--roi {value!r}: expected X,Y,W,H in pixels (W, H positive) or 'faces'")
        boxes.append(box)
    return boxes


def region_of(roi, image):
    """The region for one image: the rectangles, or what the detector finds in it."""
    return roi(image) if callable(roi) else roi
