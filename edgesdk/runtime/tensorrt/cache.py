"""The engine cache: keys (everything an engine depends on; the digest names the file),
sidecars, timing caches, written atomically outside the bundle (docs/devices.md)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


from edgesdk import __version__
from edgesdk.runtime.devices import ShapeProfile
from edgesdk.runtime.graphs import GRAPHS, PRECISIONS
from edgesdk.errors import InvalidArgumentError
from edgesdk.runtime.tensorrt.plan import BuildPlan



CACHE_DIR_VARIABLE = "EDGESDK_CACHE_DIR"
ENGINE_CACHE_FORMAT = 1  # bump when the builder's choices change, so old engines are rebuilt


MAX_SIDECAR_BYTES = 1 << 20


BUNDLE_ID = re.compile(r"[0-9a-f]{64}")


def default_cache_dir() -> Path:
    """``$EDGESDK_CACHE_DIR``, else ``$XDG_CACHE_HOME/edgesdk/engines`` (``~/.cache/edgesdk/engines``)."""
    if os.environ.get(CACHE_DIR_VARIABLE):
        return Path(os.environ[CACHE_DIR_VARIABLE])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgesdk" / "engines"


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
        if not isinstance(self.bundle_id, str) or not BUNDLE_ID.fullmatch(self.bundle_id):
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
        """The key as JSON (what the digest covers)."""
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
        """The cache file name of the engine, without suffix."""
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
    """The JSON file beside a cached file that says what it is."""
    return path.with_name(path.name + ".json")


def store_engine(key: EngineKey, engine: bytes, plan: BuildPlan | None = None,
                 cache_dir: str | Path | None = None) -> Path:
    """Write an engine and its sidecar atomically; returns the engine's path."""
    path = engine_path(key, cache_dir)
    store_checked(path, engine, "engine", {"digest": key.digest, "key": key.to_json(),
                                            "plan": None if plan is None else plan.to_json()})
    return path


def cached_engine(key: EngineKey, cache_dir: str | Path | None = None) -> Path | None:
    """The cached engine for ``key`` if present and intact (sidecar names this key, size and
    sha256 match); None otherwise, so a damaged or partial entry is rebuilt, never loaded."""
    path = engine_path(key, cache_dir)
    return path if check_stored(path, "engine", {"digest": key.digest, "key": key.to_json()}) else None


def write_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename."""
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


def store_checked(path: Path, payload: bytes, kind: str, meta: dict[str, Any]) -> None:
    # Payload first, sidecar last: a crash in between leaves an entry without a valid sidecar.
    """Stores ``payload`` at ``path`` and then its sidecar (kind, size, sha256, ``meta``)."""
    write_atomic(path, payload)
    sidecar = {"format": "edgesdk.cache-entry", "format_version": 1, "kind": kind, "file": path.name,
               "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest(),
               "created_by": f"edgesdk {__version__}", "meta": meta}
    write_atomic(sidecar_path(path), (json.dumps(sidecar, indent=1, sort_keys=True) + "\n").encode("ascii"))


def check_stored(path: Path, kind: str, expected: Mapping[str, Any]) -> bool:
    """Whether ``path`` holds what its sidecar says, of ``kind``, with ``expected`` metadata."""
    try:
        with sidecar_path(path).open("rb") as handle:
            raw = handle.read(MAX_SIDECAR_BYTES + 1)
        sidecar = json.loads(raw) if len(raw) <= MAX_SIDECAR_BYTES else None
        if not (isinstance(sidecar, dict) and sidecar.get("format") == "edgesdk.cache-entry"
                and sidecar.get("format_version") == 1 and sidecar.get("kind") == kind
                and sidecar.get("file") == path.name and isinstance(sidecar.get("meta"), dict)
                and all(sidecar["meta"].get(name) == value for name, value in expected.items())
                and path.stat().st_size == sidecar.get("size")):
            return False
        return file_sha256(path) == sidecar.get("sha256")
    except (OSError, ValueError):
        return False


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_timing_cache(path: Path, meta: dict[str, Any]) -> bytes:
    """The stored timing cache when it matches ``meta``, else empty bytes."""
    return path.read_bytes() if check_stored(path, "timing-cache", meta) else b""
