"""Which latent cells an inter frame shows as its prediction (``COPY_BLOCKS``, docs/video.md):
measured with a second synthesis, or predicted from the previous frame's generator error."""

from __future__ import annotations

import numpy as np

from edgesdk.codecs.image.codec import HyperpriorImageCodec
from edgesdk.codecs.video.syntax import cell_errors, reconstruct, show_copied_blocks


def measured_copies(codec: HyperpriorImageCodec, source: np.ndarray, prediction: np.ndarray, y_pred: np.ndarray,
                    residual: np.ndarray, step: float | np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray | None,
                                                                                np.ndarray, np.ndarray]:
    """(residual, copied cells or None, decoded picture, generator error per cell): synthesise,
    mark the cells whose prediction error is at most ``tolerance`` times the generator's, drop
    their residual and synthesise again."""
    height, width = source.shape[:2]
    grid = residual.shape[1:]
    decoded = reconstruct(codec, y_pred, residual, step, height, width)
    generator_error = cell_errors(decoded, source, grid)
    copied = cell_errors(prediction, source, grid) <= tolerance * generator_error
    if not copied.any():
        return residual, None, decoded, generator_error
    residual = np.where(copied[None], 0, residual).astype(np.int32)
    decoded = show_copied_blocks(reconstruct(codec, y_pred, residual, step, height, width), prediction, copied)
    return residual, copied, decoded, generator_error


def predicted_copies(codec: HyperpriorImageCodec, source: np.ndarray, prediction: np.ndarray, y_pred: np.ndarray,
                     residual: np.ndarray, step: float | np.ndarray, tolerance: float,
                     expected_error: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """As :func:`measured_copies` with one synthesis: cells are compared with
    ``expected_error`` (the generator's error per cell on an earlier frame) instead of this
    frame's; the returned error map keeps the expectation at copied cells."""
    height, width = source.shape[:2]
    grid = residual.shape[1:]
    copied = cell_errors(prediction, source, grid) <= tolerance * expected_error
    if copied.any():
        residual = np.where(copied[None], 0, residual).astype(np.int32)
    generated = reconstruct(codec, y_pred, residual, step, height, width)
    generator_error = np.where(copied, expected_error, cell_errors(generated, source, grid))
    if not copied.any():
        return residual, None, generated, generator_error
    return residual, copied, show_copied_blocks(generated, prediction, copied), generator_error
