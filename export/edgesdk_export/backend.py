"""The PyTorch reference backend (``backend="pytorch"``): registered with the runtime by
``import edgesdk_export`` (edgesdk.runtime.backends.register_backend); the runtime never
imports this package."""

from __future__ import annotations

import numpy as np

from edgesdk.lazy import require
from edgesdk.runtime.backends import register_backend

TORCH_PRECISIONS = ("fp32", "fp16")
INSTALL_HINT = 'the pytorch backend needs the export extra: pip install "edgesdk[export]"'


class TorchRunner:
    """The PyTorch reference: the graph's module from ``edgesdk_export``, weights read from
    the bundle's fp32 ONNX graph (so it runs exactly the shipped weights)."""

    def __init__(self, model, quality: int, graph: str, precision: str = "fp32",
                 threads: int | None = None) -> None:
        torch = require("torch", INSTALL_HINT)
        require("onnx", INSTALL_HINT)

        from edgesdk_export.models import CodecConfig
        from edgesdk_export.onnx_export import GRAPHS, graph_module, load_graph_weights

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


def _open(model, quality: int, graph: str, precision: str, device: str | None, threads: int | None) -> TorchRunner:
    return TorchRunner(model, quality, graph, precision, threads)


def register() -> None:
    """Registers the ``pytorch`` backend (done on ``import edgesdk_export``)."""
    register_backend("pytorch", _open, TORCH_PRECISIONS)
