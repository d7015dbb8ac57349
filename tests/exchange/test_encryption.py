"""Encrypted latents (edgesdk.security.encryption): SFrame and HPKE against their RFCs' test
vectors, interoperability with cryptography's HPKE, and the refusals: wrong recipient,
revoked decoder, tampered metadata or bytes, replayed frame."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import edgesdk
from edgesdk.exchange import FrameRecord
from edgesdk.security import encryption as enc
from edgesdk.security.encryption import (
    AuthenticationError,
    NotAuthorisedError,
    ReplayError,
    StreamDecryptor,
    StreamEncryptor,
    generate_decoder_key,
)

VECTORS = json.loads((Path(__file__).with_name("crypto_vectors.json")).read_text())
h = bytes.fromhex


@pytest.mark.parametrize("vector", VECTORS["sframe_header"], ids=lambda v: f"kid{v['kid']}-ctr{v['ctr']}")
def test_sframe_header_vectors(vector):
    encoded = h(vector["encoded"])
    assert enc.encode_header(vector["kid"], vector["ctr"]) == encoded
    assert enc.decode_header(encoded + b"payload") == (vector["kid"], vector["ctr"], len(encoded))


@pytest.mark.parametrize("vector", VECTORS["sframe"], ids=lambda v: f"suite{v['cipher_suite']}")
def test_sframe_rfc9605_vectors(vector):
    suite = vector["cipher_suite"]
    key, salt = enc.derive_key_salt(h(vector["base_key"]), vector["kid"], suite)
    assert (key, salt) == (h(vector["sframe_key"]), h(vector["sframe_salt"]))
    assert enc._nonce(salt, vector["ctr"]) == h(vector["nonce"])
    sealed = enc.sframe_encrypt(h(vector["base_key"]), vector["kid"], vector["ctr"], h(vector["metadata"]),
                                h(vector["pt"]), suite)
    assert sealed == h(vector["ct"])
    assert enc.sframe_decrypt(h(vector["base_key"]), sealed, h(vector["metadata"]), suite) == h(vector["pt"])
    with pytest.raises(AuthenticationError):
        enc.sframe_decrypt(h(vector["base_key"]), sealed, h(vector["metadata"]) + b"x", suite)


def test_hpke_rfc9180_a11_vectors():
    v = VECTORS["hpke_a_1_1"]
    from cryptography.hazmat.primitives.serialization import Encoding, PrivateFormat, NoEncryption

    def raw(private):
        return private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    ephemeral = enc.hpke_derive_key_pair(h(v["ikmE"]))
    recipient = enc.hpke_derive_key_pair(h(v["ikmR"]))
    assert raw(ephemeral) == h(v["skEm"]) and enc._raw_public(ephemeral.public_key()) == h(v["pkEm"])
    assert raw(recipient) == h(v["skRm"]) and enc._raw_public(recipient.public_key()) == h(v["pkRm"])
    shared = enc._shared_secret(ephemeral.exchange(recipient.public_key()), h(v["enc"]), h(v["pkRm"]))
    assert shared == h(v["shared_secret"])
    assert enc._key_schedule(shared, h(v["info"])) == (h(v["key"]), h(v["base_nonce"]))
    first = v["encryptions"][0]
    sealed = enc.hpke_seal(recipient.public_key(), h(v["info"]), h(first["aad"]), h(first["pt"]), ephemeral=ephemeral)
    assert sealed == h(v["enc"]) + h(first["ct"])
    for item in v["encryptions"]:
        opened = enc.hpke_open(recipient, h(v["info"]), h(item["aad"]), h(v["enc"]) + h(item["ct"]), item["seq"])
        assert opened == h(item["pt"])


def test_hpke_interoperates_with_cryptography():
    hpke = pytest.importorskip("cryptography.hazmat.primitives.hpke")
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
    key = generate_decoder_key()
    theirs = suite.encrypt(b"stream key", key.public_key(), info=b"ctx")
    assert enc.hpke_open(key, b"ctx", b"", theirs) == b"stream key"
    ours = enc.hpke_seal(key.public_key(), b"ctx", b"", b"stream key")
    assert suite.decrypt(ours, key, info=b"ctx") == b"stream key"


def camera_and_viewers():
    camera = StreamEncryptor("cam0")
    keys = {name: generate_decoder_key() for name in ("alice", "bob", "eve")}
    camera.authorise("alice", keys["alice"].public_key())
    camera.authorise("bob", keys["bob"].public_key())
    viewers = {name: StreamDecryptor(name, key) for name, key in keys.items()}
    return camera, viewers


def record(index: int, data: bytes = b"latent packet bytes") -> FrameRecord:
    return FrameRecord("cam0", index, 1000.0 + index, data, kind="key" if index == 0 else "P",
                       model_id="ab" * 32, quality=2)


def test_authorised_decoders_read_and_others_get_a_clear_error():
    camera, viewers = camera_and_viewers()
    wrapped = camera.wrapped_keys()
    sealed = camera.encrypt_record(record(0))
    assert sealed.metadata() | {"size": 0} == record(0).metadata() | {"size": 0, "encrypted": True}  # clear
    assert b"latent packet bytes" not in sealed.data
    for name in ("alice", "bob"):
        viewers[name].accept_keys("cam0", 0, wrapped)
        assert viewers[name].decrypt_record(sealed).data == b"latent packet bytes"
    with pytest.raises(NotAuthorisedError):
        viewers["eve"].accept_keys("cam0", 0, wrapped)  # not a recipient
    with pytest.raises(NotAuthorisedError):
        viewers["eve"].accept_key("cam0", 0, wrapped["alice"])  # someone else's wrap
    with pytest.raises(NotAuthorisedError):
        viewers["bob"].accept_key("cam1", 0, wrapped["bob"])  # bound to its stream
    with pytest.raises(NotAuthorisedError):
        viewers["eve"].decrypt_record(sealed)  # no key: an error, never garbage
    assert issubclass(NotAuthorisedError, edgesdk.Error)


def test_tampered_metadata_or_bytes_are_refused():
    camera, viewers = camera_and_viewers()
    viewers["alice"].accept_keys("cam0", 0, camera.wrapped_keys())
    sealed = camera.encrypt_record(record(3))
    for tampered in (replace(sealed, quality=5), replace(sealed, timestamp=1.0), replace(sealed, kind="key"),
                     replace(sealed, transforms=("blur",)), replace(sealed, model_id="cd" * 32)):
        with pytest.raises(AuthenticationError):
            viewers["alice"].decrypt_record(tampered)
    flipped = bytearray(sealed.data)
    flipped[-20] ^= 1
    with pytest.raises(AuthenticationError):
        viewers["alice"].decrypt_record(replace(sealed, data=bytes(flipped)))
    with pytest.raises(AuthenticationError):  # moved to another frame index
        viewers["alice"].decrypt_record(replace(sealed, frame_index=4))
    assert viewers["alice"].decrypt_record(sealed).data == b"latent packet bytes"


def test_replayed_frame_is_refused():
    camera, viewers = camera_and_viewers()
    alice = viewers["alice"]
    alice.accept_keys("cam0", 0, camera.wrapped_keys())
    frames = [camera.encrypt_record(record(i, b"f%d" % i)) for i in range(5)]
    for sealed in frames[:3]:
        alice.decrypt_record(sealed)
    with pytest.raises(ReplayError):
        alice.decrypt_record(frames[1])
    alice.decrypt_record(frames[4])
    alice.decrypt_record(frames[3])  # late but new: accepted
    assert alice.decrypt_record(frames[1], check_replay=False).data == b"f1"  # reading back from a store


def test_rotation_and_revocation():
    camera, viewers = camera_and_viewers()
    for name in ("alice", "bob"):
        viewers[name].accept_keys("cam0", 0, camera.wrapped_keys())
    old = camera.encrypt_record(record(0))
    epoch = camera.revoke("bob")
    assert epoch == 1 and camera.decoders == ["alice"]
    wrapped = camera.wrapped_keys()
    assert set(wrapped) == {"alice"}
    viewers["alice"].accept_keys("cam0", epoch, wrapped)
    with pytest.raises(NotAuthorisedError):
        viewers["bob"].accept_keys("cam0", epoch, wrapped)
    new = camera.encrypt_record(record(1))
    assert viewers["alice"].decrypt_record(new).data == b"latent packet bytes"
    with pytest.raises(NotAuthorisedError):
        viewers["bob"].decrypt_record(new)
    assert viewers["bob"].decrypt_record(old).data == b"latent packet bytes"  # what it was given stays readable
    camera.rotate()
    viewers["alice"].accept_keys("cam0", 2, camera.wrapped_keys())
    assert viewers["alice"].decrypt_record(camera.encrypt_record(record(2))).data == b"latent packet bytes"


def test_encrypted_frames_in_the_store(tmp_path):
    pytest.importorskip("apsw")
    from edgesdk.exchange import open_store

    camera, viewers = camera_and_viewers()
    viewers["alice"].accept_keys("cam0", 0, camera.wrapped_keys())
    with open_store(str(tmp_path / "s.db")) as store:
        store.put_many(camera.encrypt_record(record(i, b"frame %d" % i)) for i in range(4))
        back = list(store.get("cam0", 1001.0, 1003.0))  # the clear metadata still selects
        assert [viewers["alice"].decrypt_record(r).data for r in back] == [b"frame 1", b"frame 2"]


def test_a_small_order_public_key_is_refused():
    from cryptography.hazmat.primitives.asymmetric import x25519

    camera = StreamEncryptor("cam0")
    for raw in (bytes(32), bytes([1]) + bytes(31)):  # u = 0 and u = 1: every shared secret is zero
        with pytest.raises(edgesdk.InvalidArgumentError):
            camera.authorise("mallory", x25519.X25519PublicKey.from_public_bytes(raw))
    assert camera.decoders == []
