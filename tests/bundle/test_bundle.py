"""Bundles: round trips, every kind of tampering refused with its class, signatures and trusted
keys, key files, CLI, and random damage that must end in success or an edgesdk error."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import edgesdk
from edgesdk import bundle as B
from edgesdk import security as S
from edgesdk.bundle import storage
from edgesdk.cli import main

pytest.importorskip("cryptography")

FILES = {"q1/graph.onnx": b"graph bytes " * 50, "q1/tables.ecdf": bytes(range(256)), "empty.bin": b""}
MANIFEST = {"model": {"family": "test"},
            "qualities": {"1": {"graphs": {"generator": {"fp32": {"file": "q1/graph.onnx"}}},
                                "integer_data": {"latent_tables": "q1/tables.ecdf", "latent_channels": 8}}}}


@pytest.fixture(params=["dir", "zip"])
def bundle_path(request, tmp_path):
    name = "b" if request.param == "dir" else "b.edgesdk"
    return B.write_bundle(tmp_path / name, MANIFEST, FILES)


@pytest.fixture(scope="module")
def keys():
    pem, public = S.generate_signing_key("vendor")
    other_pem, other_public = S.generate_signing_key()
    return {"pem": pem, "public": public, "other_pem": other_pem, "other_public": other_public}


def _entries(path):
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def _write_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)


def _rewrite_zip(path, change):
    """Rewrites a .edgesdk with ``change(entries)`` applied to its {name: bytes}."""
    entries = _entries(path)
    change(entries)
    _write_zip(path, entries.items())


def _manifest_bytes(files, **fields):
    """A manifest written here, independent of the module's writer, for what the writer refuses."""
    listed = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for name, data in files.items()}
    return json.dumps({"schema": B.SCHEMA, "schema_version": 1, "files": listed, **fields}).encode()


def _edit_manifest(path, change):
    manifest = json.loads((path / "manifest.json").read_text())
    change(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


# --------------------------------------------------------------------------- writing and reading

def test_round_trip_keeps_content_and_manifest(bundle_path):
    opened = B.Bundle.open(bundle_path)
    assert opened.names() == sorted(FILES)
    assert {name: opened.read(name) for name in opened.names()} == FILES
    assert opened.manifest["model"] == MANIFEST["model"]
    assert opened.manifest["files"]["empty.bin"] == {"sha256": hashlib.sha256(b"").hexdigest(), "size": 0}
    assert opened.bundle_id == hashlib.sha256(opened.manifest_bytes).hexdigest()
    assert opened.signed_by is None and not opened.has_signature
    assert opened.format == ("archive" if bundle_path.suffix == ".edgesdk" else "directory")
    info = opened.describe()
    assert (info["files"], info["bytes"], info["schema_version"]) == (3, sum(map(len, FILES.values())), 1)
    assert opened.bundle_id in opened.summary() and "not signed" in opened.summary()
    assert opened.bundle_id[:12] in repr(opened)
    with pytest.raises(edgesdk.BundleError, match="no file 'nope'"):
        opened.read("nope")


def test_manifest_serialization_is_fixed(tmp_path):
    path = B.write_bundle(tmp_path / "b", {"z": 1, "a": {"y": 2.5, "b": None}}, FILES)
    data = (path / "manifest.json").read_bytes()
    manifest = json.loads(data)
    assert data.endswith(b"}\n") and data.count(b"\n}\n") == 1
    assert data == (json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()
    assert list(manifest) == sorted(manifest) and manifest["schema_version"] == B.SCHEMA_VERSION


def test_archives_are_deterministic_and_signing_later_gives_the_same_bytes(tmp_path, keys):
    first = B.write_bundle(tmp_path / "a.edgesdk", MANIFEST, FILES).read_bytes()
    second = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, dict(reversed(list(FILES.items())))).read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "a.edgesdk") as archive:
        assert [i.filename for i in archive.infolist()] == ["manifest.json", *sorted(FILES)]
        assert {(i.compress_type, i.date_time) for i in archive.infolist()} == {(zipfile.ZIP_STORED, storage.ZIP_TIME)}
    signed = B.write_bundle(tmp_path / "s.edgesdk", MANIFEST, FILES, signing_key=keys["pem"]).read_bytes()
    B.sign_bundle(tmp_path / "a.edgesdk", keys["pem"])
    assert (tmp_path / "a.edgesdk").read_bytes() == signed  # Ed25519 signatures are deterministic


def test_writer_refuses_to_replace_without_overwrite_and_never_a_foreign_folder(tmp_path, keys):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES, signing_key=keys["pem"])
    with pytest.raises(edgesdk.InvalidArgumentError, match="overwrite=True"):
        B.write_bundle(path, MANIFEST, FILES)
    # Replacing leaves nothing of the old bundle behind: no stale file, no stale signature.
    B.write_bundle(path, MANIFEST, {"q1/graph.onnx": b"new", "q1/tables.ecdf": b"t"}, overwrite=True)
    assert sorted(p.name for p in path.rglob("*") if p.is_file()) == ["graph.onnx", "manifest.json", "tables.ecdf"]
    assert B.Bundle.open(path).read("q1/graph.onnx") == b"new"  # unsigned now: a trusted key would refuse it
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(edgesdk.InvalidArgumentError, match="not a bundle"):
        B.write_bundle(foreign, MANIFEST, FILES, overwrite=True)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    B.write_bundle(tmp_path / "empty", MANIFEST, FILES)  # an empty folder is fine
    archive = B.write_bundle(tmp_path / "x.edgesdk", MANIFEST, FILES)
    with pytest.raises(edgesdk.InvalidArgumentError, match="exists"):
        B.write_bundle(archive, MANIFEST, FILES)
    B.write_bundle(archive, {}, {"a": b"1"}, overwrite=True)
    assert B.Bundle.open(archive).names() == ["a"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize("manifest, files", [
    ({"x": float("nan")}, FILES),
    ({"x": np.float32(1)}, FILES),
    ({"x": {1: "a", "1": "b"}}, FILES),
    (MANIFEST, {"a": "text, not bytes"}),
])
def test_writer_refuses_what_readers_cannot_read(tmp_path, manifest, files):
    with pytest.raises(edgesdk.Error):
        B.write_bundle(tmp_path / "b", manifest, files)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("name", ["../evil", "/abs", "a\\b", "a//b", "./a", "manifest.sig", "manifest.json", "",
                                  "a/../b", "a/", ".hidden", "a b", "c:d", "ü", "x" * 256, "a\0b"])
def test_unsafe_names_are_refused_by_writer_and_reader(tmp_path, name):
    with pytest.raises(edgesdk.BundleIntegrityError, match="not allowed"):
        B.write_bundle(tmp_path / "b", MANIFEST, {name: b"x"})
    # A crafted archive that lists the name in its manifest (and holds it) is refused too.
    crafted = tmp_path / "crafted.edgesdk"
    held = [(name, b"x")] if name not in ("", "manifest.json") else []  # names zipfile can write once
    _write_zip(crafted, [("manifest.json", _manifest_bytes({name: b"x"})), *held])
    with pytest.raises(edgesdk.BundleIntegrityError):
        B.Bundle.open(crafted)


@pytest.mark.parametrize("names", [("A.bin", "a.bin"), ("a", "a/b")])
def test_names_that_clash_on_disk_are_refused(tmp_path, names):
    with pytest.raises(edgesdk.BundleIntegrityError, match="clash"):
        B.write_bundle(tmp_path / "b", {}, dict.fromkeys(names, b"x"))


def test_manifest_references_must_be_listed_files(tmp_path):
    files = dict(FILES)
    del files["q1/tables.ecdf"]
    with pytest.raises(edgesdk.BundleIntegrityError, match="integer_data.latent_tables names 'q1/tables.ecdf'"):
        B.write_bundle(tmp_path / "b", MANIFEST, files)


# --------------------------------------------------------------------------- tampering

@pytest.mark.parametrize("flavour", ["dir", "zip"])
def test_changed_byte_is_refused_naming_the_file_and_hashes(tmp_path, flavour):
    if flavour == "dir":
        path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
        data = bytearray((path / "q1/graph.onnx").read_bytes())
        data[5] ^= 1
        (path / "q1/graph.onnx").write_bytes(bytes(data))
    else:
        path = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES)
        _rewrite_zip(path, lambda e: e.__setitem__("q1/graph.onnx", b"X" + e["q1/graph.onnx"][1:]))
    expected = hashlib.sha256(FILES["q1/graph.onnx"]).hexdigest()[:12]
    with pytest.raises(edgesdk.BundleIntegrityError, match=f"q1/graph.onnx has sha256 .*manifest says {expected}"):
        B.Bundle.open(path)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda d: d.__setitem__("extra.bin", b"x"), edgesdk.BundleIntegrityError, "does not list"),
        (lambda d: d.__setitem__("../../etc/evil", b"x"), edgesdk.BundleIntegrityError, "does not list"),
        (lambda d: d.pop("q1/tables.ecdf"), edgesdk.BundleIntegrityError, "missing"),
        (lambda d: d.__setitem__("q1/tables.ecdf", d["q1/tables.ecdf"][:-1]), edgesdk.BundleIntegrityError,
         "255 bytes, the manifest says 256"),
        (lambda d: d.__setitem__("q1/tables.ecdf", d["q1/tables.ecdf"] + b"!"), edgesdk.BundleIntegrityError,
         "more than 256 bytes"),
        (lambda d: d.__setitem__("q1/graph.onnX", d.pop("q1/graph.onnx")), edgesdk.BundleIntegrityError,
         "does not list"),
        (lambda d: d.__setitem__("manifest.json", d["manifest.json"].replace(
            hashlib.sha256(b"").hexdigest().encode(), b"0" * 64)),
         edgesdk.BundleIntegrityError, "empty.bin has sha256"),
        (lambda d: d.__setitem__("manifest.json", b"{not json"), edgesdk.BundleIntegrityError, "JSON"),
        (lambda d: d.__setitem__("manifest.json", b"[" * 100_000), edgesdk.BundleIntegrityError, "JSON"),
        (lambda d: d.__setitem__("manifest.json", b'{"schema": "edgesdk.bundle", "schema": "x"}'),
         edgesdk.BundleIntegrityError, "duplicate keys"),
        (lambda d: d.__setitem__("manifest.json", d["manifest.json"].replace(b'"test"', b"NaN")),
         edgesdk.BundleIntegrityError, "NaN"),
        (lambda d: d.__setitem__("manifest.json", json.dumps({"schema": "other"}).encode()),
         edgesdk.BundleIntegrityError, "schema"),
        (lambda d: d.__setitem__("manifest.json", b" " * (B.MAX_MANIFEST_BYTES + 1)), edgesdk.BundleLimitError,
         "manifest.json is more than"),
        (lambda d: d.pop("manifest.json"), edgesdk.BundleIntegrityError, "no manifest.json"),
        (lambda d: d.__setitem__("manifest.sig", b"short"), edgesdk.SignatureError, "64-byte"),
    ],
)
def test_tampered_archives_are_refused(tmp_path, change, error, message):
    path = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES)
    _rewrite_zip(path, change)
    with pytest.raises(error, match=message):
        B.Bundle.open(path)


def test_a_changed_manifest_without_signature_is_another_bundle(tmp_path):
    path = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES)
    original_id = B.Bundle.open(path).bundle_id
    _rewrite_zip(path, lambda d: d.__setitem__("manifest.json", d["manifest.json"].replace(b'"test"', b'"tset"')))
    assert B.Bundle.open(path).bundle_id != original_id  # only a signature ties a manifest to its author


@pytest.mark.parametrize("flavour", ["dir", "zip"])
def test_extra_and_missing_files_in_folders(tmp_path, flavour):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    (path / "q1" / "notes.txt").write_text("x")
    with pytest.raises(edgesdk.BundleIntegrityError, match="q1/notes.txt"):
        B.Bundle.open(path)
    (path / "q1" / "notes.txt").unlink()
    (path / "empty.bin").unlink()
    with pytest.raises(edgesdk.BundleIntegrityError, match="empty.bin is missing"):
        B.Bundle.open(path)


def test_newer_schema_version_asks_for_an_upgrade(tmp_path):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    _edit_manifest(path, lambda m: m.__setitem__("schema_version", 2))
    with pytest.raises(edgesdk.BundleVersionError, match="version 2 is newer.*upgrade edgesdk") as caught:
        B.Bundle.open(path)
    assert isinstance(caught.value, edgesdk.UnsupportedVersionError)
    for invalid in (0, True, "1", 1.0):
        _edit_manifest(path, lambda m: m.__setitem__("schema_version", invalid))
        with pytest.raises(edgesdk.BundleIntegrityError, match="schema_version"):
            B.Bundle.open(path)


@pytest.mark.parametrize("change", [
    lambda files: files["q1/graph.onnx"].__setitem__("size", B.MAX_FILE_BYTES + 1),
    lambda files: files.update({f"big{i}": {"sha256": "0" * 64, "size": B.MAX_FILE_BYTES} for i in range(5)}),
    lambda files: files.update({f"f{i}": {"sha256": "0" * 64, "size": 0} for i in range(B.MAX_FILES)}),
])
def test_oversized_declarations_are_refused_before_reading(tmp_path, change):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    _edit_manifest(path, lambda m: change(m["files"]))
    with pytest.raises(edgesdk.BundleLimitError) as caught:
        B.Bundle.open(path)
    assert isinstance(caught.value, edgesdk.LimitExceededError)


def test_links_and_special_files_in_directory_bundles_are_refused(tmp_path):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "graph.onnx").write_bytes(FILES["q1/graph.onnx"])
    (outside / "tables.ecdf").write_bytes(FILES["q1/tables.ecdf"])
    # A linked folder whose files even have the right hashes: still outside the bundle.
    for name in ("graph.onnx", "tables.ecdf"):
        (path / "q1" / name).unlink()
    (path / "q1").rmdir()
    (path / "q1").symlink_to(outside, target_is_directory=True)
    with pytest.raises(edgesdk.BundleIntegrityError, match="q1 is not a regular file"):
        B.Bundle.open(path)
    (path / "q1").unlink()
    (path / "q1").mkdir()
    (path / "q1" / "graph.onnx").symlink_to(outside / "graph.onnx")
    (path / "q1" / "tables.ecdf").write_bytes(FILES["q1/tables.ecdf"])
    with pytest.raises(edgesdk.BundleIntegrityError, match="q1/graph.onnx is not a regular file"):
        B.Bundle.open(path)
    if hasattr(os, "mkfifo"):
        (path / "q1" / "graph.onnx").unlink()
        os.mkfifo(path / "q1" / "graph.onnx")
        with pytest.raises(edgesdk.BundleIntegrityError, match="not a regular file"):
            B.Bundle.open(path)


def test_zip_quirks_are_refused(tmp_path):
    path = tmp_path / "c.edgesdk"
    entries = _entries(B.write_bundle(path, MANIFEST, FILES))
    _write_zip(path, entries.items(), zipfile.ZIP_DEFLATED)
    with pytest.raises(edgesdk.BundleIntegrityError, match="compressed"):
        B.Bundle.open(path)
    with pytest.warns(UserWarning, match="Duplicate"):
        _write_zip(path, [*entries.items(), ("empty.bin", b"")])
    with pytest.raises(edgesdk.BundleIntegrityError, match="twice"):
        B.Bundle.open(path)
    _write_zip(path, entries.items())
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1  # the encrypted flag of the first central-directory record
    path.write_bytes(bytes(data))
    with pytest.raises(edgesdk.BundleIntegrityError, match="encrypted"):
        B.Bundle.open(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = b"hello"
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(edgesdk.BundleIntegrityError, match="archive comment"):
        B.Bundle.open(path)


def test_central_directory_size_is_bounded_before_zipfile_reads_it(tmp_path):
    data = bytearray(B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES).read_bytes())
    struct.pack_into("<HH", data, len(data) - 22 + 8, 60000, 60000)  # declared entry counts
    (tmp_path / "b.edgesdk").write_bytes(bytes(data))
    with pytest.raises(edgesdk.BundleLimitError, match="60000 entries"):
        B.Bundle.open(tmp_path / "b.edgesdk")


def test_truncated_archives_are_refused_at_every_cut(tmp_path):
    data = B.write_bundle(tmp_path / "t.edgesdk", MANIFEST, FILES).read_bytes()
    for cut in [*range(0, len(data), max(1, len(data) // 80)), len(data) - 1, len(data) - 22]:
        (tmp_path / "cut.edgesdk").write_bytes(data[:cut])
        with pytest.raises(edgesdk.BundleIntegrityError, match="truncated"):
            B.Bundle.open(tmp_path / "cut.edgesdk")


def test_not_a_bundle_at_all(tmp_path):
    with pytest.raises(edgesdk.BundleError, match="no such bundle"):
        B.Bundle.open(tmp_path / "missing.edgesdk")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n" + bytes(100))
    with pytest.raises(edgesdk.BundleIntegrityError):
        B.Bundle.open(tmp_path / "photo.png")
    (tmp_path / "folder").mkdir()
    with pytest.raises(edgesdk.BundleIntegrityError, match="no manifest.json"):
        B.Bundle.open(tmp_path / "folder")


def test_content_read_after_open_is_the_verified_content(tmp_path):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    opened = B.Bundle.open(path)
    (path / "q1/graph.onnx").write_bytes(b"swapped after verification")
    assert opened.read("q1/graph.onnx") == FILES["q1/graph.onnx"]
    with pytest.raises(edgesdk.BundleIntegrityError):
        B.Bundle.open(path)


def test_random_byte_flips_give_identical_content_or_an_edgesdk_error(tmp_path):
    data = B.write_bundle(tmp_path / "f.edgesdk", MANIFEST, FILES).read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(400):
        mutated = bytearray(data)
        for position in rng.integers(0, len(data), rng.integers(1, 4)):
            mutated[position] ^= int(rng.integers(1, 256))
        (tmp_path / "m.edgesdk").write_bytes(bytes(mutated))
        try:
            opened = B.Bundle.open(tmp_path / "m.edgesdk")
        except edgesdk.Error:
            outcomes["refused"] += 1
            continue
        assert {n: opened.read(n) for n in opened.names()} == FILES
        assert opened.manifest["model"] == MANIFEST["model"]
        outcomes["ok"] += 1
    assert outcomes["refused"] > 250 and outcomes["ok"] > 0  # flips in timestamps and attributes are harmless


# --------------------------------------------------------------------------- signatures and keys

@pytest.mark.parametrize("flavour", ["dir", "zip"])
def test_signed_bundle_verifies_with_its_key_in_every_form(tmp_path, keys, flavour):
    path = B.write_bundle(tmp_path / ("s" if flavour == "dir" else "s.edgesdk"), MANIFEST, FILES,
                          signing_key=keys["pem"])
    key_file = tmp_path / "vendor.pub"
    key_file.write_text(keys["public"])
    key = S.load_public_key(keys["public"])
    fingerprint = S.key_fingerprint(keys["public"])
    for trusted in ([keys["public"]], [key_file], [str(key_file)], [key], [S.raw_public_key(key)], key_file,
                    [keys["other_public"], keys["public"]]):
        opened = B.Bundle.open(path, trusted_keys=trusted, require_signature=True)
        assert opened.signed_by == fingerprint and opened.has_signature
    assert fingerprint == S.key_fingerprint(S.load_private_key(keys["pem"]))
    assert fingerprint.startswith("SHA256:") and len(fingerprint) == 7 + 32


def test_signature_policy(tmp_path, keys, monkeypatch):
    signed = B.write_bundle(tmp_path / "s", MANIFEST, FILES, signing_key=keys["pem"])
    unsigned = B.write_bundle(tmp_path / "u", MANIFEST, FILES)
    # Signed by a key that is not trusted: refused whenever trusted keys are configured.
    for required in (None, True):
        with pytest.raises(edgesdk.SignatureError, match="does not verify with any trusted key"):
            B.Bundle.open(signed, trusted_keys=[keys["other_public"]], require_signature=required)
    # Signed, nothing configured to check against: accepted as unsigned, unless required.
    opened = B.Bundle.open(signed)
    assert opened.has_signature and opened.signed_by is None and "no trusted key" in opened.summary()
    with pytest.raises(edgesdk.SignatureError, match="no trusted keys are configured"):
        B.Bundle.open(signed, require_signature=True)
    # A trusted key means a signature is required (issue 18: the policy no longer fails open).
    with pytest.raises(edgesdk.SignatureError, match="not signed"):
        B.Bundle.open(unsigned, trusted_keys=[keys["public"]])
    with pytest.raises(edgesdk.SignatureError, match="not signed"):
        B.Bundle.open(unsigned, trusted_keys=[keys["public"]], require_signature=True)
    monkeypatch.setenv("EDGESDK_REQUIRE_SIGNATURE", "1")
    for required in (None, False):  # the device's setting cannot be lifted by a caller
        with pytest.raises(edgesdk.SignatureError, match="not signed"):
            B.Bundle.open(unsigned, require_signature=required)
    assert B.Bundle.open(signed, trusted_keys=[keys["public"]]).signed_by
    # A rewritten manifest keeps the old signature, which no longer verifies.
    (signed / "manifest.json").write_text((signed / "manifest.json").read_text().replace('"test"', '"evil"'))
    with pytest.raises(edgesdk.SignatureError, match="changed after signing"):
        B.Bundle.open(signed, trusted_keys=[keys["public"]])


def test_trusted_keys_from_environment_and_config_folder_add_to_the_argument(tmp_path, keys, monkeypatch):
    signed = B.write_bundle(tmp_path / "s", MANIFEST, FILES, signing_key=keys["pem"])
    key_file = tmp_path / "k.pub"
    key_file.write_text(keys["public"])
    monkeypatch.setenv("EDGESDK_TRUSTED_KEYS", os.pathsep.join(["", str(key_file)]))
    assert B.Bundle.open(signed, trusted_keys=[keys["other_public"]], require_signature=True).signed_by
    monkeypatch.delenv("EDGESDK_TRUSTED_KEYS")
    folder = tmp_path / "config" / "edgesdk" / "trusted_keys"
    folder.mkdir(parents=True)
    (folder / "vendor.pub").write_text(keys["public"])
    (folder / "README").write_text("only *.pub files are keys")
    assert S.trusted_keys_folder() == folder
    assert B.Bundle.open(signed, require_signature=True).signed_by == S.key_fingerprint(keys["public"])
    (folder / "broken.pub").write_text("ed25519 not-base64")
    with pytest.raises(edgesdk.InvalidArgumentError, match="broken.pub"):
        B.Bundle.open(signed)
    monkeypatch.setenv("EDGESDK_TRUSTED_KEYS", str(tmp_path / "absent.pub"))
    with pytest.raises(edgesdk.InvalidArgumentError, match="absent.pub"):
        B.Bundle.open(signed)


def test_sign_bundle_replaces_signatures_and_checks_content_first(tmp_path, keys, monkeypatch):
    monkeypatch.setenv("EDGESDK_REQUIRE_SIGNATURE", "1")  # signing needs no trust settings
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES, signing_key=keys["other_pem"])
    assert B.sign_bundle(path, keys["pem"]) == S.key_fingerprint(keys["public"])
    assert B.Bundle.open(path, trusted_keys=[keys["public"]]).signed_by == S.key_fingerprint(keys["public"])
    with pytest.raises(edgesdk.SignatureError):
        B.Bundle.open(path, trusted_keys=[keys["other_public"]])
    (path / "empty.bin").write_bytes(b"tampered")
    with pytest.raises(edgesdk.BundleIntegrityError):
        B.sign_bundle(path, keys["pem"])


def test_key_formats(tmp_path, keys):
    from cryptography.hazmat.primitives import serialization

    key = S.load_public_key(keys["public"])
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    commented = f"# vendor signing key\n\n{keys['public'].strip()} laptop of Ana\n"
    assert keys["public"].startswith("ed25519 ") and keys["public"].endswith(" vendor\n")
    assert {S.key_fingerprint(k) for k in (pem, raw, pem.decode(), commented, commented.encode(), key)} \
        == {S.key_fingerprint(keys["public"])}
    assert S.public_key_text(pem, "again") == keys["public"].replace("vendor", "again")


@pytest.mark.parametrize(("garbage", "message"), [
    ("ed25519 !!!", "cannot read"),
    ("ed25519 AAAA", "32 bytes"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG laptop\n", "not a public key"),
    ("", "not a public key"),
    (b"\xff\xfe binary junk", "not a public key"),
    ("-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----", "cannot read"),
    ("-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----", "holds a private key"),
    (12345, "not int"),
])
def test_garbage_public_keys_give_clear_errors(garbage, message):
    with pytest.raises(edgesdk.InvalidArgumentError, match=message):
        S.load_public_key(garbage)


def test_two_keys_in_one_file_and_private_key_errors(tmp_path, keys):
    two = tmp_path / "two.pub"
    two.write_text(keys["public"] + keys["other_public"])
    with pytest.raises(edgesdk.InvalidArgumentError, match="two.pub is not a public key"):
        S.load_public_key(two)
    with pytest.raises(edgesdk.InvalidArgumentError, match="holds a private key"):
        S.load_public_key(keys["pem"])
    with pytest.raises(edgesdk.InvalidArgumentError, match="cannot read key file"):
        S.load_private_key(tmp_path / "absent.key")
    with pytest.raises(edgesdk.InvalidArgumentError, match="not an unencrypted PEM private key"):
        S.load_private_key(keys["public"].encode())
    from cryptography.hazmat.primitives import serialization

    encrypted = S.load_private_key(keys["pem"]).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"))
    with pytest.raises(edgesdk.InvalidArgumentError, match="unencrypted"):
        S.load_private_key(encrypted)
    assert S.load_private_key(keys["pem"].decode()).public_key()  # PEM text works as well as bytes


# --------------------------------------------------------------------------- CLI, dependencies

def test_cli_keygen_sign_verify(tmp_path, capsys):
    key = tmp_path / "vendor.key"
    assert main(["keygen", str(key)]) == 0
    assert (key.stat().st_mode & 0o777) == 0o600
    fingerprint = S.key_fingerprint(tmp_path / "vendor.key.pub")
    assert fingerprint == S.key_fingerprint(S.load_private_key(key))
    assert main(["keygen", str(key)]) == 1  # never overwrites a key
    assert "refusing to overwrite" in capsys.readouterr().err
    path = B.write_bundle(tmp_path / "c.edgesdk", MANIFEST, FILES)
    assert main(["verify", str(path)]) == 0
    assert "not signed" in capsys.readouterr().out
    assert main(["verify", str(path), "--require-signature", "--trusted-key", f"{key}.pub"]) == 1
    assert "not signed" in capsys.readouterr().err
    assert main(["sign", str(path), "--key", str(key)]) == 0
    assert fingerprint in capsys.readouterr().out
    assert main(["verify", str(path), "--require-signature", "--trusted-key", f"{key}.pub"]) == 0
    out = capsys.readouterr().out
    assert B.Bundle.open(path).bundle_id in out and f"{len(FILES)} files" in out and fingerprint in out
    assert main(["verify", str(path), "--trusted-key", f"{key}.pub", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["signed_by"], info["files"], info["format"], info["signed"]) == (fingerprint, 3, "archive", True)
    assert main(["sign", str(path), "--key", str(tmp_path / "absent.key")]) == 1
    assert "absent.key" in capsys.readouterr().err


def test_runtime_import_does_not_load_cryptography():
    code = "import sys, edgesdk.bundle, edgesdk.cli; assert 'cryptography' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_cryptography_unsigned_bundles_open_and_signed_ones_say_what_to_install(tmp_path, keys):
    unsigned = B.write_bundle(tmp_path / "u", MANIFEST, FILES)
    signed = B.write_bundle(tmp_path / "s", MANIFEST, FILES, signing_key=keys["pem"])
    code = (
        "import sys; sys.modules['cryptography'] = None\n"  # makes every cryptography import fail
        "from edgesdk import bundle, DependencyError\n"
        f"bundle.Bundle.open({str(unsigned)!r})\n"
        "try:\n"
        f"    bundle.Bundle.open({str(signed)!r}, trusted_keys=[{keys['public']!r}])\n"
        "except DependencyError as error:\n"
        "    assert 'pip install' in str(error), error\n"
        "else:\n"
        "    raise AssertionError('verified a signature without cryptography')\n"
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
