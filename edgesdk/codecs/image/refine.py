"""Encode-time latent refinement (``ImageCodec(refine=N)``, docs/models.md): N gradient steps
on the rate-distortion loss of one image's latent y, with the generator and the entropy model
fixed, before y is coded.

Only the encoder changes: the hyper-latent ẑ (so every table index and mean) stays what the
compressor gave, and the refined y is coded by the same integer path, so every decoder reads
the result unchanged. Gradients need PyTorch, so the refiner itself is a plugin: a package
registers a factory with :func:`register_refiner` (edgesdk_export does, through the entry
point group ``edgesdk.refiners``); the runtime never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edgesdk.codecs.image.entropy_model import LatentParameters
from edgesdk.errors import DependencyError, InvalidArgumentError

if TYPE_CHECKING:
    from edgesdk.codecs.model import CodecModel

PLUGIN_GROUP = "edgesdk.refiners"
DEFAULT_REFINER = "pytorch"
INSTALL_HINT = ('latent refinement (refine > 0) computes gradients with PyTorch; install the export extra: '
                'pip install "edgesdk[export]" (or encode without refinement)')
MAX_STEPS = 100_000


@dataclass(frozen=True)
class RefineTask:
    """One image's latent to refine, with everything the loss needs."""

    pixels: np.ndarray  # uint8 [H, W, 3], edge-padded to the transforms' grid
    height: int  # the picture's own size inside ``pixels`` (the rest is padding, not scored)
    width: int
    y: np.ndarray  # float32 [M, H/16, W/16], the compressor's latent
    parameters: LatentParameters  # table index and mean of every element of y (from ẑ, fixed)


Refiner = Callable[[RefineTask], np.ndarray]  # the refined y, float32 [M, h, w]
RefinerFactory = Callable[["CodecModel", int, int, "int | None"], Refiner]  # (model, quality, steps, threads)

_FACTORIES: dict[str, RefinerFactory] = {}


def register_refiner(name: str, factory: RefinerFactory) -> None:
    """Makes ``open_refiner(..., name=name)`` build refiners with ``factory(model, quality,
    steps, threads)``. Registering a name again replaces it."""
    if not name or not isinstance(name, str):
        raise InvalidArgumentError(f"a refiner name must be a non-empty string, not {name!r}")
    _FACTORIES[name] = factory


def check_steps(steps: int) -> int:
    """``steps`` as a refinement step count (0: no refinement); InvalidArgumentError otherwise."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise InvalidArgumentError(f"refine must be a whole number of steps in 0..{MAX_STEPS}, not {steps!r}")
    return int(steps)


def refiner_factory(name: str = DEFAULT_REFINER) -> RefinerFactory:
    """The registered factory ``name`` (loading the plugins first when needed);
    DependencyError with the install hint when no installed package provides it."""
    if name not in _FACTORIES:
        from edgesdk.lazy import load_plugins

        load_plugins(PLUGIN_GROUP)
    if name not in _FACTORIES:
        raise DependencyError(INSTALL_HINT)
    return _FACTORIES[name]


def open_refiner(model: CodecModel, quality: int, steps: int, threads: int | None = None,
                 name: str = DEFAULT_REFINER) -> Refiner:
    """A refiner of ``steps`` steps for one quality level of ``model``."""
    return refiner_factory(name)(model, quality, check_steps(steps), threads)
