"""Device profiles: what a target device can run, as data (one JSON file per device).

A profile says which precisions, TensorRT/JetPack versions, DLA cores, memory budget, shape
range, backend and ONNX Runtime providers to use on a device (docs/devices.md). Profiles ship
in ``devices/`` of the repository and inside the installed package
(``edgesdk/device_profiles``); ``$EDGESDK_DEVICE_DIR`` adds a folder of your own, searched first.
Adding a device means adding a JSON file named after its ``name``.

This module reads files only: it imports neither TensorRT nor CUDA, so ``detect_profile`` is
safe to call anywhere.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgesdk.errors import DeviceProfileError
from edgesdk.runtime.profile_fields import check_size, expect_choice, expect_int, expect_object, expect_optional_str, expect_str, expect_str_list
from edgesdk.runtime.graphs import GRAPHS, PRECISIONS

SCHEMA_VERSION = 1
BACKENDS = ("tensorrt", "onnxruntime-cuda", "onnxruntime-cpu")
ARCHITECTURES = ("aarch64", "x86_64")
GPU_KINDS = ("integrated", "discrete", "none")
MAX_PROFILE_BYTES = 64 * 1024
DEVICE_DIR_VARIABLE = "EDGESDK_DEVICE_DIR"

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_VERSION = re.compile(r"\d+\.\d+(\.\d+)?")
_COMPUTE_CAPABILITY = re.compile(r"\d{1,2}\.\d")
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # edgesdk/


def builtin_profile_dirs() -> list[Path]:
    """Folders holding the shipped profiles: the installed package's, then a source checkout's."""
    return [_PACKAGE_DIR / "device_profiles", _PACKAGE_DIR.parent / "devices"]


# --- The profile ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShapeProfile:
    """Image sizes an engine accepts, as (height, width) pairs; every side a multiple of 64."""

    min: tuple[int, int]
    opt: tuple[int, int]
    max: tuple[int, int]

    def __post_init__(self) -> None:
        for label in ("min", "opt", "max"):
            check_size(getattr(self, label), label)
        for axis, side in enumerate(("height", "width")):
            if not self.min[axis] <= self.opt[axis] <= self.max[axis]:
                raise DeviceProfileError(
                    f"{side}: need min <= opt <= max, got {self.min[axis]}, {self.opt[axis]}, {self.max[axis]}")

    @classmethod
    def from_json(cls, value: Any, where: str = "shape range") -> ShapeProfile:
        """From ``{"min": [h, w], "opt": [h, w], "max": [h, w]}`` (the bundle's ``shape_range`` too)."""
        expect_object(value, where, required=("min", "opt", "max"))
        sizes = {}
        for label in ("min", "opt", "max"):
            pair = value[label]
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                raise DeviceProfileError(f"{where}.{label}: expected [height, width], got {pair!r}")
            for index, side in enumerate(pair):
                expect_int(side, f"{where}.{label}[{index}]")
            sizes[label] = (pair[0], pair[1])
        try:
            return cls(**sizes)
        except DeviceProfileError as error:
            raise DeviceProfileError(f"{where}: {error}") from None

    def to_json(self) -> dict[str, list[int]]:
        """The shape profile as profile JSON."""
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    def contains(self, other: ShapeProfile) -> bool:
        """Whether every size ``other`` allows is allowed here too."""
        return all(self.min[a] <= other.min[a] and other.max[a] <= self.max[a] for a in (0, 1))

    def clamp_to(self, limits: ShapeProfile) -> ShapeProfile:
        """This range cut down to ``limits`` (opt moved inside); error if they do not overlap."""
        low = tuple(max(self.min[a], limits.min[a]) for a in (0, 1))
        high = tuple(min(self.max[a], limits.max[a]) for a in (0, 1))
        if any(low[a] > high[a] for a in (0, 1)):
            raise DeviceProfileError(f"shape ranges {self.to_json()} and {limits.to_json()} do not overlap")
        opt = tuple(min(max(self.opt[a], low[a]), high[a]) for a in (0, 1))
        return ShapeProfile(low, opt, high)  # type: ignore[arg-type]


@dataclass(frozen=True)
class GraphPrecisions:
    """Default precision of each graph of a bundle."""

    compressor: str
    generator: str

    def for_graph(self, graph: str) -> str:
        """The precision of ``graph``."""
        if graph not in GRAPHS:
            raise DeviceProfileError(f"unknown graph {graph!r}; graphs are {', '.join(GRAPHS)}")
        return getattr(self, graph)


@dataclass(frozen=True)
class DetectRules:
    """How ``detect_profile`` recognises the device (all optional)."""

    device_tree_model: tuple[str, ...] = ()  # substrings of /proc/device-tree/model (Jetson)
    nvidia_driver: bool = False  # an NVIDIA driver exposes a GPU and no device-tree model matched
    fallback: bool = False  # chosen when nothing else matches


@dataclass(frozen=True)
class DeviceProfile:
    """One target device (docs/devices.md describes every field)."""

    name: str
    description: str
    architecture: str
    gpu: str
    jetpack: str | None
    tensorrt: tuple[int, int] | None  # expected (major, minor); engines key on the installed one
    cuda_compute_capability: str | None
    precisions: tuple[str, ...]
    dla_cores: int
    memory_budget_mib: int
    shape_profile: ShapeProfile
    default_backend: str
    default_precision: GraphPrecisions
    onnxruntime_providers: tuple[str, ...]
    detect: DetectRules = DetectRules()
    schema_version: int = SCHEMA_VERSION
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _validate_profile(self)

    @classmethod
    def from_json(cls, data: Any, source: Path | None = None) -> DeviceProfile:
        """Validate a parsed profile; errors name the file and the field."""
        where = str(source) if source is not None else "device profile"
        try:
            profile = _profile_from_json(data, source)
        except DeviceProfileError as error:
            raise DeviceProfileError(f"{where}: {error}") from None
        if source is not None and source.stem != profile.name:
            raise DeviceProfileError(f"{where}: name {profile.name!r} must match the file name ({source.stem}.json)")
        return profile

    def to_json(self) -> dict[str, Any]:
        """The profile as its JSON file holds it."""
        return {
            "schema_version": self.schema_version,
            "name": self.name,
            "description": self.description,
            "architecture": self.architecture,
            "gpu": self.gpu,
            "jetpack": self.jetpack,
            "tensorrt": None if self.tensorrt is None else {"major": self.tensorrt[0], "minor": self.tensorrt[1]},
            "cuda_compute_capability": self.cuda_compute_capability,
            "precisions": list(self.precisions),
            "dla_cores": self.dla_cores,
            "memory_budget_mib": self.memory_budget_mib,
            "shape_profile": self.shape_profile.to_json(),
            "default_backend": self.default_backend,
            "default_precision": {graph: self.default_precision.for_graph(graph) for graph in GRAPHS},
            "onnxruntime_providers": list(self.onnxruntime_providers),
            "detect": {
                "device_tree_model": list(self.detect.device_tree_model),
                "nvidia_driver": self.detect.nvidia_driver,
                "fallback": self.detect.fallback,
            },
        }


_FIELDS = {
    "schema_version", "name", "description", "architecture", "gpu", "jetpack", "tensorrt",
    "cuda_compute_capability", "precisions", "dla_cores", "memory_budget_mib", "shape_profile",
    "default_backend", "default_precision", "onnxruntime_providers", "detect",
}
_OPTIONAL_FIELDS = {"detect"}


def _profile_from_json(data: Any, source: Path | None) -> DeviceProfile:
    expect_object(data, "profile", required=tuple(sorted(_FIELDS - _OPTIONAL_FIELDS)), allowed=_FIELDS)
    version = data["schema_version"]
    expect_int(version, "schema_version")
    if version != SCHEMA_VERSION:
        raise DeviceProfileError(f"schema_version {version} is not supported; this edgesdk reads {SCHEMA_VERSION}")
    tensorrt = data["tensorrt"]
    if tensorrt is not None:
        expect_object(tensorrt, "tensorrt", required=("major", "minor"))
        expect_int(tensorrt["major"], "tensorrt.major")
        expect_int(tensorrt["minor"], "tensorrt.minor")
        tensorrt = (tensorrt["major"], tensorrt["minor"])
    default_precision = data["default_precision"]
    expect_object(default_precision, "default_precision", required=GRAPHS)
    for graph in GRAPHS:
        expect_str(default_precision[graph], f"default_precision.{graph}")
    detect = data.get("detect", {})
    expect_object(detect, "detect", required=(), allowed={"device_tree_model", "nvidia_driver", "fallback"})
    for flag in ("nvidia_driver", "fallback"):
        if not isinstance(detect.get(flag, False), bool):
            raise DeviceProfileError(f"detect.{flag}: expected true or false, got {detect[flag]!r}")
    return DeviceProfile(
        schema_version=version,
        name=expect_str(data["name"], "name"),
        description=expect_str(data["description"], "description"),
        architecture=expect_str(data["architecture"], "architecture"),
        gpu=expect_str(data["gpu"], "gpu"),
        jetpack=expect_optional_str(data["jetpack"], "jetpack"),
        tensorrt=tensorrt,
        cuda_compute_capability=expect_optional_str(data["cuda_compute_capability"], "cuda_compute_capability"),
        precisions=expect_str_list(data["precisions"], "precisions"),
        dla_cores=expect_int(data["dla_cores"], "dla_cores"),
        memory_budget_mib=expect_int(data["memory_budget_mib"], "memory_budget_mib"),
        shape_profile=ShapeProfile.from_json(data["shape_profile"], "shape_profile"),
        default_backend=expect_str(data["default_backend"], "default_backend"),
        default_precision=GraphPrecisions(default_precision["compressor"], default_precision["generator"]),
        onnxruntime_providers=expect_str_list(data["onnxruntime_providers"], "onnxruntime_providers"),
        detect=DetectRules(
            device_tree_model=expect_str_list(detect.get("device_tree_model", []), "detect.device_tree_model",
                                               allow_empty=True),
            nvidia_driver=detect.get("nvidia_driver", False),
            fallback=detect.get("fallback", False),
        ),
        source=source,
    )


def _validate_profile(p: DeviceProfile) -> None:
    """Rules across fields; each message names the field to fix."""
    if not _NAME.fullmatch(p.name):
        raise DeviceProfileError(f"name {p.name!r}: use 1-64 lowercase letters, digits and '-'")
    if not p.description.strip():
        raise DeviceProfileError("description: must not be empty")
    expect_choice(p.architecture, ARCHITECTURES, "architecture")
    expect_choice(p.gpu, GPU_KINDS, "gpu")
    has_gpu = p.gpu != "none"
    jetson = p.gpu == "integrated"
    if jetson != (p.jetpack is not None):
        raise DeviceProfileError("jetpack: required for Jetson (gpu 'integrated') and null otherwise")
    if p.jetpack is not None and not _VERSION.fullmatch(p.jetpack):
        raise DeviceProfileError(f"jetpack: {p.jetpack!r} is not a version like '6.2'")
    if has_gpu != (p.tensorrt is not None):
        raise DeviceProfileError("tensorrt: required when the device has a GPU and null otherwise")
    if p.tensorrt is not None and not (8 <= p.tensorrt[0] <= 99 and 0 <= p.tensorrt[1] <= 99):
        raise DeviceProfileError(f"tensorrt: {p.tensorrt} is not a TensorRT version this edgesdk knows")
    if p.cuda_compute_capability is not None:
        if not has_gpu:
            raise DeviceProfileError("cuda_compute_capability: must be null without a GPU")
        if not _COMPUTE_CAPABILITY.fullmatch(p.cuda_compute_capability):
            raise DeviceProfileError(f"cuda_compute_capability: {p.cuda_compute_capability!r} is not like '8.7'")
    elif jetson:
        raise DeviceProfileError("cuda_compute_capability: required for Jetson (its GPU is fixed)")
    if not p.precisions:
        raise DeviceProfileError("precisions: must not be empty")
    for precision in p.precisions:
        expect_choice(precision, PRECISIONS, "precisions")
    if len(set(p.precisions)) != len(p.precisions):
        raise DeviceProfileError("precisions: listed twice")
    if "fp32" not in p.precisions:
        raise DeviceProfileError("precisions: must include fp32 (the reference every device runs)")
    if not 0 <= p.dla_cores <= 8:
        raise DeviceProfileError(f"dla_cores: {p.dla_cores} is outside 0..8")
    if p.dla_cores and not jetson:
        raise DeviceProfileError("dla_cores: only Jetson devices have DLA cores")
    if not 64 <= p.memory_budget_mib <= 1 << 20:
        raise DeviceProfileError(f"memory_budget_mib: {p.memory_budget_mib} is outside 64..{1 << 20}")
    expect_choice(p.default_backend, BACKENDS, "default_backend")
    if p.default_backend != "onnxruntime-cpu" and not has_gpu:
        raise DeviceProfileError(f"default_backend: {p.default_backend} needs a GPU; use onnxruntime-cpu")
    for graph in GRAPHS:
        precision = p.default_precision.for_graph(graph)
        if precision not in p.precisions:
            raise DeviceProfileError(f"default_precision.{graph}: {precision!r} is not in precisions {list(p.precisions)}")
    providers = p.onnxruntime_providers
    if not providers or any(not name.endswith("ExecutionProvider") for name in providers):
        raise DeviceProfileError("onnxruntime_providers: list ONNX Runtime provider names like 'CPUExecutionProvider'")
    if len(set(providers)) != len(providers):
        raise DeviceProfileError("onnxruntime_providers: listed twice")
    if providers[-1] != "CPUExecutionProvider":
        raise DeviceProfileError("onnxruntime_providers: must end with CPUExecutionProvider (always available)")
    if any(not text.strip() for text in p.detect.device_tree_model):
        raise DeviceProfileError("detect.device_tree_model: empty substring")


# --- Loading ----------------------------------------------------------------------------------


def profile_dirs(directory: str | Path | None = None) -> list[Path]:
    """Folders searched for profiles, first wins: ``directory`` (or ``$EDGESDK_DEVICE_DIR``), then
    the shipped ones."""
    extra = directory if directory is not None else os.environ.get(DEVICE_DIR_VARIABLE) or None
    return ([Path(extra)] if extra is not None else []) + builtin_profile_dirs()


def list_profiles(directory: str | Path | None = None) -> list[str]:
    """Names of every profile found, sorted."""
    names = set()
    for folder in profile_dirs(directory):
        if folder.is_dir():
            names.update(path.stem for path in folder.glob("*.json") if _NAME.fullmatch(path.stem))
    return sorted(names)


def load_profile(name_or_path: str | Path, directory: str | Path | None = None) -> DeviceProfile:
    """A profile by name (searched in ``profile_dirs``) or by the path of its JSON file."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".json") or os.sep in text or "/" in text:
        return _load_file(Path(name_or_path))
    if not _NAME.fullmatch(text):
        raise DeviceProfileError(f"{text!r} is not a profile name (lowercase letters, digits and '-')")
    for folder in profile_dirs(directory):
        path = folder / f"{text}.json"
        if path.is_file():
            return _load_file(path)
    known = ", ".join(list_profiles(directory)) or "none"
    raise DeviceProfileError(f"no device profile named {text!r}; known profiles: {known}")


def _load_file(path: Path) -> DeviceProfile:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as error:
        raise DeviceProfileError(f"{path}: cannot read the profile ({error.strerror})") from None
    if len(raw) > MAX_PROFILE_BYTES:
        raise DeviceProfileError(f"{path}: larger than {MAX_PROFILE_BYTES} bytes; not a device profile")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DeviceProfileError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise DeviceProfileError(f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    return DeviceProfile.from_json(data, source=path)


# --- Detection --------------------------------------------------------------------------------


def detect_profile(root: str | Path = "/", directory: str | Path | None = None, machine: str | None = None) -> str:
    """Best guess of this host's profile name: a profile whose ``detect.device_tree_model``
    occurs in the device-tree model (Jetson; longest match first), a ``detect.nvidia_driver``
    profile when an NVIDIA driver exposes a GPU, else the ``detect.fallback`` profile of this
    CPU's architecture (``machine``, default :func:`platform.machine`), else the first fallback.
    ``root``: the filesystem root to look under (tests pass a fake one)."""
    root = Path(root)
    profiles = [load_profile(name, directory) for name in list_profiles(directory)]
    model = _device_tree_model(root).lower()
    matches = sorted((-len(text), profile.name) for profile in profiles
                     for text in profile.detect.device_tree_model if model and text.lower() in model)
    drivers = [profile.name for profile in profiles if profile.detect.nvidia_driver]
    if matches or (drivers and _has_nvidia_driver_gpu(root)):
        return matches[0][1] if matches else drivers[0]
    fallbacks = [profile for profile in profiles if profile.detect.fallback]
    if not fallbacks:
        raise DeviceProfileError("no device profile matches this host and none is marked detect.fallback")
    same = [profile.name for profile in fallbacks if profile.architecture == host_architecture(machine)]
    return same[0] if same else fallbacks[0].name


def host_architecture(machine: str | None = None) -> str:
    """``platform.machine()`` (or ``machine``) in the profiles' spelling: x86_64 or aarch64."""
    import platform

    name = (machine or platform.machine()).lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv8l": "aarch64"}.get(name, name)


def _read_small_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(4096).decode("utf-8", "replace").replace("\x00", "").strip()
    except OSError:
        return ""


def _device_tree_model(root: Path) -> str:
    models = (_read_small_text(root / relative) for relative in ("proc/device-tree/model",
                                                                  "sys/firmware/devicetree/base/model"))
    return next((model for model in models if model), "")


def _has_nvidia_driver_gpu(root: Path) -> bool:
    gpus = root / "proc/driver/nvidia/gpus"
    try:
        if gpus.is_dir() and any(gpus.iterdir()):
            return True
    except OSError:
        pass
    return (root / "dev/nvidia0").exists()
