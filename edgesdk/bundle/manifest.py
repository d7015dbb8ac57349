"""Bundle manifests (docs/bundle.md): names, limits, serialisation, the file table and the
references of each quality level. The one place that walks the manifest's ``qualities``."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from edgesdk.errors import BundleIntegrityError, BundleLimitError, BundleVersionError, CorruptedError, InvalidArgumentError



SCHEMA = "edgesdk.bundle"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
BUNDLE_SUFFIX = ".edgesdk"
MAX_MANIFEST_BYTES = 4 << 20
MAX_FILE_BYTES = 512 << 20
MAX_TOTAL_BYTES = 2 << 30
MAX_FILES = 4096
MAX_NAME_LENGTH = 255
SIGNATURE_BYTES = 64

GRAPHS = ("compressor", "generator")  # the graphs of each quality level

_NAME_PART = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

# --------------------------------------------------------------------------- names, manifest

def check_name(name: str) -> str:
    """``name`` if a bundle may hold a file of that name: '/'-separated parts of letters, digits,
    ``. _ + -`` (not starting with a dot), at most 255 characters, not ``manifest.*``."""
    if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH
            and all(_NAME_PART.fullmatch(part) for part in name.split("/")) and not name.startswith("manifest.")):
        raise BundleIntegrityError(f"bundle file name {name!r} is not allowed: use '/'-separated parts of letters, "
                                   f"digits and . _ + - (no leading dot, no '..', no absolute path, not manifest.*), "
                                   f"at most {MAX_NAME_LENGTH} characters")
    return name


def serialize_manifest(manifest: Mapping[str, Any]) -> bytes:
    """The manifest's canonical bytes (sorted keys, no spaces): what is hashed and signed."""
    try:
        text = json.dumps(manifest, sort_keys=True, indent=1, separators=(",", ": "), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidArgumentError(f"the manifest must hold plain JSON values (str keys; str, int, finite float, "
                                   f"bool, None, list, dict): {error}") from error
    return (text + "\n").encode()


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):  # two readers could otherwise see different values
        counts = Counter(key for key, _ in pairs)
        raise ValueError(f"duplicate keys {sorted(key for key, count in counts.items() if count > 1)[:5]}")
    return result


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_manifest(data: bytes) -> dict:
    """The manifest of ``data``, refused unless it is a JSON object of this schema without duplicate keys."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleLimitError(f"manifest.json is more than {MAX_MANIFEST_BYTES} bytes, the limit")
    try:
        manifest = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BundleIntegrityError(f"manifest.json is not valid UTF-8 JSON ({str(error)[:200]}); "
                                   f"the bundle is damaged") from error
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise BundleIntegrityError(f"manifest.json is not an edgesdk bundle manifest (schema must be {SCHEMA!r})")
    version = manifest.get("schema_version")
    if type(version) is not int or version < 1:
        raise BundleIntegrityError(f"manifest.json has an invalid schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise BundleVersionError(f"bundle schema version {version} is newer than this edgesdk reads "
                                 f"({SCHEMA_VERSION}); upgrade edgesdk")
    _check_values(manifest)
    _check_file_entries(manifest.get("files"))
    _check_qualities(manifest)
    _check_references(manifest)
    return manifest


def _check_values(manifest: dict) -> None:
    """Every number finite (JSON's ``1e999`` parses as infinity) and every string, key or
    value, valid Unicode (``"\\ud800"`` parses as a lone surrogate, which no encoder writes)."""
    pending: list[Any] = [manifest]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise BundleIntegrityError("manifest.json holds a number too large to represent (like 1e999); "
                                       "re-export the bundle")
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BundleIntegrityError("manifest.json holds a string with a lone surrogate escape "
                                           "(like \\ud800): not Unicode text; re-export the bundle") from None


_QUALITY_KEY = re.compile(r"0|[1-9][0-9]{0,2}")
MAX_LATENT_CHANNELS = 4096


def _is_int(value: Any) -> bool:
    return type(value) is int  # not bool: ``true`` is not 1


def _check_qualities(manifest: dict) -> None:
    """Types and ranges of the fields the runtime reads from ``model`` and ``qualities``,
    wherever they are present (the codec layer then requires them: :func:`quality_entries`)."""
    def refuse(where: str, what: str) -> None:
        raise BundleIntegrityError(f"manifest.json: {where} {what}")

    model = manifest.get("model")
    if "model" in manifest and not isinstance(model, dict):
        refuse("model", "must be an object")
    if isinstance(model, dict):
        if "family" in model and not isinstance(model["family"], str):
            refuse("model.family", "must be a string")
        if "config" in model and not isinstance(model["config"], dict):
            refuse("model.config", "must be an object")
    if "qualities" not in manifest:
        return
    qualities = manifest["qualities"]
    if not isinstance(qualities, dict):
        refuse("qualities", "must be an object")
    for key, level in qualities.items():
        # One spelling per number: "3" and "03" would be two entries for one quality.
        if not _QUALITY_KEY.fullmatch(key) or int(key) > 255:
            refuse(f"qualities key {key!r}", "must be a quality 0..255 in decimal without leading zeros")
        where = f"qualities.{key}"
        if not isinstance(level, dict):
            refuse(where, "must be an object")
        if "model_id" in level and not (isinstance(level["model_id"], str) and _SHA256_HEX.fullmatch(level["model_id"])):
            refuse(f"{where}.model_id", "must be 64 lowercase hex digits")
        if "lambda" in level and not (isinstance(level["lambda"], (int, float)) and not isinstance(level["lambda"], bool)
                                      and level["lambda"] >= 0):
            refuse(f"{where}.lambda", "must be a number >= 0")
        graphs = level.get("graphs", {})
        if not isinstance(graphs, dict):
            refuse(f"{where}.graphs", "must be an object")
        for graph, precisions in graphs.items():
            if not isinstance(precisions, dict):
                refuse(f"{where}.graphs.{graph}", "must be an object of precisions")
            for precision, variant in precisions.items():
                if not (isinstance(variant, dict) and isinstance(variant.get("file"), str)):
                    refuse(f"{where}.graphs.{graph}.{precision}", "must be an object with a 'file' name")
        data = level.get("integer_data", {})
        if not isinstance(data, dict):
            refuse(f"{where}.integer_data", "must be an object")
        for name in ("hyper_tables", "hyper_synthesis", "latent_tables"):
            if name in data and not isinstance(data[name], str):
                refuse(f"{where}.integer_data.{name}", "must be a file name")
        if "latent_channels" in data and not (_is_int(data["latent_channels"])
                                              and 1 <= data["latent_channels"] <= MAX_LATENT_CHANNELS):
            refuse(f"{where}.integer_data.latent_channels", f"must be an integer in 1..{MAX_LATENT_CHANNELS}")
        bits = data.get("mean_fraction_bits")
        if bits is not None and not (_is_int(bits) and 0 <= bits <= 30):
            refuse(f"{where}.integer_data.mean_fraction_bits", "must be null or an integer in 0..30")
        search = level.get("search", {})
        if not (isinstance(search, dict) and isinstance(search.get("file", ""), str)
                and isinstance(search.get("components", []), list)):
            refuse(f"{where}.search", "must be an object with a 'file' name and a 'components' list")
        edit = level.get("edit", {})
        maps = edit.get("maps", {}) if isinstance(edit, dict) else None
        if not (isinstance(maps, dict) and all(isinstance(v, str) for v in maps.values())):
            refuse(f"{where}.edit", "must be an object whose 'maps' map transform names to file names")


def _check_file_entries(files: Any) -> None:
    if not isinstance(files, dict):
        raise BundleIntegrityError("manifest.json needs a 'files' object")
    if len(files) > MAX_FILES:
        raise BundleLimitError(f"manifest.json lists {len(files)} files; the limit is {MAX_FILES}")
    total = 0
    for name, entry in files.items():
        check_name(name)
        if not (isinstance(entry, dict) and type(entry.get("size")) is int and entry["size"] >= 0
                and isinstance(entry.get("sha256"), str) and _SHA256_HEX.fullmatch(entry["sha256"])):
            raise BundleIntegrityError(f"manifest entry for {name!r} needs a size (integer >= 0) and a sha256 "
                                       f"(64 lowercase hex digits)")
        if entry["size"] > MAX_FILE_BYTES:
            raise BundleLimitError(f"{name}: declared size {entry['size']} exceeds the {MAX_FILE_BYTES}-byte limit")
        total += entry["size"]
    if total > MAX_TOTAL_BYTES:
        raise BundleLimitError(f"bundle declares {total} bytes in all; the limit is {MAX_TOTAL_BYTES}")
    # Names that cannot coexist on disk: 'A' and 'a' on case-insensitive systems, 'a' and 'a/b' anywhere.
    folded = Counter(name.casefold() for name in files)
    folders = {name.rsplit("/", depth)[0] for name in folded for depth in range(1, name.count("/") + 1)}
    clashes = sorted({name for name, count in folded.items() if count > 1} | (folders & set(folded)))
    if clashes:
        raise BundleIntegrityError(f"manifest.json lists names that clash on disk (by case, or a file that is "
                                   f"also a folder): {clashes[:5]}")


def level_file_references(level: Any) -> list[tuple[str, str]]:
    """(where, file name) of every bundle file a quality level names: its graphs' files and its
    integer data. Levels may share a file (a multi-rate model's integer data is stored once)."""
    if not isinstance(level, dict):
        return []
    references = []
    graphs = level.get("graphs")
    for graph, precisions in (graphs.items() if isinstance(graphs, dict) else ()):
        for precision, variant in (precisions.items() if isinstance(precisions, dict) else ()):
            if isinstance(variant, dict) and isinstance(variant.get("file"), str):
                references.append((f"graphs.{graph}.{precision}.file", variant["file"]))
    data = level.get("integer_data")
    references += [(f"integer_data.{key}", value) for key, value in
                   (data.items() if isinstance(data, dict) else ()) if isinstance(value, str)]
    return references


def optional_file_references(level: Any) -> list[tuple[str, str]]:
    """(where, file name) of the optional parts of a level that are not part of its model id:
    the search identifier and the edit maps (docs/latent-search.md, docs/latent-edit.md)."""
    if not isinstance(level, dict):
        return []
    search, edit = level.get("search"), level.get("edit")
    references = [("search.file", search["file"])] if isinstance(search, dict) and "file" in search else []
    maps = edit.get("maps") if isinstance(edit, dict) else None
    return references + [(f"edit.maps.{k}", v) for k, v in (maps.items() if isinstance(maps, dict) else ())]


def _check_references(manifest: dict) -> None:
    """Graph, integer-data and search identifier file names in ``qualities`` (bundle-spec layout)
    must be listed files."""
    qualities = manifest.get("qualities")
    for quality, level in (qualities.items() if isinstance(qualities, dict) else ()):
        extra = optional_file_references(level)
        for where, name in level_file_references(level) + extra:
            if name not in manifest["files"]:
                raise BundleIntegrityError(f"manifest.json: qualities.{quality}.{where} names {name!r}, "
                                           f"which the manifest's files do not list")


def graph_references(manifest: Mapping[str, Any]) -> list[str]:
    """The listed files that ``qualities.*.graphs.*.*.file`` name (the ONNX graphs), sorted."""
    qualities = manifest.get("qualities")
    return sorted({name for level in (qualities.values() if isinstance(qualities, dict) else ())
                   for where, name in level_file_references(level)
                   if where.startswith("graphs.") and name in manifest["files"]})


def quality_entries(manifest: dict) -> dict[int, dict]:
    """The manifest's quality levels by number, checked for what the codecs and the runtime read
    from them (model_id, graph files, integer data); CorruptedError when one is missing."""
    try:
        qualities = {int(q): entry for q, entry in manifest["qualities"].items()}
        for entry in qualities.values():
            bytes.fromhex(entry["model_id"])
            for graph in GRAPHS:
                for variant in entry["graphs"][graph].values():
                    str(variant["file"])
            data = entry["integer_data"]
            for key in ("hyper_tables", "hyper_synthesis", "latent_tables"):
                str(data[key])
            int(data["latent_channels"])
            if data["mean_fraction_bits"] is not None:
                int(data["mean_fraction_bits"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CorruptedError(f"bundle manifest lacks or garbles a codec field ({error!r})") from error
    if not qualities:
        raise CorruptedError("bundle manifest lists no quality levels")
    return qualities


def file_table(files: Mapping[str, bytes]) -> dict[str, dict]:
    """The manifest's ``files`` object for ``files`` (name -> bytes): sha256 and size, by name."""
    return {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for name, data in sorted(files.items())}


def model_id_of(manifest: Mapping[str, Any], quality: int) -> str:
    """The model id of a quality level as docs/bundle.md defines it, from the manifest alone
    (its file table holds the verified sha256 of every file): sha256 of the configuration as
    sorted-key JSON, the quality as one byte, and the raw sha256 of each file the level names
    (``level_file_references``) in name order, skipping ``.onnx`` files other than
    ``*.fp32.onnx``."""
    digest = hashlib.sha256(json.dumps(manifest["model"]["config"], sort_keys=True).encode())
    digest.update(quality.to_bytes(1, "little"))
    level = quality_levels(manifest)[str(quality)]
    for name in sorted({name for _, name in level_file_references(level)}):
        if not name.endswith(".onnx") or name.endswith(".fp32.onnx"):
            digest.update(bytes.fromhex(manifest["files"][name]["sha256"]))
    return digest.hexdigest()


def check_model_ids(manifest: Mapping[str, Any]) -> None:
    """BundleIntegrityError unless every level's ``model_id`` is the one its content gives: an id
    copied from another model would let its frames decode with the wrong weights or tables."""
    for key, level in quality_levels(manifest).items():
        try:
            expected = model_id_of(manifest, int(key))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CorruptedError(f"bundle manifest lacks what model_id is made of ({error!r})") from error
        if level.get("model_id") != expected:
            raise BundleIntegrityError(f"manifest.json: qualities.{key}.model_id is {str(level.get('model_id'))[:16]}…, "
                                       f"but the level's configuration and files give {expected[:16]}…; the "
                                       f"manifest was edited (re-export the bundle)")


def quality_levels(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """The manifest's ``qualities`` (quality number as text -> entry), unchecked beyond being a
    non-empty object; CorruptedError otherwise."""
    qualities = manifest.get("qualities")
    if not isinstance(qualities, Mapping) or not qualities:
        raise CorruptedError("bundle manifest lists no quality levels")
    return qualities


def quality_level(manifest: Mapping[str, Any], quality: int) -> Any:
    """The manifest entry of ``quality``; InvalidArgumentError naming the levels there are."""
    qualities = quality_levels(manifest)
    entry = qualities.get(str(quality))
    if entry is None:
        raise InvalidArgumentError(f"quality {quality} is not in this bundle; it has "
                                   f"{sorted(qualities, key=lambda q: int(q) if str(q).isdigit() else -1)}")
    return entry

