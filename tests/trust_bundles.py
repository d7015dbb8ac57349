"""Helpers of the trust-boundary tests (issue 18): copies of the shipped lite bundle with one
file or manifest field changed (model ids recomputed as docs/bundle.md defines them, so that
only the change under test is wrong), and bundle folders written byte for byte."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from edgesdk.bundle import Bundle, write_bundle
from edgesdk.codecs.model import LITE_MODEL


def lite_parts(qualities: tuple[int, ...] = (1,)) -> tuple[dict, dict[str, bytes]]:
    """(manifest, files) of the shipped bundle, reduced to ``qualities`` (smaller, faster)."""
    bundle = Bundle.open(LITE_MODEL)
    manifest = copy.deepcopy(bundle.manifest)
    manifest["qualities"] = {q: e for q, e in manifest["qualities"].items() if int(q) in qualities}
    files = {n: bundle.read(n) for n in bundle.names() if any(n.startswith(f"q{q}/") for q in qualities)}
    return manifest, files


def model_id_of(manifest: dict, quality: int) -> str:
    """docs/bundle.md's definition, written from the docs: sha256 of the config as sorted-key
    JSON, the quality byte, and the raw sha256 of the files the level names in name order
    (.onnx only as *.fp32.onnx)."""
    digest = hashlib.sha256(json.dumps(manifest["model"]["config"], sort_keys=True).encode() + bytes([quality]))
    level = manifest["qualities"][str(quality)]
    named = {variant["file"] for precisions in level["graphs"].values() for variant in precisions.values()}
    named |= {level["integer_data"][key] for key in ("hyper_tables", "hyper_synthesis", "latent_tables")}
    for name in sorted(named):
        if not name.endswith(".onnx") or name.endswith(".fp32.onnx"):
            digest.update(bytes.fromhex(manifest["files"][name]["sha256"]))
    return digest.hexdigest()


def write_lite(destination: Path, manifest: dict, files: dict[str, bytes], fix_ids: bool = True) -> Path:
    """Writes a lite-derived bundle, with model ids recomputed from its files when ``fix_ids``."""
    manifest = copy.deepcopy(manifest)
    if fix_ids:
        table = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in files.items()}
        for key, entry in manifest["qualities"].items():
            entry["model_id"] = model_id_of({**manifest, "files": table}, int(key))
    return write_bundle(destination, manifest, files)


def write_raw_folder(folder: Path, manifest_text: str, files: dict[str, bytes]) -> Path:
    """A bundle folder whose manifest.json is exactly ``manifest_text`` (with ``FILES`` filled in
    where it says ``"files": null``), to test what the writer would refuse to write."""
    folder.mkdir()
    table = json.dumps({n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in files.items()})
    (folder / "manifest.json").write_text(manifest_text.replace('"files": null', f'"files": {table}'),
                                          encoding="utf-8", errors="surrogatepass")
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder
