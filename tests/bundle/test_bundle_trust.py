"""Issue 18: manifest values validated once at load, model ids recomputed, and one strict
reading of ZIP archives and bundle folders."""

from __future__ import annotations

import json
import os
import struct
import zipfile

import pytest

import edgesdk
from edgesdk import bundle as B
from edgesdk.bundle import storage
from edgesdk.codecs.model import CodecModel
from trust_bundles import lite_parts, write_lite, write_raw_folder

FILES = {"q1/graph.onnx": b"graph bytes " * 50, "q1/tables.ecdf": bytes(range(256))}
LEVEL = '{"graphs": {"generator": {"fp32": {"file": "q1/graph.onnx"}}}, "integer_data": %s}'


def _manifest(qualities: str, extra: str = "") -> str:
    return ('{"files": null, "model": {"family": "test"%s}, "qualities": %s, "schema": "edgesdk.bundle", '
            '"schema_version": 1}\n' % (extra, qualities))


def test_a_well_formed_raw_manifest_opens(tmp_path):
    data = '{"latent_tables": "q1/tables.ecdf", "latent_channels": 8, "mean_fraction_bits": 4}'
    B.Bundle.open(write_raw_folder(tmp_path / "b", _manifest('{"1": %s}' % (LEVEL % data)), FILES))


@pytest.mark.parametrize("qualities, extra, match", [
    ('{"1": %s}' % (LEVEL % '{"latent_channels": 1e999}'), "", "too large"),
    ('{"1": {"lambda": 1e999}}', "", "too large"),
    ('{"1": {"note": "\\ud800"}}', "", "surrogate"),
    ('{"\\udfff": {}}', "", "surrogate"),
    ('{"1": %s}' % (LEVEL % '{"mean_fraction_bits": true}'), "", "mean_fraction_bits"),
    ('{"1": %s}' % (LEVEL % '{"mean_fraction_bits": 4.5}'), "", "mean_fraction_bits"),
    ('{"1": %s}' % (LEVEL % '{"latent_channels": 8.0}'), "", "latent_channels"),
    ('{"1": %s}' % (LEVEL % '{"latent_channels": "8"}'), "", "latent_channels"),
    ('{"1": %s}' % (LEVEL % '{"latent_channels": 0}'), "", "latent_channels"),
    ('{"1": %s}' % (LEVEL % '{"hyper_tables": 3}'), "", "hyper_tables"),
    ('{"1": %s}' % (LEVEL % '[]'), "", "integer_data"),
    ('{"1": {"graphs": {"generator": {"fp32": "q1/graph.onnx"}}}}', "", "'file'"),
    ('{"1": {"graphs": []}}', "", "graphs"),
    ('{"1": {"model_id": "ABC"}}', "", "model_id"),
    ('{"1": {"lambda": true}}', "", "lambda"),
    ('{"3": {}, "03": {}}', "", "leading zeros"),
    ('{"+3": {}}', "", "quality"),
    ('{"256": {}}', "", "quality"),
    ('{"1": []}', "", "must be an object"),
    ('[]', "", "qualities"),
    ('{}', ', "config": []', "config"),
    ('{}', ', "family": 1', "family"),
])
def test_manifest_fields_are_validated_at_open(tmp_path, qualities, extra, match):
    folder = write_raw_folder(tmp_path / "b", _manifest(qualities, extra), FILES)
    with pytest.raises(edgesdk.BundleIntegrityError, match=match):
        B.Bundle.open(folder)


def test_model_ids_are_recomputed_at_load(tmp_path):
    manifest, files = lite_parts()
    other = lite_parts((2,))[0]["qualities"]["2"]["model_id"]
    manifest["qualities"]["1"]["model_id"] = other  # another level's (valid) id, claimed by this one
    path = write_lite(tmp_path / "b.edgesdk", manifest, files, fix_ids=False)
    B.Bundle.open(path)  # a consistent bundle as a container ...
    with pytest.raises(edgesdk.BundleIntegrityError, match="model_id"):
        CodecModel.open(path)  # ... but not the model it claims to be
    # Editing the configuration changes the id as well.
    manifest, files = lite_parts()
    manifest["model"]["config"]["z_bound"] = 31
    with pytest.raises(edgesdk.BundleIntegrityError, match="model_id"):
        CodecModel.open(write_lite(tmp_path / "c.edgesdk", manifest, files, fix_ids=False))


def test_model_ids_follow_the_documented_definition():
    """docs/bundle.md: sha256(config JSON, sorted keys) + quality byte + raw sha256 of each
    distinct file the level names in graphs and integer_data, in name order, .onnx only as
    *.fp32.onnx (optional parts such as search and edit are not in it)."""
    import hashlib

    bundle = B.Bundle.open(CodecModel.open().bundle.path)
    manifest = bundle.manifest
    for key, level in manifest["qualities"].items():
        digest = hashlib.sha256(json.dumps(manifest["model"]["config"], sort_keys=True).encode() + bytes([int(key)]))
        named = {entry["file"] for graph in level["graphs"].values() for entry in graph.values()}
        named |= {level["integer_data"][k] for k in ("hyper_tables", "hyper_synthesis", "latent_tables")}
        for name in sorted(named):
            if not name.endswith(".onnx") or name.endswith(".fp32.onnx"):
                digest.update(hashlib.sha256(bundle.read(name)).digest())
        assert digest.hexdigest() == level["model_id"]


# --------------------------------------------------------------------------- ZIP

def _archive(tmp_path, entries):
    path = tmp_path / "z.edgesdk"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return path


def _valid_archive(tmp_path):
    return B.write_bundle(tmp_path / "v.edgesdk", {"model": {"family": "test"}}, FILES)


def test_the_declared_entry_count_binds(tmp_path):
    # Many more central-directory records than the end record declares: zipfile would parse
    # them all (the declared count is under the limit); refused before zipfile reads any.
    entries = [("manifest.json", b"{}")] + [(f"f{i}", b"") for i in range(300)]
    path = _archive(tmp_path, entries)
    data = bytearray(path.read_bytes())
    end = len(data) - 22
    struct.pack_into("<2H", data, end + 8, 4, 4)  # entries on this disk, entries in all
    path.write_bytes(bytes(data))
    parsed = []
    original = zipfile.ZipFile._RealGetContents
    try:
        zipfile.ZipFile._RealGetContents = lambda self: parsed.append(1) or original(self)
        with pytest.raises(edgesdk.BundleIntegrityError, match="records its end record declares"):
            B.Bundle.open(path)
    finally:
        zipfile.ZipFile._RealGetContents = original
    assert not parsed


def test_a_central_directory_away_from_the_end_record_is_refused(tmp_path):
    path = _valid_archive(tmp_path)
    data = bytearray(path.read_bytes())
    offset = struct.unpack_from("<L", data, len(data) - 6)[0]
    struct.pack_into("<L", data, len(data) - 6, offset - 1)
    path.write_bytes(bytes(data))
    with pytest.raises(edgesdk.BundleIntegrityError):
        B.Bundle.open(path)


@pytest.mark.parametrize("field, value", [(8, 8), (6, 0x8), (14, 0)])  # method deflate, flags, CRC
def test_local_headers_must_agree_with_the_central_directory(tmp_path, field, value):
    path = _valid_archive(tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("q1/graph.onnx")
    struct.pack_into("<H" if field < 14 else "<L", data, info.header_offset + field, value)
    path.write_bytes(bytes(data))
    with pytest.raises(edgesdk.BundleIntegrityError, match="local header"):
        B.Bundle.open(path)


# --------------------------------------------------------------------------- folders

@pytest.mark.skipif(not hasattr(os, "link"), reason="needs hard links")
def test_hard_links_to_files_outside_are_refused(tmp_path):
    folder = B.write_bundle(tmp_path / "b", {}, FILES)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(FILES["q1/tables.ecdf"])
    (folder / "q1" / "tables.ecdf").unlink()
    os.link(outside, folder / "q1" / "tables.ecdf")
    with pytest.raises(edgesdk.BundleIntegrityError, match="hard link"):
        B.Bundle.open(folder)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and dir_fd")
def test_a_folder_swapped_for_a_link_after_the_walk_is_not_followed(tmp_path, monkeypatch):
    folder = B.write_bundle(tmp_path / "b", {}, FILES)
    elsewhere = tmp_path / "elsewhere"
    (folder / "q1").rename(elsewhere)  # same content, outside the bundle
    (folder / "q1").mkdir()
    for name in ("graph.onnx", "tables.ecdf"):
        (folder / "q1" / name).write_bytes((elsewhere / name).read_bytes())
    walk = storage._Directory.names
    swapped = []

    def names_then_swap(self):
        found = walk(self)
        if not swapped:  # after the first walk: the folder becomes a link to elsewhere
            swapped.append(1)
            for name in ("graph.onnx", "tables.ecdf"):
                (folder / "q1" / name).unlink()
            (folder / "q1").rmdir()
            (folder / "q1").symlink_to(elsewhere, target_is_directory=True)
        return found

    monkeypatch.setattr(storage._Directory, "names", names_then_swap)
    with pytest.raises(edgesdk.BundleIntegrityError):
        B.Bundle.open(folder)


def test_a_folder_that_changes_while_it_is_read_is_refused(tmp_path, monkeypatch):
    folder = B.write_bundle(tmp_path / "b", {}, FILES)
    read = storage._Directory.read

    def read_then_add(self, name, limit):
        if name == "manifest.sig":
            (folder / "late.bin").write_bytes(b"x")
        return read(self, name, limit)

    monkeypatch.setattr(storage._Directory, "read", read_then_add)
    with pytest.raises(edgesdk.BundleIntegrityError, match="changed while it was read"):
        B.Bundle.open(folder)


def test_export_refuses_graphs_the_runtime_would_refuse():
    onnx = pytest.importorskip("onnx")
    bundle_export = pytest.importorskip("edgesdk_export.bundle_export")
    from onnx.external_data_helper import convert_model_to_external_data

    files = lite_parts()[1]
    bundle_export.check_graphs_self_contained(files)  # the shipped graphs pass
    model = onnx.load_from_string(files["q1/generator.fp32.onnx"])
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="gen.bin", size_threshold=0)
    files["q1/generator.fp32.onnx"] = model.SerializeToString()
    with pytest.raises(edgesdk.BundleIntegrityError, match="external data"):
        bundle_export.check_graphs_self_contained(files)
