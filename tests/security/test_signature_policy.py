"""Issue 18: a configured trusted key means signatures are required, and configured keys are
input too (small-order or non-canonical keys, world-writable key files are refused)."""

from __future__ import annotations

import os

import pytest

import edgesdk
from edgesdk import bundle as B
from edgesdk import security as S
from edgesdk.cli import main

pytest.importorskip("cryptography")

FILES = {"q1/tables.ecdf": bytes(range(256))}
IDENTITY = b"\x01" + bytes(31)  # the neutral point: a "key" every forged signature matches
FORGED = IDENTITY + bytes(32)  # R = identity, S = 0: verifies under IDENTITY for any message


@pytest.fixture(scope="module")
def vendor():
    pem, public = S.generate_signing_key("vendor")
    return pem, public


def test_an_unsigned_bundle_is_refused_when_a_trusted_key_is_configured(tmp_path, vendor, monkeypatch):
    unsigned = B.write_bundle(tmp_path / "u.edgesdk", {}, FILES)
    B.Bundle.open(unsigned)  # no trust configured: accepted, not signed
    with pytest.raises(edgesdk.SignatureError, match="not signed"):
        B.Bundle.open(unsigned, trusted_keys=[vendor[1]])
    key_file = tmp_path / "vendor.pub"
    key_file.write_text(vendor[1])
    monkeypatch.setenv("EDGESDK_TRUSTED_KEYS", str(key_file))
    with pytest.raises(edgesdk.SignatureError, match="not signed"):
        B.Bundle.open(unsigned)
    monkeypatch.delenv("EDGESDK_TRUSTED_KEYS")
    folder = S.trusted_keys_folder()
    folder.mkdir(parents=True)
    (folder / "vendor.pub").write_text(vendor[1])
    with pytest.raises(edgesdk.SignatureError, match="not signed"):
        B.Bundle.open(unsigned)
    with pytest.raises(edgesdk.SignatureError, match="not signed"):
        edgesdk.CodecModel.open(unsigned)


def test_removing_the_signature_does_not_downgrade_to_unsigned(tmp_path, vendor):
    signed = B.write_bundle(tmp_path / "s", {}, FILES, signing_key=vendor[0])
    assert B.Bundle.open(signed, trusted_keys=[vendor[1]]).signed_by
    (signed / "manifest.sig").unlink()
    with pytest.raises(edgesdk.SignatureError, match="not signed"):
        B.Bundle.open(signed, trusted_keys=[vendor[1]])


def test_verify_with_a_trusted_key_fails_without_a_valid_signature(tmp_path, vendor, capsys):
    key_file = tmp_path / "vendor.pub"
    key_file.write_text(vendor[1])
    unsigned = B.write_bundle(tmp_path / "u.edgesdk", {}, FILES)
    assert main(["verify", str(unsigned), "--trusted-key", str(key_file)]) == 1
    assert "not signed" in capsys.readouterr().err
    other_pem, _ = S.generate_signing_key()
    other = B.write_bundle(tmp_path / "o.edgesdk", {}, FILES, signing_key=other_pem)
    assert main(["verify", str(other), "--trusted-key", str(key_file)]) == 1
    signed = B.write_bundle(tmp_path / "s.edgesdk", {}, FILES, signing_key=vendor[0])
    assert main(["verify", str(signed), "--trusted-key", str(key_file)]) == 0


@pytest.mark.parametrize("raw", [
    IDENTITY,
    bytes(32),  # order 4
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  # order 2
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),  # order 8
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),  # order 8
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),  # order 8, x sign
    bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  # y = p: non-canonical
])
def test_small_order_and_non_canonical_keys_are_refused(tmp_path, raw):
    import base64

    with pytest.raises(edgesdk.InvalidArgumentError, match="not a usable Ed25519 public key"):
        S.load_public_key(raw)
    with pytest.raises(edgesdk.InvalidArgumentError, match="not a usable"):
        S.load_public_key(f"ed25519 {base64.b64encode(raw).decode()} evil\n")


def test_a_forged_signature_under_the_identity_key_does_not_open_a_bundle(tmp_path):
    forged = B.write_bundle(tmp_path / "f", {"model": {"family": "anything"}}, FILES)
    (forged / "manifest.sig").write_bytes(FORGED)
    with pytest.raises(edgesdk.InvalidArgumentError):
        B.Bundle.open(forged, trusted_keys=[IDENTITY], require_signature=True)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_world_writable_trust_files_are_refused(tmp_path, vendor, monkeypatch):
    signed = B.write_bundle(tmp_path / "s", {}, FILES, signing_key=vendor[0])
    key_file = tmp_path / "vendor.pub"
    key_file.write_text(vendor[1])
    key_file.chmod(0o666)
    monkeypatch.setenv("EDGESDK_TRUSTED_KEYS", str(key_file))
    with pytest.raises(edgesdk.InvalidArgumentError, match="writable by every user"):
        B.Bundle.open(signed)
    key_file.chmod(0o644)
    assert B.Bundle.open(signed).signed_by == S.key_fingerprint(vendor[1])
