# Over 400 lines: plan, cache, build and runner of TensorRT engines; to split into tensorrt/{plan,cache,build,runner}.py (issue 11).
"""TensorRT engines built on the target from a bundle, cached outside it, and a runner for them.

* ``plan_build`` — the pure decision of how TensorRT 10 or 11 builds a precision (which bundle
  graph, strong typing or builder flags, DLA); testable without TensorRT.
* ``EngineKey`` — everything an engine depends on; its digest names the cache file.
* ``prepare_engine`` / ``build_engine`` — reuse the cached engine for a key or build it (with a
  persistent timing cache per TensorRT version and GPU).
* ``TensorRTRunner`` — runs an engine on float32 numpy arrays with per-call dynamic shapes,
  buffers through cuda-python.

TensorRT and cuda-python are imported only inside the functions that need them
(docs/devices.md explains the cache and the TensorRT 10/11 decisions).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from edgesdk import __version__
from edgesdk.runtime.devices import DeviceProfile, ShapeProfile, load_profile
from edgesdk.runtime.graphs import DLA_PRECISIONS, GRAPHS, PRECISIONS, QDQ_PRECISIONS
from edgesdk.lazy import require
from edgesdk.errors import BackendError, CorruptedError, DependencyError, InvalidArgumentError

CACHE_DIR_VARIABLE = "EDGESDK_CACHE_DIR"
ENGINE_CACHE_FORMAT = 1  # bump when the builder's choices change, so old engines are rebuilt
INSTALL_HINT = 'pip install "edgesdk[tensorrt]"'
HARDWARE_HINT = ("an NVIDIA GPU with its driver: a Jetson (JetPack 6 or newer; use the TensorRT Python "
                 "package JetPack installs) or a discrete GPU")
_FLAG_FOR_PRECISION = {"fp16": "FP16", "bf16": "BF16", "int8": "INT8", "fp8": "FP8"}
_MAX_SIDECAR_BYTES = 1 << 20
_MAX_LOG_LINES = 40
_BUNDLE_ID = re.compile(r"[0-9a-f]{64}")
_AXIS = re.compile(r"(height|width)(?:/([1-9][0-9]*))?")


def default_cache_dir() -> Path:
    """``$EDGESDK_CACHE_DIR``, else ``$XDG_CACHE_HOME/edgesdk/engines`` (``~/.cache/edgesdk/engines``)."""
    if os.environ.get(CACHE_DIR_VARIABLE):
        return Path(os.environ[CACHE_DIR_VARIABLE])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgesdk" / "engines"


# --- Planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildPlan:
    """How TensorRT builds one engine."""

    precision: str  # what was asked for
    graph_precision: str  # which of the bundle's graphs is parsed
    strongly_typed: bool  # tensor types come from the graph
    builder_flags: tuple[str, ...]  # names of tensorrt.BuilderFlag members to set
    dla_core: int | None
    allow_tf32: bool  # fp32 requests keep true fp32 math

    def to_json(self) -> dict[str, Any]:
        return {"precision": self.precision, "graph_precision": self.graph_precision,
                "strongly_typed": self.strongly_typed, "builder_flags": list(self.builder_flags),
                "dla_core": self.dla_core, "allow_tf32": self.allow_tf32}


def plan_build(tensorrt_major: int, precision: str, graph_precisions: Iterable[str],
               dla_core: int | None = None, dla_cores: int = 0) -> BuildPlan:
    """Decide how to build ``precision`` from a bundle holding graphs at ``graph_precisions``.

    TensorRT 11 has no precision flags: the network is strongly typed and the precision is the
    graph's, so fp16 parses the bundle's fp16 graph. TensorRT 10 does the same when the bundle
    has the graph (one precision story on both majors), and falls back to a precision flag over
    the fp32 graph when it does not. DLA on TensorRT 10 needs weak typing (fp32 graph + FP16
    flag) and always gets GPU fallback. int8 and fp8 need a Q/DQ graph on both majors.
    """
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if tensorrt_major < 10:
        raise DependencyError(f"TensorRT {tensorrt_major} is too old; edgesdk builds with TensorRT 10 or newer "
                              f"({INSTALL_HINT})")
    available = sorted(set(graph_precisions))
    if dla_core is not None:
        if dla_cores == 0:
            raise InvalidArgumentError("this device profile has no DLA cores; build for the GPU (no DLA core)")
        if not 0 <= dla_core < dla_cores:
            raise InvalidArgumentError(f"DLA core {dla_core} does not exist; this device has cores 0..{dla_cores - 1}")
        if precision not in DLA_PRECISIONS:
            raise InvalidArgumentError(f"DLA runs {' or '.join(DLA_PRECISIONS)}, not {precision}")
    typed = precision in available
    if precision in QDQ_PRECISIONS and not typed:
        raise InvalidArgumentError(
            f"{precision} needs a graph quantized with explicit Q/DQ nodes; this bundle has {available} graphs. "
            "Use fp16, or export the bundle with a quantized graph")
    fallback = ("GPU_FALLBACK",) if dla_core is not None else ()
    allow_tf32 = precision != "fp32"
    if tensorrt_major >= 11:
        if not typed:
            raise InvalidArgumentError(
                f"TensorRT {tensorrt_major} takes precision from the graph (strongly typed), and this bundle has "
                f"no {precision} graph (it has {available}); pick one of those or re-export the bundle with {precision}")
        return BuildPlan(precision, precision, True, fallback, dla_core, allow_tf32)
    if dla_core is not None:
        graph = "fp32" if precision == "fp16" else precision
        flags = ("FP16",) if precision == "fp16" else ("INT8", "FP16")
        plan = BuildPlan(precision, graph, False, flags + fallback, dla_core, allow_tf32)
    elif typed:
        plan = BuildPlan(precision, precision, True, (), None, allow_tf32)
    else:
        flags = (_FLAG_FOR_PRECISION[precision],) if precision != "fp32" else ()
        plan = BuildPlan(precision, "fp32", False, flags, None, allow_tf32)
    if plan.graph_precision not in available:
        raise InvalidArgumentError(f"this bundle has no {plan.graph_precision} graph (it has {available})")
    return plan


def axis_size(dim: Any, height: int, width: int) -> int:
    """One dimension of a manifest shape: an integer, or ``height``/``width`` optionally ``/n``."""
    if isinstance(dim, int) and not isinstance(dim, bool) and dim > 0:
        return dim
    match = _AXIS.fullmatch(dim) if isinstance(dim, str) else None
    if match is None:
        raise InvalidArgumentError(f"unsupported dimension {dim!r} in the manifest (expected e.g. 'height/16')")
    side = height if match[1] == "height" else width
    divisor = int(match[2] or 1)
    if side % divisor:
        raise InvalidArgumentError(f"{match[1]} {side} is not divisible by {divisor} ({dim})")
    return side // divisor


def input_shape_ranges(inputs: Iterable[Mapping[str, Any]], shape_range: ShapeProfile
                       ) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """(min, opt, max) tensor shapes of each graph input for an image size range."""
    ranges = {}
    for spec in inputs:
        try:
            name, shape = str(spec["name"]), list(spec["shape"])
        except (KeyError, TypeError) as error:
            raise CorruptedError(f"manifest input entry {spec!r} lacks a name or shape") from error
        ranges[name] = tuple(tuple(axis_size(dim, *size) for dim in shape)
                             for size in (shape_range.min, shape_range.opt, shape_range.max))
    return ranges  # type: ignore[return-value]


# --- The cache --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineKey:
    """Everything a serialized engine depends on; any change means another engine."""

    bundle_id: str
    graph: str
    quality: int
    precision: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    dla_core: int | None
    shape_range: ShapeProfile

    def __post_init__(self) -> None:
        if not isinstance(self.bundle_id, str) or not _BUNDLE_ID.fullmatch(self.bundle_id):
            raise InvalidArgumentError(f"bundle id {self.bundle_id!r} is not 64 lowercase hex digits")
        if self.graph not in GRAPHS:
            raise InvalidArgumentError(f"graph must be one of {', '.join(GRAPHS)}, not {self.graph!r}")
        if isinstance(self.quality, bool) or not isinstance(self.quality, int) or not 0 <= self.quality < 1000:
            raise InvalidArgumentError(f"quality {self.quality!r} is not an integer in 0..999")
        if self.precision not in PRECISIONS:
            raise InvalidArgumentError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        for label in ("tensorrt_version", "gpu_name", "compute_capability"):
            if not isinstance(getattr(self, label), str) or not getattr(self, label).strip():
                raise InvalidArgumentError(f"{label} must be a non-empty string")
        if self.dla_core is not None and (isinstance(self.dla_core, bool) or not isinstance(self.dla_core, int)
                                          or self.dla_core < 0):
            raise InvalidArgumentError(f"dla_core {self.dla_core!r} is not a core number")
        if not isinstance(self.shape_range, ShapeProfile):
            raise InvalidArgumentError("shape_range must be a ShapeProfile")

    def to_json(self) -> dict[str, Any]:
        return {"bundle_id": self.bundle_id, "graph": self.graph, "quality": self.quality,
                "precision": self.precision, "tensorrt_version": self.tensorrt_version,
                "gpu_name": self.gpu_name, "compute_capability": self.compute_capability,
                "dla_core": self.dla_core, "shape_range": self.shape_range.to_json()}

    @property
    def digest(self) -> str:
        """sha256 of the key (and the cache format), stable across runs and machines."""
        text = json.dumps({"engine_cache_format": ENGINE_CACHE_FORMAT, **self.to_json()},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()

    @property
    def file_stem(self) -> str:
        dla = "" if self.dla_core is None else f"-dla{self.dla_core}"
        return f"{self.graph}-q{self.quality}-{self.precision}{dla}-{self.digest[:32]}"


def engine_path(key: EngineKey, cache_dir: str | Path | None = None) -> Path:
    """Where the engine for ``key`` lives; its sidecar is the same path with ``.json``."""
    return Path(cache_dir or default_cache_dir()) / f"{key.file_stem}.engine"


def timing_cache_path(tensorrt_version: str, gpu_name: str, compute_capability: str,
                      cache_dir: str | Path | None = None) -> Path:
    """The timing cache shared by every build with one TensorRT version on one GPU model."""
    slug = re.sub(r"[^a-z0-9]+", "-", gpu_name.lower()).strip("-")[:40] or "gpu"
    tag = hashlib.sha256(f"{tensorrt_version}\n{gpu_name}\n{compute_capability}".encode()).hexdigest()[:12]
    version = re.sub(r"[^0-9.]+", "", tensorrt_version)
    return Path(cache_dir or default_cache_dir()) / "timing" / f"trt{version}-{slug}-cc{compute_capability}-{tag}.timing"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def store_engine(key: EngineKey, engine: bytes, plan: BuildPlan | None = None,
                 cache_dir: str | Path | None = None) -> Path:
    """Write an engine and its sidecar atomically; returns the engine's path."""
    path = engine_path(key, cache_dir)
    _store_checked(path, engine, "engine", {"digest": key.digest, "key": key.to_json(),
                                            "plan": None if plan is None else plan.to_json()})
    return path


def cached_engine(key: EngineKey, cache_dir: str | Path | None = None) -> Path | None:
    """The cached engine for ``key`` if present and intact (sidecar names this key, size and
    sha256 match); None otherwise, so a damaged or partial entry is rebuilt, never loaded."""
    path = engine_path(key, cache_dir)
    return path if _check_stored(path, "engine", {"digest": key.digest, "key": key.to_json()}) else None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _store_checked(path: Path, payload: bytes, kind: str, meta: dict[str, Any]) -> None:
    # Payload first, sidecar last: a crash in between leaves an entry without a valid sidecar.
    _write_atomic(path, payload)
    sidecar = {"format": "edgesdk.cache-entry", "format_version": 1, "kind": kind, "file": path.name,
               "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest(),
               "created_by": f"edgesdk {__version__}", "meta": meta}
    _write_atomic(sidecar_path(path), (json.dumps(sidecar, indent=1, sort_keys=True) + "\n").encode("ascii"))


def _check_stored(path: Path, kind: str, expected: Mapping[str, Any]) -> bool:
    try:
        with sidecar_path(path).open("rb") as handle:
            raw = handle.read(_MAX_SIDECAR_BYTES + 1)
        sidecar = json.loads(raw) if len(raw) <= _MAX_SIDECAR_BYTES else None
        if not (isinstance(sidecar, dict) and sidecar.get("format") == "edgesdk.cache-entry"
                and sidecar.get("format_version") == 1 and sidecar.get("kind") == kind
                and sidecar.get("file") == path.name and isinstance(sidecar.get("meta"), dict)
                and all(sidecar["meta"].get(name) == value for name, value in expected.items())
                and path.stat().st_size == sidecar.get("size")):
            return False
        return _file_sha256(path) == sidecar.get("sha256")
    except (OSError, ValueError):
        return False


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_timing_cache(path: Path, meta: dict[str, Any]) -> bytes:
    return path.read_bytes() if _check_stored(path, "timing-cache", meta) else b""


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
    trt = _import_tensorrt()
    cudart = _import_cudart()
    gpu_name, capability = _gpu(cudart)
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
    timing_path = timing_cache_path(version, gpu_name, capability, cache_dir)
    timing_meta = {"tensorrt_version": version, "gpu_name": gpu_name, "compute_capability": capability}
    start = time.perf_counter()
    engine, timing = _build_serialized(trt, onnx_model, plan, shapes, profile.memory_budget_mib,
                                       _load_timing_cache(timing_path, timing_meta))
    seconds = time.perf_counter() - start
    if timing:
        _store_checked(timing_path, timing, "timing-cache", timing_meta)
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
    qualities = manifest.get("qualities")
    if not isinstance(qualities, Mapping) or not qualities:
        raise CorruptedError("bundle manifest lists no quality levels")
    entry = qualities.get(str(quality))
    if entry is None:
        raise InvalidArgumentError(f"quality {quality} is not in this bundle; it has "
                                   f"{sorted(qualities, key=lambda q: int(q) if str(q).isdigit() else -1)}")
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
    logger = _logger(trt)
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
        raise BackendError("TensorRT could not build the engine: " + " | ".join(logger.messages[-_MAX_LOG_LINES:]))
    return bytes(serialized), bytes(config.get_timing_cache().serialize())


# --- Dependencies -----------------------------------------------------------------------------


def _import_tensorrt() -> Any:
    return require("tensorrt", f"TensorRT is not installed: {INSTALL_HINT}; it needs {HARDWARE_HINT}")


def _import_cudart() -> Any:
    hint = f"cuda-python is not installed: {INSTALL_HINT}; it needs {HARDWARE_HINT}"
    try:
        return require("cuda.bindings.runtime", hint)  # cuda-python 12.6 and newer
    except DependencyError:
        return require("cuda.cudart", hint)  # older cuda-python


def _cuda(cudart: Any, result: Any, call: str) -> Any:
    """The value of a cuda-python call (which returns ``(error, *values)``), or BackendError."""
    error, values = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
    if error != cudart.cudaError_t.cudaSuccess:
        raise BackendError(f"CUDA {call} failed: {_cuda_error_name(cudart, error)}")
    return values[0] if len(values) == 1 else values


def _cuda_error_name(cudart: Any, error: Any) -> str:
    try:
        name = cudart.cudaGetErrorName(error)[1]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 - the name is only for the message
        return str(error)


def _gpu(cudart: Any) -> tuple[str, str]:
    """(name, compute capability) of the current CUDA device; DependencyError when there is none."""
    result = cudart.cudaGetDeviceCount()
    if result[0] != cudart.cudaError_t.cudaSuccess or result[1] < 1:
        reason = _cuda_error_name(cudart, result[0]) if result[0] != cudart.cudaError_t.cudaSuccess else "none found"
        raise DependencyError(f"no usable CUDA GPU ({reason}); TensorRT needs {HARDWARE_HINT}")
    device = _cuda(cudart, cudart.cudaGetDevice(), "cudaGetDevice")
    properties = _cuda(cudart, cudart.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = properties.name
    name = name.decode("utf-8", "replace") if isinstance(name, (bytes, bytearray)) else str(name)
    return name.split("\x00", 1)[0].strip() or "unknown GPU", f"{properties.major}.{properties.minor}"


_LOGGER: Any = None


def _logger(trt: Any) -> Any:
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
                    del self.messages[:-_MAX_LOG_LINES]

        _LOGGER = _Log()
    return _LOGGER


# --- Running ----------------------------------------------------------------------------------


class TensorRTRunner:
    """Runs a serialized engine (from ``build_engine``) on float32 numpy arrays.

    Input shapes may change from call to call within the engine's shape range; device buffers
    grow as needed. Not thread-safe: use one runner per thread.
    """

    def __init__(self, engine_path: str | Path) -> None:
        trt = _import_tensorrt()
        cudart = _import_cudart()
        _gpu(cudart)
        path = Path(engine_path)
        if not path.is_file():
            raise InvalidArgumentError(f"{path}: no such engine file")
        plan = None
        if sidecar_path(path).exists():
            if not _check_stored(path, "engine", {}):
                raise CorruptedError(f"{path}: the engine does not match its sidecar (damaged); rebuild it")
            plan = json.loads(sidecar_path(path).read_bytes())["meta"].get("plan")
        self._trt, self._cudart = trt, cudart
        self._buffers: dict[str, tuple[int, int]] = {}
        self._stream = None
        logger = _logger(trt)
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
        self._stream = _cuda(cudart, cudart.cudaStreamCreate(), "cudaStreamCreate")

    def shape_range(self, name: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(min, opt, max) shape the engine accepts for input ``name``."""
        return self._ranges[name]  # type: ignore[return-value]

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
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
            _cuda(cudart, cudart.cudaMemcpyAsync(pointer, array.ctypes.data, array.nbytes,
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
            raise BackendError("TensorRT failed to run the engine: " + " | ".join(_logger(self._trt).messages[-5:]))
        for name, array in outputs.items():
            _cuda(cudart, cudart.cudaMemcpyAsync(array.ctypes.data, self._buffers[name][0], array.nbytes,
                                                 cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost, self._stream),
                  "cudaMemcpyAsync (from the GPU)")
        _cuda(cudart, cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")
        return outputs

    def _bind(self, name: str, nbytes: int) -> int:
        """A device buffer of at least ``nbytes`` for tensor ``name`` (grown when too small)."""
        pointer, capacity = self._buffers.get(name, (0, 0))
        if nbytes > capacity:
            if pointer:
                _cuda(self._cudart, self._cudart.cudaFree(pointer), "cudaFree")
                del self._buffers[name]
            pointer = int(_cuda(self._cudart, self._cudart.cudaMalloc(max(nbytes, 1)), "cudaMalloc"))
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
