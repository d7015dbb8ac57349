"""Every file of a bundle laid out like the shipped one (every kind: .onnx graphs at every
precision, .ecdf tables, .eint integer networks, the manifest) is verified: a flipped byte and
a same-size replacement of any one of them are refused, naming that file, in a folder and in
an archive. A verifier that skipped the hash of one kind of file passed the older tests,
which tamper with one file only (docs/testing.md, planted mutant "bundle-skip-hash-of-eint")."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest

import edgesdk
from edgesdk import bundle as B
from edgesdk.codecs.model import CodecModel


def _shipped_layout() -> tuple[dict, dict[str, bytes]]:
    """The shipped bundle's manifest and file names, with small distinct contents."""
    with zipfile.ZipFile(CodecModel.open("lite").bundle.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = [n for n in archive.namelist() if n not in ("manifest.json", "manifest.sig")]
    manifest.pop("files", None)
    manifest.pop("schema", None)
    manifest.pop("schema_version", None)
    files = {name: hashlib.sha256(name.encode()).digest() * (1 + i % 3) for i, name in enumerate(sorted(names))}
    return manifest, files


LAYOUT = _shipped_layout()
NAMES = sorted(LAYOUT[1])


def test_the_layout_has_every_kind_of_file():
    kinds = {name.rsplit(".", 1)[-1] for name in NAMES}
    assert {"onnx", "ecdf", "eint"} <= kinds
    assert {name.split(".")[-2] for name in NAMES if name.endswith(".onnx")} >= {"fp32", "fp16", "int8"}


@pytest.fixture(params=["folder", "archive"])
def written(request, tmp_path):
    manifest, files = LAYOUT
    path = B.write_bundle(tmp_path / ("b" if request.param == "folder" else "b.edgesdk"), manifest, files)
    B.Bundle.open(path)  # the untouched bundle opens
    return request.param, path


def _replace(flavour, path, name, data):
    if flavour == "folder":
        (path / name).write_bytes(data)
        return
    with zipfile.ZipFile(path) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist()}
    entries[name] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for entry, content in entries.items():
            archive.writestr(entry, content)


@pytest.mark.parametrize("how", ["flipped-byte", "same-size-replacement"])
def test_every_file_tampered_is_refused_naming_it(written, how):
    flavour, path = written
    manifest, files = LAYOUT
    refused = []
    for name in NAMES:
        original = files[name]
        if how == "flipped-byte":
            data = bytearray(original)
            data[len(data) // 2] ^= 0x40
            data = bytes(data)
        else:  # another bundle's file of the same size
            data = hashlib.sha256(b"other" + name.encode()).digest() * (len(original) // 32)
        assert len(data) == len(original) and data != original
        _replace(flavour, path, name, data)
        expected = hashlib.sha256(original).hexdigest()[:12]
        with pytest.raises(edgesdk.BundleIntegrityError, match=f"{name} has sha256 .*manifest says {expected}"):
            B.Bundle.open(path)
        _replace(flavour, path, name, original)
        refused.append(name)
    B.Bundle.open(path)  # everything restored: opens again
    assert refused == NAMES


def test_a_manifest_hash_edited_for_any_file_is_refused(written):
    """The other way round: the manifest's entry of any file changed (same size), the file kept."""
    flavour, path = written
    manifest_bytes = (path / "manifest.json").read_bytes() if flavour == "folder" else \
        zipfile.ZipFile(path).read("manifest.json")
    for name in NAMES:
        digest = hashlib.sha256(LAYOUT[1][name]).hexdigest()
        assert manifest_bytes.count(digest.encode()) == 1
        edited = manifest_bytes.replace(digest.encode(), (("0" if digest[0] != "0" else "1") + digest[1:]).encode())
        _replace(flavour, path, "manifest.json", edited)
        with pytest.raises(edgesdk.BundleIntegrityError, match=f"{name} has sha256"):
            B.Bundle.open(path)
    _replace(flavour, path, "manifest.json", manifest_bytes)
    B.Bundle.open(path)
