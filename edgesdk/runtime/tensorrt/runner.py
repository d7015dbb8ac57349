"""Runs a TensorRT engine on float32 numpy arrays with per-call dynamic shapes, buffers through
cuda-python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from edgesdk.errors import BackendError, CorruptedError, InvalidArgumentError
from edgesdk.runtime.tensorrt.deps import cuda_call, gpu_identity, import_cudart, import_tensorrt, tensorrt_logger
from edgesdk.runtime.tensorrt.cache import check_stored, sidecar_path



# --- Running ----------------------------------------------------------------------------------


class TensorRTRunner:
    """Runs a serialized engine (from ``build_engine``) on float32 numpy arrays.

    Input shapes may change from call to call within the engine's shape range; device buffers
    grow as needed. Not thread-safe: use one runner per thread.
    """

    def __init__(self, engine_path: str | Path) -> None:
        trt = import_tensorrt()
        cudart = import_cudart()
        gpu_identity(cudart)
        path = Path(engine_path)
        if not path.is_file():
            raise InvalidArgumentError(f"{path}: no such engine file")
        plan = None
        if sidecar_path(path).exists():
            if not check_stored(path, "engine", {}):
                raise CorruptedError(f"{path}: the engine does not match its sidecar (damaged); rebuild it")
            plan = json.loads(sidecar_path(path).read_bytes())["meta"].get("plan")
        self._trt, self._cudart = trt, cudart
        self._buffers: dict[str, tuple[int, int]] = {}
        self._stream = None
        logger = tensorrt_logger(trt)
        self._runtime = trt.Runtime(logger)
        if isinstance(plan, dict) and isinstance(plan.get("dla_core"), int):
            self._runtime.DLA_core = plan["dla_core"]  # a DLA engine loads onto the core it was built for
        self._engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self._engine is None:
            raise BackendError(f"{path}: TensorRT {trt.__version__} cannot load this engine (built by another "
                               "TensorRT version or for another GPU?): " + " | ".join(logger.messages[-5:]))
        self._context = self._engine.create_execution_context()
        if self._context is None:
            raise BackendError(f"{path}: TensorRT could not create an execution context (out of GPU memory?)")
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        for name in names:
            if self._engine.get_tensor_dtype(name) != trt.DataType.FLOAT:
                raise InvalidArgumentError(f"{path}: tensor {name!r} is not float32; edgesdk engines take and "
                                           "return float32")
        self.input_names = tuple(n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.output_names = tuple(n for n in names if n not in self.input_names)
        self._ranges = {name: tuple(tuple(int(d) for d in dims)
                                    for dims in self._engine.get_tensor_profile_shape(name, 0))
                        for name in self.input_names}
        self._stream = cuda_call(cudart, cudart.cudaStreamCreate(), "cudaStreamCreate")

    def shape_range(self, name: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(min, opt, max) shape the engine accepts for input ``name``."""
        return self._ranges[name]  # type: ignore[return-value]

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the engine on named float32 arrays (any allowed shape); returns its named outputs."""
        if self._context is None:
            raise InvalidArgumentError("this runner is closed")
        missing = [name for name in self.input_names if name not in inputs]
        extra = sorted(set(inputs) - set(self.input_names))
        if missing or extra:
            raise InvalidArgumentError(f"inputs must be exactly {list(self.input_names)}; "
                                       f"missing {missing}, unexpected {extra}")
        cudart = self._cudart
        host_inputs = {}
        for name in self.input_names:
            array = np.asarray(inputs[name])
            if array.dtype.kind != "f":
                raise InvalidArgumentError(f"input {name!r} must be a float array, not {array.dtype}")
            array = np.ascontiguousarray(array, dtype=np.float32)
            low, _, high = self._ranges[name]
            if array.ndim != len(low) or any(not lo <= s <= hi for lo, s, hi in zip(low, array.shape, high)):
                raise InvalidArgumentError(f"input {name!r} has shape {array.shape}; this engine accepts "
                                           f"{low}..{high} (build it with a larger shape range)")
            if not self._context.set_input_shape(name, array.shape):
                raise BackendError(f"TensorRT rejected shape {array.shape} for input {name!r}")
            pointer = self._bind(name, array.nbytes)
            cuda_call(cudart, cudart.cudaMemcpyAsync(pointer, array.ctypes.data, array.nbytes,
                                                 cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, self._stream),
                  "cudaMemcpyAsync (to the GPU)")
            host_inputs[name] = array  # alive until the stream is synchronized
        outputs = {}
        for name in self.output_names:
            shape = tuple(int(d) for d in self._context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise BackendError(f"TensorRT could not infer the shape of output {name!r}")
            outputs[name] = np.empty(shape, dtype=np.float32)
            self._bind(name, outputs[name].nbytes)
        if not self._context.execute_async_v3(int(self._stream)):
            raise BackendError("TensorRT failed to run the engine: " + " | ".join(tensorrt_logger(self._trt).messages[-5:]))
        for name, array in outputs.items():
            cuda_call(cudart, cudart.cudaMemcpyAsync(array.ctypes.data, self._buffers[name][0], array.nbytes,
                                                 cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost, self._stream),
                  "cudaMemcpyAsync (from the GPU)")
        cuda_call(cudart, cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")
        return outputs

    def _bind(self, name: str, nbytes: int) -> int:
        """A device buffer of at least ``nbytes`` for tensor ``name`` (grown when too small)."""
        pointer, capacity = self._buffers.get(name, (0, 0))
        if nbytes > capacity:
            if pointer:
                cuda_call(self._cudart, self._cudart.cudaFree(pointer), "cudaFree")
                del self._buffers[name]
            pointer = int(cuda_call(self._cudart, self._cudart.cudaMalloc(max(nbytes, 1)), "cudaMalloc"))
            self._buffers[name] = (pointer, max(nbytes, 1))
        if not self._context.set_tensor_address(name, pointer):
            raise BackendError(f"TensorRT rejected the buffer of tensor {name!r}")
        return pointer

    def close(self) -> None:
        """Free the GPU buffers, the stream and the engine; safe to call twice."""
        self._context = None
        self._engine = None
        cudart = getattr(self, "_cudart", None)
        for pointer, _ in getattr(self, "_buffers", {}).values():
            cudart.cudaFree(pointer)
        self._buffers = {}
        if getattr(self, "_stream", None) is not None:
            cudart.cudaStreamDestroy(self._stream)
            self._stream = None

    def __enter__(self) -> TensorRTRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown may have unloaded CUDA already
            pass
