"""TensorRT and cuda-python, loaded on first use with an install hint; CUDA call helpers and
the TensorRT logger."""

from __future__ import annotations
from typing import Any
from edgesdk.lazy import require
from edgesdk.errors import BackendError, DependencyError

INSTALL_HINT = 'pip install "edgesdk[tensorrt]"'
HARDWARE_HINT = ("an NVIDIA GPU with its driver: a Jetson (JetPack 6 or newer; use the TensorRT Python "
                 "package JetPack installs) or a discrete GPU")


MAX_LOG_LINES = 40


# --- Dependencies -----------------------------------------------------------------------------


def import_tensorrt() -> Any:
    """TensorRT, or a DependencyError saying how to install it."""
    return require("tensorrt", f"TensorRT is not installed: {INSTALL_HINT}; it needs {HARDWARE_HINT}")


def import_cudart() -> Any:
    """cuda-python's runtime module (new or old layout), or a DependencyError."""
    hint = f"cuda-python is not installed: {INSTALL_HINT}; it needs {HARDWARE_HINT}"
    try:
        return require("cuda.bindings.runtime", hint)  # cuda-python 12.6 and newer
    except DependencyError:
        return require("cuda.cudart", hint)  # older cuda-python


def cuda_call(cudart: Any, result: Any, call: str) -> Any:
    """The value of a cuda-python call (which returns ``(error, *values)``), or BackendError."""
    error, values = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
    if error != cudart.cudaError_t.cudaSuccess:
        raise BackendError(f"CUDA {call} failed: {cuda_error_name(cudart, error)}")
    return values[0] if len(values) == 1 else values


def cuda_error_name(cudart: Any, error: Any) -> str:
    """The name of a CUDA error code."""
    try:
        name = cudart.cudaGetErrorName(error)[1]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 - the name is only for the message
        return str(error)


def gpu_identity(cudart: Any) -> tuple[str, str]:
    """(name, compute capability) of the current CUDA device; DependencyError when there is none."""
    result = cudart.cudaGetDeviceCount()
    if result[0] != cudart.cudaError_t.cudaSuccess or result[1] < 1:
        reason = cuda_error_name(cudart, result[0]) if result[0] != cudart.cudaError_t.cudaSuccess else "none found"
        raise DependencyError(f"no usable CUDA GPU ({reason}); TensorRT needs {HARDWARE_HINT}")
    device = cuda_call(cudart, cudart.cudaGetDevice(), "cudaGetDevice")
    properties = cuda_call(cudart, cudart.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = properties.name
    name = name.decode("utf-8", "replace") if isinstance(name, (bytes, bytearray)) else str(name)
    return name.split("\x00", 1)[0].strip() or "unknown GPU", f"{properties.major}.{properties.minor}"


_LOGGER: Any = None


def tensorrt_logger(trt: Any) -> Any:
    """One TensorRT logger per process (TensorRT expects one); keeps recent warnings and errors."""
    global _LOGGER
    if _LOGGER is None:
        class _Log(trt.ILogger):
            def __init__(self) -> None:
                trt.ILogger.__init__(self)
                self.messages: list[str] = []

            def log(self, severity: Any, message: str) -> None:
                if int(severity) <= int(trt.ILogger.Severity.WARNING):
                    self.messages.append(str(message))
                    del self.messages[:-MAX_LOG_LINES]

        _LOGGER = _Log()
    return _LOGGER
