"""TensorRT engines built on the target from a bundle, cached outside it, and a runner for them
(docs/devices.md explains the cache and the TensorRT 10/11 decisions).

* ``plan`` — ``plan_build``: the pure decision of how TensorRT 10 or 11 builds a precision
  (which bundle graph, strong typing or builder flags, DLA); testable without TensorRT.
* ``cache`` — ``EngineKey``: everything an engine depends on; its digest names the cache file.
* ``build`` — ``prepare_engine`` / ``build_engine``: reuse the cached engine for a key or build
  it (with a persistent timing cache per TensorRT version and GPU).
* ``runner`` — ``TensorRTRunner``: runs an engine on float32 numpy arrays with per-call
  dynamic shapes, buffers through cuda-python.

TensorRT and cuda-python are imported only inside the functions that need them.
"""

from edgesdk.runtime.tensorrt.build import (
    EngineRequest,
    PreparedEngine,
    build_engine,
    prepare_engine,
    resolve_request,
)
from edgesdk.runtime.tensorrt.cache import (
    CACHE_DIR_VARIABLE,
    ENGINE_CACHE_FORMAT,
    EngineKey,
    cached_engine,
    default_cache_dir,
    engine_path,
    sidecar_path,
    store_engine,
    timing_cache_path,
)
from edgesdk.runtime.tensorrt.deps import HARDWARE_HINT, INSTALL_HINT
from edgesdk.runtime.tensorrt.plan import BuildPlan, axis_size, input_shape_ranges, plan_build
from edgesdk.runtime.tensorrt.runner import TensorRTRunner

__all__ = ["CACHE_DIR_VARIABLE", "ENGINE_CACHE_FORMAT", "HARDWARE_HINT", "INSTALL_HINT", "BuildPlan", "EngineKey",
           "EngineRequest", "PreparedEngine", "TensorRTRunner", "axis_size", "build_engine", "cached_engine",
           "default_cache_dir", "engine_path", "input_shape_ranges", "plan_build", "prepare_engine",
           "resolve_request", "sidecar_path", "store_engine", "timing_cache_path"]
