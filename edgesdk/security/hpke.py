"""HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, on
``cryptography``'s X25519 and AES-GCM (its own HPKE, from version 47, takes no AAD; ours
interoperates with it, see tests/exchange/test_encryption.py), and the HKDF it and SFrame
share. Used to wrap per-stream keys for each authorised decoder (docs/exchange.md)."""

from __future__ import annotations

import hashlib
import hmac
import struct

from edgesdk.errors import CorruptedError, Error


class DecryptionError(Error):
    """An encrypted frame cannot be opened (see the subclasses); nothing was decrypted."""


class AuthenticationError(DecryptionError, CorruptedError):
    """The frame or its clear metadata was altered, or it was sealed with another key."""


def _nonce(salt: bytes, ctr: int) -> bytes:
    return bytes(a ^ b for a, b in zip(salt, ctr.to_bytes(len(salt), "big")))


# ------------------------------------------------------------------------------ HKDF


def _extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(hashlib.new(hash_name).digest_size), ikm, hash_name).digest()


def _expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hash_name).digest()
        out += block
        counter += 1
    return out[:length]


# ------------------------------------------------------------------------------ HPKE (RFC 9180), base mode

_KEM_ID, _KDF_ID, _AEAD_ID = 0x0020, 0x0001, 0x0001
_KEM_SUITE = b"KEM" + struct.pack(">H", _KEM_ID)
_HPKE_SUITE = b"HPKE" + struct.pack(">HHH", _KEM_ID, _KDF_ID, _AEAD_ID)


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract("sha256", salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand("sha256", prk, struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info, length)


def _x25519():
    from cryptography.hazmat.primitives.asymmetric import x25519

    return x25519


def _raw_public(key) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def hpke_derive_key_pair(ikm: bytes):
    """DeriveKeyPair of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1.3): a private key."""
    prk = _labeled_extract(_KEM_SUITE, b"", b"dkp_prk", ikm)
    return _x25519().X25519PrivateKey.from_private_bytes(_labeled_expand(_KEM_SUITE, prk, b"sk", b"", 32))


def _shared_secret(dh: bytes, enc: bytes, recipient_public: bytes) -> bytes:
    prk = _labeled_extract(_KEM_SUITE, b"", b"eae_prk", dh)
    return _labeled_expand(_KEM_SUITE, prk, b"shared_secret", enc + recipient_public, 32)


def _key_schedule(shared_secret: bytes, info: bytes) -> tuple[bytes, bytes]:
    psk_id_hash = _labeled_extract(_HPKE_SUITE, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(_HPKE_SUITE, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(_HPKE_SUITE, shared_secret, b"secret", b"")
    return (_labeled_expand(_HPKE_SUITE, secret, b"key", context, 16),
            _labeled_expand(_HPKE_SUITE, secret, b"base_nonce", context, 12))


def hpke_seal(recipient_public, info: bytes, aad: bytes, plaintext: bytes, *, ephemeral=None) -> bytes:
    """enc || ciphertext, single shot (sequence 0). ``ephemeral`` only for test vectors."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ephemeral = ephemeral or _x25519().X25519PrivateKey.generate()
    enc = _raw_public(ephemeral.public_key())
    shared = _shared_secret(ephemeral.exchange(recipient_public), enc, _raw_public(recipient_public))
    key, nonce = _key_schedule(shared, info)
    return enc + AESGCM(key).encrypt(nonce, plaintext, aad)


def hpke_open(private_key, info: bytes, aad: bytes, sealed: bytes, sequence: int = 0) -> bytes:
    """The plaintext of :func:`hpke_seal`'s output; AuthenticationError if it does not open."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(sealed) < 32 + 16:
        raise AuthenticationError("HPKE ciphertext too short")
    enc = sealed[:32]
    try:
        dh = private_key.exchange(_x25519().X25519PublicKey.from_public_bytes(enc))
    except ValueError:
        raise AuthenticationError("HPKE encapsulated key is invalid") from None
    key, nonce = _key_schedule(_shared_secret(dh, enc, _raw_public(private_key.public_key())), info)
    try:
        return AESGCM(key).decrypt(_nonce(nonce, sequence), sealed[32:], aad)
    except InvalidTag:
        raise AuthenticationError("HPKE ciphertext does not open with this key") from None
