"""Checks that pin the bundle reader's refusals to the exact rule, written to kill mutants that
survived the older tests (docs/testing.md: the schema check and the folder-walk bound)."""

from __future__ import annotations

import json
import struct
import zipfile

import pytest

import edgesdk
from edgesdk import bundle as B

FILES = {"q1/graph.onnx": b"graph bytes " * 50, "q1/tables.ecdf": bytes(range(256))}
MANIFEST = {"model": {"family": "test"},
            "qualities": {"1": {"graphs": {"generator": {"fp32": {"file": "q1/graph.onnx"}}},
                                "integer_data": {"latent_tables": "q1/tables.ecdf", "latent_channels": 8}}}}


@pytest.mark.parametrize("schema", ["other", "edgesdk.bundle2", "", None, 1])
def test_a_foreign_schema_is_refused_as_such_even_when_everything_else_is_valid(tmp_path, schema):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["schema"] = schema
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(edgesdk.BundleIntegrityError, match="is not an edgesdk bundle manifest"):
        B.Bundle.open(path)


def test_the_schema_string_read_from_json_is_accepted(tmp_path):
    """The schema compares by value (a JSON string is never the module's own str object)."""
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["schema"] == B.SCHEMA
    assert B.Bundle.open(path).manifest["schema"] == B.SCHEMA


def test_folder_walk_bound_is_four_entries_per_allowed_file(tmp_path):
    """Empty folders count towards the walk's bound of 4·MAX_FILES entries, and only beyond it
    is a folder bundle refused."""
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    bound = 4 * B.MAX_FILES
    present = 5  # manifest.json, q1/, q1's two files, and spare/ below
    spare = path / "spare"
    spare.mkdir()
    for i in range(bound - present):  # exactly at the bound: opens
        (spare / f"{i}").mkdir()
    B.Bundle.open(path)
    (spare / "one-more").mkdir()
    with pytest.raises(edgesdk.BundleLimitError, match=f"more than {bound} entries"):
        B.Bundle.open(path)


def _edit_manifest(path, change):
    manifest = json.loads((path / "manifest.json").read_text())
    change(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_documented_limits_are_the_constants():
    """docs/bundle.md: files of at most 512 MiB, 2 GiB in all, 4 MiB of manifest, 4096 files."""
    assert (B.MAX_FILE_BYTES, B.MAX_TOTAL_BYTES, B.MAX_MANIFEST_BYTES, B.MAX_FILES) == (512 << 20, 2 << 30, 4 << 20, 4096)


@pytest.mark.parametrize(("size", "limited"), [(512 << 20, False), ((512 << 20) + 1, True)])
def test_file_size_limit_is_exact(tmp_path, size, limited):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    _edit_manifest(path, lambda m: m["files"]["q1/graph.onnx"].__setitem__("size", size))
    with pytest.raises(edgesdk.BundleError) as caught:
        B.Bundle.open(path)
    assert isinstance(caught.value, edgesdk.BundleLimitError) == limited, caught.value


@pytest.mark.parametrize(("entries", "limited"), [(4098, False), (4099, True)])
def test_archive_entry_count_limit_is_exact(tmp_path, entries, limited):
    """The end record may declare MAX_FILES + 2 entries (files, manifest, signature), no more;
    checked from the end record before the central directory is read."""
    path = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES)
    data = bytearray(path.read_bytes())
    eocd = data.rindex(b"PK\x05\x06")
    data[eocd + 8:eocd + 10] = entries.to_bytes(2, "little")   # entries on this disk
    data[eocd + 10:eocd + 12] = entries.to_bytes(2, "little")  # entries in all
    path.write_bytes(bytes(data))
    if not limited:  # within the limit: the count is not what refuses it (zipfile reads the directory itself)
        try:
            B.Bundle.open(path)
        except edgesdk.BundleError as error:
            assert not isinstance(error, edgesdk.BundleLimitError) and "declares" not in str(error), error
        return
    with pytest.raises(edgesdk.BundleLimitError, match=f"declares {entries} entries"):
        B.Bundle.open(path)


def _with_zip64_end_record(data: bytes, on_disk: int, total: int) -> bytes:
    """The archive with a ZIP64 end record and locator before its end record, which then
    defers its counts to them (as zipfile and other writers do past 65535 entries)."""
    eocd = data.rindex(b"PK\x05\x06")
    _, _, _, _, _, cd_size, cd_offset, _ = struct.unpack("<4s4H2LH", data[eocd:eocd + 22])
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, on_disk, total, cd_size, cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, eocd, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:eocd] + record + locator + end


def test_zip64_end_record_counts_all_entries(tmp_path):
    """The ZIP64 record's total entry count is the one bounded (not the count on this disk)."""
    path = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES)
    original = path.read_bytes()
    path.write_bytes(_with_zip64_end_record(original, on_disk=3, total=5000))
    with pytest.raises(edgesdk.BundleLimitError, match="declares 5000 entries"):
        B.Bundle.open(path)
    path.write_bytes(_with_zip64_end_record(original, on_disk=3, total=3))
    try:
        B.Bundle.open(path)
    except edgesdk.BundleError as error:  # zipfile may refuse the hand-made record; never for its count
        assert "declares" not in str(error), error


def test_central_directory_size_bound_reads_the_size_field(tmp_path):
    """The end record's central-directory size (not its entry count) is what is bounded."""
    path = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES)
    data = bytearray(path.read_bytes())
    eocd = data.rindex(b"PK\x05\x06")
    data[eocd + 12:eocd + 16] = (5 << 20).to_bytes(4, "little")  # 5 MiB of central directory
    path.write_bytes(bytes(data))
    with pytest.raises(edgesdk.BundleLimitError, match=f"in {5 << 20} bytes"):
        B.Bundle.open(path)


def test_archive_members_are_plain_readable_files(tmp_path):
    """Every member is a Unix regular file with mode 0644 (what unzip and the folder form get)."""
    import stat

    path = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert infos and all(info.create_system == 3 and info.external_attr >> 16 == 0o644 for info in infos)
    assert all(stat.S_IMODE(info.external_attr >> 16) == 0o644 for info in infos)


def test_quality_entries_check_every_quality_level():
    """A codec field missing from any quality level (not only the first) is a CorruptedError."""
    from edgesdk.bundle.manifest import quality_entries
    from edgesdk.codecs.model import default_model

    with zipfile.ZipFile(default_model().bundle.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert len(quality_entries(manifest)) == len(manifest["qualities"]) >= 2
    last = max(manifest["qualities"], key=int)
    for field in ("model_id", "graphs", "integer_data"):
        broken = json.loads(json.dumps(manifest))
        del broken["qualities"][last][field]
        with pytest.raises(edgesdk.CorruptedError, match="lacks or garbles a codec field"):
            quality_entries(broken)
    broken = json.loads(json.dumps(manifest))
    broken["qualities"][last]["integer_data"]["latent_channels"] = "many"
    with pytest.raises(edgesdk.CorruptedError):
        quality_entries(broken)
