"""A codec model as the runtime sees it: a verified bundle (docs/bundle.md) read as quality
levels, each with its integer entropy data, model id and ONNX graphs.

Two models ship inside the package (``edgesdk/data/models``): ``wavelet``, the default, and
``lite``, smaller and faster, which also carries the search identifier and edit maps
(docs/latent-search.md). Their training is recorded in docs/models.md.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from edgesdk.bitstream.entropy import CdfTables
from edgesdk.bundle.graph_check import check_graph
from edgesdk.bundle.manifest import check_model_ids, graph_references, quality_entries
from edgesdk.codecs.image import MODEL_FAMILY  # noqa: F401 - re-exported (edgesdk_export)
from edgesdk.errors import InvalidArgumentError
from edgesdk.bitstream.intnet import IntNetwork
from edgesdk.codecs.image.entropy_model import HyperpriorEntropyModel

_DATA = Path(__file__).resolve().parents[1] / "data"
SHIPPED_MODELS = {"wavelet": _DATA / "models" / "wavelet.edgesdk", "lite": _DATA / "models" / "lite.edgesdk"}
DEFAULT_NAME = "wavelet"
DEFAULT_MODEL = SHIPPED_MODELS[DEFAULT_NAME]
LITE_MODEL = SHIPPED_MODELS["lite"]
SAMPLE_IMAGE = _DATA / "samples" / "kodim23.png"


def default_sample_image() -> np.ndarray:
    """The demo's sample photograph as an HxWx3 uint8 array."""
    return load_image(SAMPLE_IMAGE)


def model_path(model: str | Path | None) -> Path:
    """Where a model is: None is the default, a shipped model's name (``wavelet``, ``lite``) is
    its file unless a file or folder of that name exists here, anything else is a path."""
    if model is None:
        return DEFAULT_MODEL
    if str(model) in SHIPPED_MODELS and not Path(model).exists():
        return SHIPPED_MODELS[str(model)]
    if isinstance(model, str) and not Path(model).exists() and "/" not in model and "." not in model:
        from edgesdk.errors import BundleError

        raise BundleError(f"{model}: no such bundle (a folder or a .edgesdk file), nor a shipped model "
                          f"({', '.join(SHIPPED_MODELS)})")
    return Path(model)


def shipped_name(model: str | Path | None) -> str | None:
    """The name of the shipped model that ``model`` (None, a name or a path) refers to, if any."""
    path = model_path(model)
    return next((name for name, shipped in SHIPPED_MODELS.items() if shipped == path), None)


def shipped_model_name(model_id: bytes) -> str | None:
    """The name of the shipped model one of whose quality levels carries ``model_id``, if any:
    for telling a user which model a frame needs."""
    for name, path in SHIPPED_MODELS.items():
        if path.exists():
            model = shipped_model(name)
            if any(model.model_id(q) == model_id for q in model.qualities):
                return name
    return None


def wrong_model_error(frame_model_id: bytes, own_model_id: bytes):
    """The CorruptedError for a frame another model made, naming the shipped model that made
    it when there is one (so the user knows which ``--model`` decodes it)."""
    from edgesdk.errors import CorruptedError

    shipped = shipped_model_name(frame_model_id)
    hint = f"; it is the shipped '{shipped}' model's: decode with --model {shipped}" if shipped else ""
    return CorruptedError(f"frame was made by model {frame_model_id.hex()[:16]}…, this decoder's is "
                          f"{own_model_id.hex()[:16]}…{hint}")


def load_image(path: str | Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (:func:`edgesdk.media.images.read_image`)."""
    from edgesdk.media.images import read_image

    return read_image(path)


class CodecModel:
    """Quality levels of one bundle. Opening verifies every file's hash (and the signature,
    when required); everything read later comes from the verified bundle."""

    def __init__(self, bundle: Any) -> None:
        manifest = bundle.manifest
        from edgesdk.codecs import codec_family

        self.family = manifest.get("model", {}).get("family")
        codec_family(self.family)  # UnsupportedVersionError unless registered
        self.bundle = bundle
        self.manifest = manifest
        self._qualities = quality_entries(manifest)
        check_model_ids(manifest)  # recomputed, not taken on the manifest's word
        for name in graph_references(manifest):  # refused for every backend: weights from outside, foreign ops
            check_graph(name, bundle.read(name))
        self._entropy_models: dict[int, HyperpriorEntropyModel] = {}
        self._identifiers: dict[int, Any] = {}

    @classmethod
    def open(cls, path: str | Path | None = None, *, trusted_keys=None, require_signature: bool | None = None
             ) -> CodecModel:
        """The bundle at ``path`` (a directory or ``.edgesdk`` file, or a shipped model's name);
        the shipped default if None."""
        from edgesdk.bundle import Bundle

        return cls(Bundle.open(model_path(path), trusted_keys=trusted_keys,
                               require_signature=require_signature))

    @property
    def qualities(self) -> list[int]:
        """The model's quality levels, ascending."""
        return sorted(self._qualities)

    @property
    def default_quality(self) -> int:
        """The middle quality level: a balanced rate for a first try."""
        return self.qualities[(len(self.qualities) - 1) // 2]

    @property
    def bundle_id(self) -> str:
        """The sha256 of the bundle's manifest."""
        return self.bundle.bundle_id

    @property
    def config(self) -> dict:
        """The model's architecture configuration from the manifest."""
        return self.manifest["model"]["config"]

    @property
    def name(self) -> str:
        """The model's name."""
        return str(self.manifest["model"].get("preset", "model"))

    def check_quality(self, quality: int) -> dict:
        """The manifest entry of ``quality``; InvalidArgumentError when the model has no such level."""
        if quality not in self._qualities:
            raise InvalidArgumentError(f"quality {quality} is not in this model; it has {self.qualities}")
        return self._qualities[quality]

    def model_id(self, quality: int) -> bytes:
        """The id frames of ``quality`` carry (docs/bitstream.md)."""
        return bytes.fromhex(self.check_quality(quality)["model_id"])

    def precisions(self, quality: int, graph: str) -> list[str]:
        """The precisions the bundle ships ``graph`` of ``quality`` in."""
        return sorted(self.check_quality(quality)["graphs"][graph])

    def graph(self, quality: int, graph: str, precision: str = "fp32") -> bytes:
        """The ONNX bytes of a graph ("compressor" or "generator") at a precision."""
        graphs = self.check_quality(quality)["graphs"]
        if graph not in graphs:
            raise InvalidArgumentError(f"no graph {graph!r}; graphs are {sorted(graphs)}")
        if precision not in graphs[graph]:
            raise InvalidArgumentError(f"{graph} has no {precision} variant; it has {sorted(graphs[graph])}")
        return self.bundle.read(graphs[graph][precision]["file"])

    def entropy_model(self, quality: int) -> HyperpriorEntropyModel:
        """The integer entropy path of a quality level (built once, then shared)."""
        if quality not in self._entropy_models:
            data = self.check_quality(quality)["integer_data"]
            self._entropy_models[quality] = HyperpriorEntropyModel(
                CdfTables.from_bytes(self.bundle.read(data["hyper_tables"])),
                IntNetwork(self.bundle.read(data["hyper_synthesis"])),
                CdfTables.from_bytes(self.bundle.read(data["latent_tables"])),
                latent_channels=int(data["latent_channels"]),
                mean_fraction_bits=data["mean_fraction_bits"],
            )
        return self._entropy_models[quality]

    def feature_identifier(self, quality: int):
        """The search feature identifier of a quality level (docs/latent-search.md), built once;
        None when the bundle has none for it (everything else works without one)."""
        from edgesdk.search.identifier import identifier_from_manifest

        if quality not in self._identifiers:
            entry = self.check_quality(quality).get("search")
            self._identifiers[quality] = None if entry is None else identifier_from_manifest(
                entry, self.bundle.read(entry.get("file", "")), f"qualities.{quality}.search")
        return self._identifiers[quality]

    def edit_map(self, quality: int, name: str) -> IntNetwork | None:
        """The learned channel map ``name`` of a quality level's edits (docs/latent-edit.md), or
        None when the bundle has none."""
        maps = (self.check_quality(quality).get("edit") or {}).get("maps") or {}
        return None if name not in maps else IntNetwork(self.bundle.read(maps[name]))

    def edit_offset(self, quality: int, name: str) -> tuple[int, np.ndarray]:
        """(levels, int32 [M] sixteenths): the constant latent of edit ``name`` for ``levels``
        units (docs/latent-edit.md); EditDataMissingError when the bundle has none."""
        from edgesdk.errors import BundleIntegrityError, EditDataMissingError

        offset = ((self.check_quality(quality).get("edit") or {}).get("offsets") or {}).get(name)
        if offset is None:
            raise EditDataMissingError(f"the model has no '{name}' latent for quality {quality} "
                                       f"(qualities.{quality}.edit.offsets.{name}); the shipped lite model has edit data at "
                                       "quality 2 (encode with --model lite --quality 2), or fit some "
                                       "(docs/latent-edit.md, 'Fitting the maps')")
        levels, values = offset.get("levels") if isinstance(offset, dict) else None, offset.get("values")
        channels = self.entropy_model(quality).latent_channels
        if not (type(levels) is int and levels > 0 and isinstance(values, list) and len(values) == channels
                and all(type(v) is int and abs(v) < 2**20 for v in values)):
            raise BundleIntegrityError(f"manifest.json: qualities.{quality}.edit.offsets.{name} needs levels (> 0) "
                                       f"and {channels} integer values")
        return levels, np.array(values, np.int32)

    def describe(self) -> dict:
        """A JSON-ready summary: name, bundle id, qualities with λ and training, MACs/pixel."""
        return {
            "name": self.name,
            "bundle_id": self.bundle_id,
            "macs_per_pixel": self.manifest["model"].get("macs_per_pixel"),
            "qualities": {q: {"lambda": e.get("lambda"), "training": e.get("training"),
                              "precisions": self.precisions(q, "compressor")}
                          for q, e in sorted(self._qualities.items())},
        }


@functools.lru_cache(maxsize=None)
def shipped_model(name: str) -> CodecModel:
    """A shipped model by name, opened (and verified) once per process."""
    return CodecModel.open(SHIPPED_MODELS[name])


def default_model() -> CodecModel:
    """The shipped default model, opened once per process."""
    return shipped_model(DEFAULT_NAME)
