"""The ONNX Runtime backend (the default): a session on the best available execution provider."""

from __future__ import annotations

import numpy as np

from edgesdk.errors import BackendError, DependencyError
from edgesdk.lazy import require

# Preferred ONNX Runtime execution providers, best first; the CPU one is always available.
PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def import_onnxruntime():
    """The onnxruntime module, or a DependencyError saying how to install it."""
    return require("onnxruntime", "the onnxruntime backend needs ONNX Runtime: pip install onnxruntime "
                                  "(onnxruntime-gpu for CUDA)")


class OnnxRuntimeRunner:
    """An ONNX Runtime session on the best available execution provider (or the given ones)."""

    def __init__(self, model: bytes, providers: list[str] | None = None, threads: int | None = None) -> None:
        ort = import_onnxruntime()
        available = ort.get_available_providers()
        if providers is None:
            providers = [p for p in PROVIDERS if p in available]
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
        try:
            self._session = ort.InferenceSession(model, options, providers=providers)
        except Exception as error:  # onnxruntime's exceptions share no base class we could name
            raise BackendError(f"ONNX Runtime cannot load the graph ({type(error).__name__}: "
                               f"{str(error)[:500]})") from error
        self.providers = tuple(self._session.get_providers())
        self.input_names = tuple(i.name for i in self._session.get_inputs())
        self.output_names = tuple(o.name for o in self._session.get_outputs())

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the session on named float32 arrays; returns its named outputs."""
        if self._session is None:
            raise BackendError("this ONNX Runtime runner was closed")
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise BackendError(f"the graph needs inputs {missing}; given {sorted(inputs)}")
        feeds = {name: np.ascontiguousarray(inputs[name], dtype=np.float32) for name in self.input_names}
        try:
            results = self._session.run(None, feeds)
        except Exception as error:  # onnxruntime's exceptions share no base class we could name
            raise BackendError(f"ONNX Runtime failed to run the graph ({type(error).__name__}: "
                               f"{str(error)[:500]})") from error
        return dict(zip(self.output_names, results, strict=True))

    def close(self) -> None:
        """Drops the session."""
        self._session = None
