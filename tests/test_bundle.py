"""Bundles: round trips, every kind of tampering refused, signatures and trusted keys, CLI."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import edgesdk
from edgesdk import bundle as B
from edgesdk.cli import main

pytest.importorskip("cryptography")

FILES = {"q1/graph.onnx": b"graph bytes " * 50, "q1/tables.ecdf": bytes(range(256)), "empty.bin": b""}
MANIFEST = {"model": {"family": "test"}, "qualities": {}}


@pytest.fixture(params=["dir", "zip"])
def bundle_path(request, tmp_path):
    name = "b" if request.param == "dir" else "b.edgesdk"
    return B.write_bundle(tmp_path / name, MANIFEST, FILES)


@pytest.fixture(scope="module")
def keys():
    pem, public = B.generate_signing_key()
    other_pem, other_public = B.generate_signing_key()
    return {"pem": pem, "public": public, "other_pem": other_pem, "other_public": other_public}


def _rewrite_zip(path, change):
    """Rewrites a .edgesdk with ``change(entries)`` applied to its {name: bytes}."""
    with zipfile.ZipFile(path) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist()}
    change(entries)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def test_round_trip_keeps_content_and_manifest(bundle_path):
    opened = B.Bundle.open(bundle_path)
    assert opened.names() == sorted(FILES)
    for name, data in FILES.items():
        assert opened.read(name) == data
    assert opened.manifest["model"] == MANIFEST["model"]
    assert opened.manifest["files"]["empty.bin"] == {"sha256": B.hashlib.sha256(b"").hexdigest(), "size": 0}
    assert len(opened.bundle_id) == 64 and opened.signed_by is None
    with pytest.raises(edgesdk.BundleError):
        opened.read("nope")


def test_archives_are_deterministic(tmp_path):
    first = B.write_bundle(tmp_path / "a.edgesdk", MANIFEST, FILES).read_bytes()
    second = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, dict(reversed(list(FILES.items())))).read_bytes()
    assert first == second


def test_changed_file_is_refused_naming_it(tmp_path):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    data = bytearray((path / "q1/graph.onnx").read_bytes())
    data[5] ^= 1
    (path / "q1/graph.onnx").write_bytes(bytes(data))
    with pytest.raises(edgesdk.BundleIntegrityError, match="q1/graph.onnx has sha256"):
        B.Bundle.open(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.__setitem__("extra.bin", b"x"), "does not list"),
        (lambda d: d.pop("q1/tables.ecdf"), "missing"),
        (lambda d: d.__setitem__("q1/tables.ecdf", d["q1/tables.ecdf"][:-1]), "bytes"),
        (lambda d: d.__setitem__("manifest.json", d["manifest.json"].replace(b'"test"', b'"tset"')), None),
        (lambda d: d.__setitem__("manifest.json", b"{not json"), "JSON"),
        (lambda d: d.__setitem__("manifest.json", json.dumps({"schema": "other"}).encode()), "schema"),
        (lambda d: d.pop("manifest.json"), "manifest"),
    ],
)
def test_tampered_archives_are_refused(tmp_path, change, message):
    path = B.write_bundle(tmp_path / "b.edgesdk", MANIFEST, FILES)
    original_id = B.Bundle.open(path).bundle_id
    _rewrite_zip(path, change)
    if message is None:  # a changed manifest still verifies its files, but it is another bundle
        assert B.Bundle.open(path).bundle_id != original_id
        return
    with pytest.raises(edgesdk.BundleIntegrityError, match=message):
        B.Bundle.open(path)


def test_newer_schema_version_asks_for_an_upgrade(tmp_path):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(edgesdk.UnsupportedVersionError, match="upgrade edgesdk"):
        B.Bundle.open(path)


def test_oversized_declarations_are_refused_before_reading(tmp_path):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["q1/graph.onnx"]["size"] = B.MAX_FILE_BYTES + 1
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(edgesdk.LimitExceededError):
        B.Bundle.open(path)


@pytest.mark.parametrize("name", ["../evil", "/abs", "a\\b", "a//b", "./a", "manifest.sig", "", "a/../b"])
def test_unsafe_names_are_refused(tmp_path, name):
    with pytest.raises(edgesdk.BundleIntegrityError):
        B.write_bundle(tmp_path / "b", MANIFEST, {name: b"x"})


def test_links_in_directory_bundles_are_refused(tmp_path):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    outside = tmp_path / "outside"
    outside.write_bytes(FILES["empty.bin"])
    (path / "empty.bin").unlink()
    (path / "empty.bin").symlink_to(outside)
    with pytest.raises(edgesdk.BundleIntegrityError, match="not a regular file"):
        B.Bundle.open(path)


def test_compressed_and_duplicate_zip_entries_are_refused(tmp_path):
    path = tmp_path / "c.edgesdk"
    B.write_bundle(path, MANIFEST, FILES)
    with zipfile.ZipFile(path) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(edgesdk.BundleIntegrityError, match="compressed"):
        B.Bundle.open(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive, pytest.warns(UserWarning):
        for name, data in [*entries.items(), ("empty.bin", b"")]:
            archive.writestr(name, data)
    with pytest.raises(edgesdk.BundleIntegrityError, match="twice"):
        B.Bundle.open(path)


def test_truncated_archives_are_refused_at_every_cut(tmp_path):
    data = B.write_bundle(tmp_path / "t.edgesdk", MANIFEST, FILES).read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 60)):
        (tmp_path / "cut.edgesdk").write_bytes(data[:cut])
        with pytest.raises(edgesdk.BundleError):
            B.Bundle.open(tmp_path / "cut.edgesdk")


def test_random_byte_flips_give_identical_content_or_an_edgesdk_error(tmp_path):
    data = B.write_bundle(tmp_path / "f.edgesdk", MANIFEST, FILES).read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(300):
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
        outcomes["ok"] += 1
    assert outcomes["refused"] > 200


def test_signed_bundle_verifies_with_its_key_and_names_it(tmp_path, keys):
    path = B.write_bundle(tmp_path / "s.edgesdk", MANIFEST, FILES, signing_key=keys["pem"])
    opened = B.Bundle.open(path, trusted_keys=[keys["public"]], require_signature=True)
    assert opened.signed_by == B.key_fingerprint(B.load_public_key(keys["public"]))


def test_signature_failures(tmp_path, keys, monkeypatch):
    monkeypatch.delenv("EDGESDK_TRUSTED_KEYS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    signed = B.write_bundle(tmp_path / "s", MANIFEST, FILES, signing_key=keys["pem"])
    unsigned = B.write_bundle(tmp_path / "u", MANIFEST, FILES)
    with pytest.raises(edgesdk.SignatureError, match="any trusted key"):
        B.Bundle.open(signed, trusted_keys=[keys["other_public"]])
    with pytest.raises(edgesdk.SignatureError, match="not signed"):
        B.Bundle.open(unsigned, trusted_keys=[keys["public"]], require_signature=True)
    with pytest.raises(edgesdk.SignatureError, match="no trusted keys"):
        B.Bundle.open(signed, require_signature=True)
    monkeypatch.setenv("EDGESDK_REQUIRE_SIGNATURE", "1")
    with pytest.raises(edgesdk.SignatureError):
        B.Bundle.open(unsigned)
    # A re-written manifest keeps the old signature, which no longer verifies.
    manifest = (signed / "manifest.json").read_text().replace('"test"', '"evil"')
    (signed / "manifest.json").write_text(manifest)
    with pytest.raises(edgesdk.SignatureError):
        B.Bundle.open(signed, trusted_keys=[keys["public"]])


def test_trusted_keys_from_environment_and_config_folder(tmp_path, keys, monkeypatch):
    signed = B.write_bundle(tmp_path / "s", MANIFEST, FILES, signing_key=keys["pem"])
    key_file = tmp_path / "k.pub"
    key_file.write_text(keys["public"])
    monkeypatch.setenv("EDGESDK_TRUSTED_KEYS", str(key_file))
    assert B.Bundle.open(signed, require_signature=True).signed_by
    monkeypatch.delenv("EDGESDK_TRUSTED_KEYS")
    folder = tmp_path / "config" / "edgesdk" / "trusted_keys"
    folder.mkdir(parents=True)
    (folder / "vendor.pub").write_text(keys["public"])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert B.Bundle.open(signed, require_signature=True).signed_by


def test_key_formats(keys):
    from cryptography.hazmat.primitives import serialization

    key = B.load_public_key(keys["public"])
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert {B.key_fingerprint(B.load_public_key(k)) for k in (pem, raw, pem.decode(), keys["public"] + " laptop")} \
        == {B.key_fingerprint(key)}
    for garbage in ("ed25519 !!!", "ed25519 AAAA", b"-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----"):
        with pytest.raises(edgesdk.InvalidArgumentError):
            B.load_public_key(garbage)


def test_cli_keygen_sign_verify(tmp_path, capsys):
    key = tmp_path / "vendor.key"
    assert main(["keygen", str(key)]) == 0
    assert (key.stat().st_mode & 0o777) == 0o600
    assert main(["keygen", str(key)]) == 1  # never overwrites a key
    path = B.write_bundle(tmp_path / "c.edgesdk", MANIFEST, FILES)
    assert main(["verify", str(path), "--require-signature", "--trusted-key", str(key) + ".pub"]) == 1
    assert main(["sign", str(path), "--key", str(key)]) == 0
    capsys.readouterr()
    assert main(["verify", str(path), "--require-signature", "--trusted-key", str(key) + ".pub", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["signed_by"].startswith("SHA256:") and info["files"] == len(FILES)
