"""Backends: one small runner interface over ONNX Runtime, TensorRT and the PyTorch reference.

A runner holds one graph of one quality level at one precision and runs named float32
arrays (DESIGN.md, section 6). Each backend's library is imported only when it is chosen.
The compressor and the generator are separate runners, so they may use different backends
(or run on different machines): that is the normal case.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edgesdk.errors import DependencyError, InvalidArgumentError
from edgesdk.model import CodecModel

BACKENDS = ("onnxruntime", "tensorrt", "pytorch")
PRECISIONS = ("fp32", "fp16", "int8")  # int8: generators quantized with Q/DQ nodes (edgesdk_export.int8)
_TORCH_PRECISIONS = ("fp32", "fp16")
# Preferred ONNX Runtime execution providers, best first; the CPU one is always available.
_ORT_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


class GraphRunner(Protocol):
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...


class OnnxRuntimeRunner:
    """An ONNX Runtime session on the best available execution provider (or the given ones)."""

    def __init__(self, model: bytes, providers: list[str] | None = None, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as error:
            raise DependencyError("the onnxruntime backend needs ONNX Runtime: pip install onnxruntime "
                                  "(onnxruntime-gpu for CUDA)") from error
        available = ort.get_available_providers()
        if providers is None:
            providers = [p for p in _ORT_PROVIDERS if p in available]
        missing = [p for p in providers if p not in available]
        if missing:
            raise DependencyError(f"ONNX Runtime here lacks {missing}; it has {available}")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # fp16 graphs on the CPU warn about constant folding
        # Not "session.set_denormal_as_zero": it switches the calling thread's FP mode too,
        # which would change results of the caller's own float code.
        # Idle ONNX Runtime threads otherwise spin for a while after each run, taking the cores
        # the entropy path and the caller run on next (768x512 encode 76 -> 50 ms end to end here).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(model, options, providers=providers)
        self.providers = tuple(self._session.get_providers())
        self.input_names = tuple(i.name for i in self._session.get_inputs())
        self.output_names = tuple(o.name for o in self._session.get_outputs())

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = {name: np.ascontiguousarray(inputs[name], dtype=np.float32) for name in self.input_names}
        return dict(zip(self.output_names, self._session.run(None, feeds), strict=True))

    def close(self) -> None:
        self._session = None


class TorchRunner:
    """The PyTorch reference: the graph's module from ``edgesdk_export``, weights read from
    the bundle's fp32 ONNX graph (so it runs exactly the shipped weights)."""

    def __init__(self, model: CodecModel, quality: int, graph: str, precision: str = "fp32",
                 threads: int | None = None) -> None:
        try:
            import torch
            from edgesdk_export.models import CodecConfig
            from edgesdk_export.onnx_export import GRAPHS, graph_module, load_graph_weights
        except ImportError as error:
            raise DependencyError('the pytorch backend needs the export extra: pip install "edgesdk[export]"') \
                from error
        module = load_graph_weights(graph_module(CodecConfig.from_dict(model.config), graph),
                                    model.graph(quality, graph, "fp32"))
        self._dtype = {"fp32": torch.float32, "fp16": torch.float16}[precision]
        module.to(self._dtype)
        module.dtype = self._dtype
        self._module = module
        self._torch = torch
        self._threads = threads
        self.input_names = GRAPHS[graph].input_names
        self.output_names = GRAPHS[graph].output_names

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self._torch
        previous = torch.get_num_threads()
        if self._threads:
            torch.set_num_threads(self._threads)
        try:
            with torch.no_grad():
                outputs = self._module(torch.from_numpy(np.ascontiguousarray(inputs[self.input_names[0]],
                                                                             dtype=np.float32)))
        finally:
            torch.set_num_threads(previous)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        return {name: t.float().numpy() for name, t in zip(self.output_names, outputs, strict=True)}

    def close(self) -> None:
        self._module = None


# A device profile's default_backend → (backend, whether ONNX Runtime should use the profile's providers).
_PROFILE_BACKENDS = {"tensorrt": "tensorrt", "onnxruntime-cuda": "onnxruntime", "onnxruntime-cpu": "onnxruntime"}


def plan_graph(graph: str, backend: str | None, precision: str | None, device: str | None) -> tuple[str, str]:
    """(backend, precision) for a graph: what the caller named, else the device profile's
    defaults (when a device is named), else ONNX Runtime at fp32."""
    if device is not None and (backend is None or precision is None):
        from edgesdk.devices import load_profile

        profile = load_profile(device)
        backend = backend or _PROFILE_BACKENDS[profile.default_backend]
        precision = precision or profile.default_precision.for_graph(graph)
    backend, precision = backend or "onnxruntime", precision or "fp32"
    if backend not in BACKENDS:
        raise InvalidArgumentError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    return backend, precision


def _profile_providers(device: str | None) -> list[str] | None:
    """The profile's ONNX Runtime providers that this onnxruntime has (CPU always last)."""
    if device is None:
        return None
    import onnxruntime as ort

    from edgesdk.devices import load_profile

    available = ort.get_available_providers()
    wanted = [p for p in load_profile(device).onnxruntime_providers if p in available]
    return wanted + ["CPUExecutionProvider"] if "CPUExecutionProvider" not in wanted else wanted


def open_runner(model: CodecModel, quality: int, graph: str, backend: str = "onnxruntime",
                precision: str = "fp32", *, device: str | None = None, threads: int | None = None) -> GraphRunner:
    """A runner for one graph. ``device`` names a profile in devices/: ONNX Runtime then uses
    its execution providers (those available), TensorRT builds for it (else the detected one)."""
    if backend not in BACKENDS:
        raise InvalidArgumentError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    model.check_quality(quality)
    if backend == "onnxruntime":
        return OnnxRuntimeRunner(model.graph(quality, graph, precision), _profile_providers(device), threads)
    if backend == "pytorch":
        if precision not in _TORCH_PRECISIONS:
            raise InvalidArgumentError(f"the pytorch backend runs {' or '.join(_TORCH_PRECISIONS)}; "
                                       f"{precision} graphs run on onnxruntime or tensorrt")
        return TorchRunner(model, quality, graph, precision, threads)
    from edgesdk.devices import detect_profile, load_profile
    from edgesdk.tensorrt_engine import TensorRTRunner, build_engine

    profile = load_profile(device or detect_profile())
    return TensorRTRunner(build_engine(model.bundle, graph, quality, profile, precision=precision))

