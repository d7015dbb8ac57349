"""The runner protocol and the backend registry.

A runner holds one graph (``compressor`` or ``generator``) of one quality level at one
precision and runs named float32 arrays (docs/architecture.md, "Adding a backend"). Each
backend's library is imported only when it is chosen. The compressor and the generator are
separate runners, so they may use different backends (or run on different machines): that
is the normal case.

Built in: ``onnxruntime`` (the default) and ``tensorrt``. ``pytorch`` (the reference) is
registered by ``edgesdk_export`` when that package is imported: the runtime never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from edgesdk.errors import DependencyError, InvalidArgumentError
from edgesdk.runtime.graphs import BUNDLE_PRECISIONS

if TYPE_CHECKING:  # the codec layer sits above the runtime: only its type is named here
    from edgesdk.codecs.model import CodecModel

PRECISIONS = BUNDLE_PRECISIONS  # what open_runner accepts (re-exported from runtime.graphs)


class GraphRunner(Protocol):
    """What every backend returns: one graph, ready to run.

    - ``input_names`` / ``output_names``: the graph's tensors, in order (the compressor takes
      ``image`` (1x3xHxW, 0..1) and gives ``y`` and ``z``; the generator takes ``y_hat`` and
      gives ``image``);
    - ``run(inputs)``: float32 arrays by input name -> float32 arrays by output name. Shapes
      vary per call (any multiple of 64 pixels); a runner may be called from one thread at a time;
    - ``close()``: releases the backend's resources; the runner is not used afterwards.
    """

    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the graph on named float32 arrays; returns its named float32 outputs."""
        ...

    def close(self) -> None:
        """Releases what the runner holds."""
        ...


# (model, quality, graph, precision, device, threads) -> runner
BackendFactory = Callable[["CodecModel", int, str, str, "str | None", "int | None"], GraphRunner]

_BACKENDS: dict[str, tuple[BackendFactory, tuple[str, ...]]] = {}
# Backends that register themselves from another package, and how to get it.
_INSTALL_HINTS = {"pytorch": 'the pytorch backend needs the export extra: pip install "edgesdk[export]"'}


def register_backend(name: str, factory: BackendFactory, precisions: tuple[str, ...] = PRECISIONS) -> None:
    """Makes ``backend=name`` open runners with ``factory(model, quality, graph, precision,
    device, threads)``; ``precisions`` are those it runs (others are refused before it is
    called). Registering a name again replaces it."""
    if not name or not isinstance(name, str):
        raise InvalidArgumentError(f"a backend name must be a non-empty string, not {name!r}")
    unknown = set(precisions) - set(PRECISIONS)
    if unknown:
        raise InvalidArgumentError(f"{name}: unknown precisions {sorted(unknown)}; bundles ship {PRECISIONS}")
    _BACKENDS[name] = (factory, tuple(precisions))


def backend_names() -> tuple[str, ...]:
    """The backends a caller may name: those registered, and those that register on import."""
    return tuple(dict.fromkeys([*_BACKENDS, *_INSTALL_HINTS]))


BACKENDS = ("onnxruntime", "tensorrt", "pytorch")  # the names the command line offers


def _check(backend: str, precision: str) -> None:
    if backend not in _BACKENDS and backend not in _INSTALL_HINTS:
        raise InvalidArgumentError(f"backend must be one of {backend_names()}, not {backend!r}")
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {PRECISIONS}, not {precision!r}")


def _load_plugins() -> None:
    """Runs the ``edgesdk.backends`` entry points of installed packages (each a function that
    calls :func:`register_backend`); edgesdk_export declares the pytorch one."""
    from edgesdk.lazy import load_plugins

    load_plugins("edgesdk.backends")


# A device profile's default_backend -> backend name.
_PROFILE_BACKENDS = {"tensorrt": "tensorrt", "onnxruntime-cuda": "onnxruntime", "onnxruntime-cpu": "onnxruntime"}


def plan_graph(graph: str, backend: str | None, precision: str | None, device: str | None) -> tuple[str, str]:
    """(backend, precision) for a graph: what the caller named, else the device profile's
    defaults (when a device is named), else ONNX Runtime at fp32."""
    if device is not None and (backend is None or precision is None):
        from edgesdk.runtime.devices import load_profile

        profile = load_profile(device)
        backend = backend or _PROFILE_BACKENDS[profile.default_backend]
        precision = precision or profile.default_precision.for_graph(graph)
    backend, precision = backend or "onnxruntime", precision or "fp32"
    _check(backend, precision)
    return backend, precision


def open_runner(model: CodecModel, quality: int, graph: str, backend: str = "onnxruntime",
                precision: str = "fp32", *, device: str | None = None, threads: int | None = None) -> GraphRunner:
    """A runner for one graph. ``device`` names a profile in devices/: ONNX Runtime then uses
    its execution providers (those available), TensorRT builds for it (else the detected one)."""
    _check(backend, precision)
    model.check_quality(quality)
    if backend not in _BACKENDS:
        _load_plugins()
    if backend not in _BACKENDS:
        raise DependencyError(_INSTALL_HINTS[backend])
    factory, precisions = _BACKENDS[backend]
    if precision not in precisions:
        raise InvalidArgumentError(f"the {backend} backend runs {' or '.join(precisions)}; "
                                   f"{precision} graphs run on onnxruntime or tensorrt")
    return factory(model, quality, graph, precision, device, threads)


def _profile_providers(device: str | None) -> list[str] | None:
    """The profile's ONNX Runtime providers that this onnxruntime has (CPU always last)."""
    if device is None:
        return None
    from edgesdk.runtime.devices import load_profile
    from edgesdk.runtime.onnxruntime import import_onnxruntime

    ort = import_onnxruntime()

    available = ort.get_available_providers()
    wanted = [p for p in load_profile(device).onnxruntime_providers if p in available]
    return wanted + ["CPUExecutionProvider"] if "CPUExecutionProvider" not in wanted else wanted


def _onnxruntime(model, quality, graph, precision, device, threads) -> GraphRunner:
    from edgesdk.runtime.onnxruntime import OnnxRuntimeRunner

    return OnnxRuntimeRunner(model.graph(quality, graph, precision), _profile_providers(device), threads)


def _tensorrt(model, quality, graph, precision, device, threads) -> GraphRunner:
    from edgesdk.runtime.devices import detect_profile, load_profile
    from edgesdk.runtime.tensorrt import TensorRTRunner, build_engine

    profile = load_profile(device or detect_profile())
    return TensorRTRunner(build_engine(model.bundle, graph, quality, profile, precision=precision))


register_backend("onnxruntime", _onnxruntime)
register_backend("tensorrt", _tensorrt)
