"""What search codes stand for, measured on pixels: the labels a feature identifier is
trained against and the pixel-domain side of every precision/recall figure
(docs/latent-search.md).

Each component is a number per image:

* ``brightness`` — mean BT.601 luma / 255;
* ``contrast`` — standard deviation of that luma / 255;
* ``red``, ``green``, ``blue`` — channel means / 255;
* ``colourfulness`` — Hasler and Süsstrunk's M (2003) / 100;
* ``face`` — 1 when OpenCV's shipped frontal-face Haar cascade finds a face, else 0.
"""

from __future__ import annotations

import functools

import numpy as np

from edgesdk.errors import DependencyError, InvalidArgumentError
from edgesdk.lazy import require

COMPONENTS = ("brightness", "contrast", "red", "green", "blue", "colourfulness", "face")
OPENCV_HINT = ('face labels need OpenCV\'s Haar cascades: pip install --no-deps "opencv-python-headless<5" '
               '(or the "search" extra)')
# Detector settings: OpenCV's documented defaults except a minimum face of 24 pixels, the
# cascade's own window (smaller detections in a compressed picture are mostly texture).
FACE_SCALE_FACTOR = 1.1
FACE_MIN_NEIGHBORS = 5
FACE_MIN_SIZE = 24


@functools.lru_cache(maxsize=1)
def _face_cascade():
    cv2 = require("cv2", OPENCV_HINT)
    if not hasattr(cv2, "CascadeClassifier"):  # OpenCV 5 moved the cascades out of the main package
        raise DependencyError(f"OpenCV {cv2.__version__} has no Haar cascades; {OPENCV_HINT}")
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise InvalidArgumentError("OpenCV's haarcascade_frontalface_default.xml did not load")
    return cascade


def luma(pixels: np.ndarray) -> np.ndarray:
    """BT.601 luma (float64, 0..255) of an HxWx3 uint8 image."""
    rgb = pixels.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def faces(pixels: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Faces (x, y, width, height) the frontal-face Haar cascade finds in an HxWx3 uint8 image."""
    cv2 = require("cv2", OPENCV_HINT)
    grey = np.clip(np.rint(luma(pixels)), 0, 255).astype(np.uint8)
    found = _face_cascade().detectMultiScale(cv2.equalizeHist(grey), scaleFactor=FACE_SCALE_FACTOR,
                                             minNeighbors=FACE_MIN_NEIGHBORS,
                                             minSize=(FACE_MIN_SIZE, FACE_MIN_SIZE))
    return [tuple(int(v) for v in box) for box in found]


def pixel_labels(pixels: np.ndarray, *, with_faces: bool = True) -> np.ndarray:
    """The components of :data:`COMPONENTS` measured on an HxWx3 uint8 image (float64); the
    face component is NaN when ``with_faces`` is False."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise InvalidArgumentError(f"expected an HxWx3 uint8 image, got {pixels.dtype} {pixels.shape}")
    rgb = pixels.astype(np.float64)
    y = luma(pixels)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    face = (1.0 if faces(pixels) else 0.0) if with_faces else float("nan")
    means = rgb.reshape(-1, 3).mean(axis=0) / 255.0
    return np.array([y.mean() / 255.0, y.std() / 255.0, *means, colourfulness / 100.0, face])
