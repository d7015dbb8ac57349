"""Checks on what a graph returns, whatever the backend: a bundle's graph (or a backend) is
input like any other (docs/security.md). A generator that outputs NaN, four channels or a
constant 8x8 picture, or a compressor whose latent has the wrong geometry, raises
:class:`BackendError` instead of becoming a black, four-channel or tiny image."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from edgesdk.errors import BackendError


def _output(outputs: Mapping[str, object], graph: str, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if not isinstance(outputs, Mapping) or name not in outputs:
        names = sorted(outputs) if isinstance(outputs, Mapping) else type(outputs).__name__
        raise BackendError(f"the {graph} graph gave no output {name!r} (it gave {names}); the bundle's graph is "
                           f"not this codec's")
    value = outputs[name]
    if not isinstance(value, np.ndarray) or value.dtype != np.float32:
        raise BackendError(f"the {graph} graph's output {name!r} is {getattr(value, 'dtype', type(value).__name__)}, "
                           f"expected float32")
    if value.shape != shape:
        raise BackendError(f"the {graph} graph's output {name!r} has shape {value.shape}, expected {shape}; the "
                           f"bundle's graph is not this codec's")
    if not np.isfinite(value).all():
        raise BackendError(f"the {graph} graph's output {name!r} holds NaN or infinite values; the graph or the "
                           f"backend is broken (try another backend or precision)")
    return value


def check_compressor_outputs(outputs: Mapping[str, object], image_shape: tuple[int, ...], latent_channels: int,
                             hyper_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, z) of a compressor run on ``image_shape`` [1, 3, H, W]: y float32 [1, M, H/16, W/16]
    and z float32 [1, N, H/64, W/64], all finite; BackendError otherwise."""
    _, _, height, width = image_shape
    y = _output(outputs, "compressor", "y", (1, latent_channels, height // 16, width // 16))
    z = _output(outputs, "compressor", "z", (1, hyper_channels, height // 64, width // 64))
    return y, z


def check_generator_output(outputs: Mapping[str, object], latent_shape: tuple[int, ...]) -> np.ndarray:
    """The image of a generator run on ``latent_shape`` [1, M, h, w]: float32 [1, 3, 16h, 16w],
    finite; BackendError otherwise."""
    _, _, h, w = latent_shape
    return _output(outputs, "generator", "image", (1, 3, 16 * h, 16 * w))
