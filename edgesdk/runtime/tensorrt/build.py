"""Building TensorRT engines on the target from a bundle (or reusing the cached one), and
loading TensorRT and cuda-python on first use with an install hint."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


from edgesdk.runtime.devices import DeviceProfile, ShapeProfile, load_profile
from edgesdk.runtime.graphs import GRAPHS
from edgesdk.errors import BackendError, CorruptedError, DependencyError, InvalidArgumentError
from edgesdk.bundle.graph_check import check_graph
from edgesdk.bundle.manifest import quality_level
from edgesdk.runtime.tensorrt.cache import EngineKey, cached_engine, engine_path, load_timing_cache, store_checked, store_engine, timing_cache_path
from edgesdk.runtime.tensorrt.plan import BuildPlan, input_shape_ranges, plan_build
from edgesdk.runtime.tensorrt.deps import MAX_LOG_LINES, gpu_identity, import_cudart, import_tensorrt, tensorrt_logger



# --- Building ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedEngine:
    """The outcome of ``prepare_engine``."""

    path: Path
    key: EngineKey
    plan: BuildPlan
    reused: bool  # found intact in the cache
    seconds: float  # time spent building (0 when reused)
    notes: tuple[str, ...] = ()


def build_engine(bundle: Any, graph: str, quality: int, profile: DeviceProfile | str,
                 precision: str | None = None, shape_range: ShapeProfile | Mapping | None = None,
                 cache_dir: str | Path | None = None, dla_core: int | None = None, force: bool = False) -> Path:
    """The path of a TensorRT engine for one graph of a bundle on this GPU, built or reused."""
    return prepare_engine(bundle, graph, quality, profile, precision, shape_range, cache_dir, dla_core, force).path


def prepare_engine(bundle: Any, graph: str, quality: int, profile: DeviceProfile | str,
                   precision: str | None = None, shape_range: ShapeProfile | Mapping | None = None,
                   cache_dir: str | Path | None = None, dla_core: int | None = None,
                   force: bool = False) -> PreparedEngine:
    """Reuse the cached engine whose key matches, else build it (``force`` always builds).

    ``bundle`` is an opened bundle (``.bundle_id``, ``.manifest``, ``.read``); ``profile`` a
    profile or its name. ``precision`` defaults to the profile's for the graph, ``shape_range``
    to the profile's cut to what the bundle supports. Engines are built on the target: the
    profile's compute capability, when it names one, must be this GPU's.
    """
    if isinstance(profile, str):
        profile = load_profile(profile)
    request = resolve_request(bundle, graph, quality, profile, precision, shape_range)
    trt = import_tensorrt()
    cudart = import_cudart()
    gpu_name, capability = gpu_identity(cudart)
    if profile.cuda_compute_capability is not None and profile.cuda_compute_capability != capability:
        raise InvalidArgumentError(
            f"profile {profile.name} is for compute capability {profile.cuda_compute_capability}, but this GPU "
            f"({gpu_name}) is {capability}; engines are built on the device that runs them")
    version = str(trt.__version__)
    major = int(version.split(".")[0])
    plan = plan_build(major, request.precision, request.variants, dla_core, profile.dla_cores)
    key = EngineKey(bundle.bundle_id, graph, quality, request.precision, version, gpu_name, capability,
                    dla_core, request.shape_range)
    notes = []
    if profile.tensorrt is not None and profile.tensorrt[0] != major:
        notes.append(f"profile {profile.name} expects TensorRT {profile.tensorrt[0]}.{profile.tensorrt[1]}, "
                     f"this is {version}")
    path = engine_path(key, cache_dir)
    if not force and cached_engine(key, cache_dir) is not None:
        return PreparedEngine(path, key, plan, True, 0.0, tuple(notes))
    if path.exists() and not force:
        notes.append(f"cache entry {path.name} was damaged or incomplete; rebuilt it")
    variant = request.variants[plan.graph_precision]
    try:
        onnx_model = bundle.read(variant["file"])
        shapes = input_shape_ranges(variant["inputs"], request.shape_range)
    except (KeyError, TypeError) as error:
        raise CorruptedError(f"manifest entry of the {plan.graph_precision} {graph} graph is incomplete ({error!r})") \
            from error
    check_graph(variant["file"], onnx_model)  # TensorRT's parser would read external data from the disk too
    timing_path = timing_cache_path(version, gpu_name, capability, cache_dir)
    timing_meta = {"tensorrt_version": version, "gpu_name": gpu_name, "compute_capability": capability}
    start = time.perf_counter()
    engine, timing = _build_serialized(trt, onnx_model, plan, shapes, profile.memory_budget_mib,
                                       load_timing_cache(timing_path, timing_meta))
    seconds = time.perf_counter() - start
    if timing:
        store_checked(timing_path, timing, "timing-cache", timing_meta)
    return PreparedEngine(store_engine(key, engine, plan, cache_dir), key, plan, False, seconds, tuple(notes))


@dataclass(frozen=True)
class EngineRequest:
    """What ``prepare_engine`` builds, resolved from the bundle and the profile."""

    precision: str
    shape_range: ShapeProfile
    variants: Mapping[str, Mapping[str, Any]]  # the bundle's entries of this graph, by precision


def resolve_request(bundle: Any, graph: str, quality: int, profile: DeviceProfile,
                    precision: str | None = None, shape_range: ShapeProfile | Mapping | None = None
                    ) -> EngineRequest:
    """Check a build request against the bundle and the profile (no TensorRT needed)."""
    if graph not in GRAPHS:
        raise InvalidArgumentError(f"graph must be one of {', '.join(GRAPHS)}, not {graph!r}")
    if profile.tensorrt is None:
        raise InvalidArgumentError(f"profile {profile.name} has no GPU for TensorRT; its backend is "
                                   f"{profile.default_backend}")
    precision = precision or profile.default_precision.for_graph(graph)
    if precision not in profile.precisions:
        raise InvalidArgumentError(f"profile {profile.name} does not run {precision}; it lists {list(profile.precisions)}")
    manifest = bundle.manifest
    entry = quality_level(manifest, quality)
    variants = entry.get("graphs", {}).get(graph) if isinstance(entry, Mapping) else None
    if not isinstance(variants, Mapping) or not variants:
        raise CorruptedError(f"bundle quality {quality} has no {graph} graph")
    bundle_range = ShapeProfile.from_json(manifest["shape_range"], "bundle shape_range") \
        if manifest.get("shape_range") is not None else None
    if shape_range is None:
        chosen = profile.shape_profile if bundle_range is None else profile.shape_profile.clamp_to(bundle_range)
    else:
        chosen = shape_range if isinstance(shape_range, ShapeProfile) else ShapeProfile.from_json(shape_range)
        if bundle_range is not None and not bundle_range.contains(chosen):
            raise InvalidArgumentError(f"shape range {chosen.to_json()} exceeds what the bundle supports "
                                       f"({bundle_range.to_json()})")
    return EngineRequest(precision, chosen, variants)


def _build_serialized(trt: Any, onnx_model: bytes, plan: BuildPlan,
                      shapes: Mapping[str, tuple[tuple[int, ...], ...]], memory_budget_mib: int,
                      timing_cache: bytes) -> tuple[bytes, bytes]:
    """TensorRT's serialized engine and updated timing cache for one graph."""
    logger = tensorrt_logger(trt)
    logger.messages.clear()
    builder = trt.Builder(logger)
    flags = 0
    major = int(str(trt.__version__).split(".")[0])
    if plan.strongly_typed and major < 11:  # TensorRT 11 is always strongly typed (the flag is deprecated)
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_model):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BackendError(f"TensorRT cannot parse the {plan.graph_precision} graph: {errors}")
    config = builder.create_builder_config()
    # Half the codec's memory budget for tactic workspace: our choice (docs/devices.md).
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, memory_budget_mib * (1 << 20) // 2)
    for name in plan.builder_flags:
        if not hasattr(trt.BuilderFlag, name):
            raise DependencyError(f"TensorRT {trt.__version__} has no BuilderFlag.{name}")
        config.set_flag(getattr(trt.BuilderFlag, name))
    if not plan.allow_tf32 and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    if plan.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = plan.dla_core
    optimization_profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        name = network.get_input(index).name
        if name not in shapes:
            raise CorruptedError(f"graph input {name!r} is not in the bundle manifest (it lists {sorted(shapes)})")
        optimization_profile.set_shape(name, *shapes[name])
    config.add_optimization_profile(optimization_profile)
    try:
        cache = config.create_timing_cache(timing_cache)
    except Exception:  # noqa: BLE001 - an unreadable cache only costs build time
        cache = config.create_timing_cache(b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendError("TensorRT could not build the engine: " + " | ".join(logger.messages[-MAX_LOG_LINES:]))
    return bytes(serialized), bytes(config.get_timing_cache().serialize())
