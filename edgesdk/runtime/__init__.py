"""The runtime layer: runners for a codec model's graphs (docs/architecture.md).

- :mod:`~edgesdk.runtime.backends`: the :class:`GraphRunner` protocol, :func:`register_backend`,
  :func:`open_runner`, :func:`plan_graph`;
- :mod:`~edgesdk.runtime.onnxruntime`: ONNX Runtime (the default);
- :mod:`~edgesdk.runtime.tensorrt`: TensorRT engines (plan, cache, build, runner);
- :mod:`~edgesdk.runtime.devices`: device profiles (devices/);
- :mod:`~edgesdk.runtime.graphs`: graph names and precisions.
"""

from edgesdk.runtime.backends import GraphRunner, backend_names, open_runner, plan_graph, register_backend

__all__ = ["GraphRunner", "backend_names", "open_runner", "plan_graph", "register_backend"]
