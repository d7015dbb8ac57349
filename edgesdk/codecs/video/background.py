"""Fixed-environment coding (docs/video.md, "Background"): a keyframe kept as a long-term
reference, the scene-change test that decides when to replace it, and the parse rules of the
two parameters that carry it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgesdk.bitstream.container import Frame, FrameType, Parameter
from edgesdk.errors import CorruptedError, LimitExceededError

BACKGROUND_ID_MODULUS = 1 << 31  # background ids are 0 … 2^31 − 1 and wrap

SCENE_CELL = 16  # pixels per side of the cells the scene-change test compares
SCENE_CELL_CHANGE = 12.0  # a cell changed when its mean absolute luma difference exceeds this
# The scene changed when more than this share of cells changed, or the mean luma moved by more
# than SCENE_LIGHTING levels (lighting); then a new background keyframe is coded.
DEFAULT_SCENE_CHANGE = 0.3
SCENE_LIGHTING = 10.0
# A group start predicted from the background that costs more than this share of the
# background keyframe's bytes is coded as a new background keyframe instead.
REFRESH_RATIO = 0.6


@dataclass
class Background:
    """A long-term reference: a decoded keyframe kept across GOPs under its id."""

    background_id: int
    image: np.ndarray  # the decoded keyframe (what every decoder holds)
    latent: np.ndarray | None = None  # y of ``image``, computed once per side
    y_hat: np.ndarray | None = None  # the keyframe's ŷ: y_pred of GOP starts with latent prediction
    original: np.ndarray | None = None  # encoder only: the source picture
    frame: bytes = b""  # encoder only: the keyframe's bytes, for decoders that join late
    monochrome: bool = False  # the keyframe carries MONOCHROME: GOPs predicted from it are shown grey

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the background."""
        return self.image.shape[0], self.image.shape[1]


def _luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def scene_change(image: np.ndarray, background: np.ndarray, threshold: float = DEFAULT_SCENE_CHANGE) -> float | None:
    """The share of 16x16 cells whose mean absolute luma difference from ``background``
    exceeds :data:`SCENE_CELL_CHANGE` when it is above ``threshold`` or the mean luma moved by
    more than :data:`SCENE_LIGHTING` (1.0 then); None when the scene is the same."""
    if image.shape != background.shape:
        return 1.0
    current, kept = _luma(image), _luma(background)
    if abs(float(current.mean()) - float(kept.mean())) > SCENE_LIGHTING:
        return 1.0
    difference = np.abs(current - kept)
    height, width = difference.shape
    rows, columns = -(-height // SCENE_CELL), -(-width // SCENE_CELL)
    padded = np.zeros((rows * SCENE_CELL, columns * SCENE_CELL), np.float32)
    padded[:height, :width] = difference
    counts = np.zeros_like(padded)
    counts[:height, :width] = 1
    sums = padded.reshape(rows, SCENE_CELL, columns, SCENE_CELL).sum(axis=(1, 3))
    cells = counts.reshape(rows, SCENE_CELL, columns, SCENE_CELL).sum(axis=(1, 3))
    changed = float(np.mean(sums / cells > SCENE_CELL_CHANGE))
    return changed if changed > threshold else None


def gop_start(image: np.ndarray, background: Background, threshold: float, code_from_background):
    """(what ``code_from_background()`` returned, or None for a new background keyframe; why) at
    a GOP start: None when the scene changed, or when the frame predicted from the background
    (``.data``: its bytes) costs more than :data:`REFRESH_RATIO` of the background keyframe."""
    changed = scene_change(image, background.original, threshold)
    if changed is not None:
        return None, f"keyframe: scene change ({changed:.0%} of cells)"
    coded = code_from_background()
    if len(coded[0].data) > REFRESH_RATIO * len(background.frame):
        return None, f"keyframe: {len(coded[0].data)} bytes from the background"
    return coded, "background"


def background_parameters(frame: Frame) -> tuple[int | None, int | None]:
    """(id the frame defines, id the frame is predicted from) of a video frame: a keyframe may
    define a background (``BACKGROUND_ID``), a P frame at GOP index 0 must name one
    (``BACKGROUND_REFERENCE``) and then has no ``REFERENCE_DISTANCE``. Raises CorruptedError
    or LimitExceededError on any other use."""
    parameters = frame.parameters
    defined, referenced = parameters.get(Parameter.BACKGROUND_ID), parameters.get(Parameter.BACKGROUND_REFERENCE)
    for key, value in ((Parameter.BACKGROUND_ID, defined), (Parameter.BACKGROUND_REFERENCE, referenced)):
        if value is not None and not 0 <= value < BACKGROUND_ID_MODULUS:
            raise LimitExceededError(f"{key.name} = {value} is outside 0..{BACKGROUND_ID_MODULUS - 1}")
    if defined is not None and frame.frame_type != FrameType.KEY:
        raise CorruptedError(f"a {frame.frame_type.name} frame cannot define a background")
    if referenced is not None:
        if frame.frame_type != FrameType.P or parameters.get(Parameter.GOP_INDEX) != 0:
            raise CorruptedError("only a P frame at GOP index 0 is predicted from a background")
        if Parameter.REFERENCE_DISTANCE in parameters:
            raise CorruptedError("a frame predicted from a background has no reference distance")
    return defined, referenced
