"""Encrypted latents: per-frame SFrame (RFC 9605) with the clear metadata as authenticated
data, and per-stream keys wrapped for each authorised decoder with HPKE (RFC 9180).

* :func:`sframe_encrypt` / :func:`sframe_decrypt`: the RFC's frame format (header with key id
  and counter, AEAD over the payload, header + metadata authenticated), cipher suites 4
  (AES_128_GCM_SHA256_128) and 5 (AES_256_GCM_SHA512_128).
* :func:`hpke_seal` / :func:`hpke_open`: HPKE base mode, DHKEM(X25519, HKDF-SHA256),
  HKDF-SHA256, AES-128-GCM, on ``cryptography``'s X25519 and AES-GCM (its own HPKE has no
  AAD argument; ours interoperates with it, see tests/exchange/test_encryption.py).
* :class:`StreamEncryptor` (camera side): key epochs, ``authorise``/``revoke``/``rotate``;
  :class:`StreamDecryptor` (viewer side): unwraps epoch keys with its X25519 private key
  and opens frames, refusing unknown epochs, altered frames or metadata, and replays.

Layout and guarantees: docs/exchange.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from edgesdk.errors import CorruptedError, Error, InvalidArgumentError


class DecryptionError(Error):
    """An encrypted frame cannot be opened (see the subclasses); nothing was decrypted."""


class NotAuthorisedError(DecryptionError):
    """This decoder holds no key for the frame's key epoch (never given one, or revoked)."""


class AuthenticationError(DecryptionError, CorruptedError):
    """The frame or its clear metadata was altered, or it was sealed with another key."""


class ReplayError(DecryptionError):
    """The frame's counter was already accepted under this key: a replayed frame."""


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


# ------------------------------------------------------------------------------ SFrame (RFC 9605)


@dataclass(frozen=True)
class CipherSuite:
    """An SFrame cipher suite (RFC 9605): its id, HKDF hash and AES-GCM key, nonce and tag sizes."""

    ident: int
    hash_name: str
    key_size: int  # Nk
    nonce_size: int = 12  # Nn
    tag_size: int = 16  # Nt


SUITES = {4: CipherSuite(4, "sha256", 16), 5: CipherSuite(5, "sha512", 32)}
DEFAULT_SUITE = 4  # AES_128_GCM_SHA256_128


def _suite(ident: int) -> CipherSuite:
    if ident not in SUITES:
        raise InvalidArgumentError(f"SFrame cipher suite {ident} is not supported (supported: {sorted(SUITES)})")
    return SUITES[ident]


def _minimal_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def encode_header(kid: int, ctr: int) -> bytes:
    """SFrame header: config byte X|KLEN|Y|CLEN, then the key id and counter (RFC 9605 §4.3)."""
    if not (0 <= kid < 2**64 and 0 <= ctr < 2**64):
        raise InvalidArgumentError("SFrame key id and counter must fit in 64 bits")
    config, tail = 0, b""
    if kid < 8:
        config |= kid << 4
    else:
        kid_bytes = _minimal_bytes(kid)
        config |= 0x80 | (len(kid_bytes) - 1) << 4
        tail += kid_bytes
    if ctr < 8:
        config |= ctr
    else:
        ctr_bytes = _minimal_bytes(ctr)
        config |= 0x08 | (len(ctr_bytes) - 1)
        tail += ctr_bytes
    return bytes([config]) + tail


def decode_header(data: bytes) -> tuple[int, int, int]:
    """(kid, ctr, header length) of an SFrame ciphertext; AuthenticationError if too short."""
    if not data:
        raise AuthenticationError("empty SFrame ciphertext")
    config, at = data[0], 1
    values = []
    for extended, short in ((config & 0x80, (config >> 4) & 0x07), (config & 0x08, config & 0x07)):
        if not extended:
            values.append(short)
            continue
        size = short + 1
        if len(data) < at + size:
            raise AuthenticationError("SFrame header truncated")
        values.append(int.from_bytes(data[at:at + size], "big"))
        at += size
    return values[0], values[1], at


def derive_key_salt(base_key: bytes, kid: int, suite: int = DEFAULT_SUITE) -> tuple[bytes, bytes]:
    """(sframe_key, sframe_salt) of a base key and key id (RFC 9605 §4.4.2)."""
    s = _suite(suite)
    secret = _extract(s.hash_name, b"", base_key)
    suffix = struct.pack(">QH", kid, s.ident)
    key = _expand(s.hash_name, secret, b"SFrame 1.0 Secret key " + suffix, s.key_size)
    salt = _expand(s.hash_name, secret, b"SFrame 1.0 Secret salt " + suffix, s.nonce_size)
    return key, salt


def _nonce(salt: bytes, ctr: int) -> bytes:
    return bytes(a ^ b for a, b in zip(salt, ctr.to_bytes(len(salt), "big")))


def sframe_encrypt(base_key: bytes, kid: int, ctr: int, metadata: bytes, plaintext: bytes,
                   suite: int = DEFAULT_SUITE) -> bytes:
    """header || AEAD(plaintext) with header || metadata authenticated (RFC 9605 §4.4.3).
    The caller never reuses a counter under one key id."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, salt = derive_key_salt(base_key, kid, suite)
    header = encode_header(kid, ctr)
    return header + AESGCM(key).encrypt(_nonce(salt, ctr), plaintext, header + metadata)


def sframe_decrypt(base_key: bytes, ciphertext: bytes, metadata: bytes, suite: int = DEFAULT_SUITE) -> bytes:
    """The plaintext, or AuthenticationError (wrong key, altered bytes or metadata)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    kid, ctr, size = decode_header(ciphertext)
    key, salt = derive_key_salt(base_key, kid, suite)
    if len(ciphertext) < size + _suite(suite).tag_size:
        raise AuthenticationError("SFrame ciphertext shorter than its tag")
    try:
        return AESGCM(key).decrypt(_nonce(salt, ctr), ciphertext[size:], ciphertext[:size] + metadata)
    except InvalidTag:
        raise AuthenticationError(f"SFrame key id {kid} counter {ctr}: authentication failed (altered frame or "
                                  "metadata, or another key)") from None


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


# ------------------------------------------------------------------------------ streams, epochs, decoders

WRAP_INFO = b"edgesdk stream key v1"
REPLAY_WINDOW = 4096  # counters below the highest accepted minus this are refused as replays


def generate_decoder_key():
    """A new X25519 private key for a decoder; give its ``public_key()`` to cameras."""
    return _x25519().X25519PrivateKey.generate()


def canonical_metadata(metadata: dict[str, Any]) -> bytes:
    """The bytes bound as SFrame metadata: sorted-key compact JSON, without the byte size
    (which changes with encryption)."""
    clear = {key: value for key, value in metadata.items() if key != "size"}
    return json.dumps(clear, sort_keys=True, separators=(",", ":")).encode()


def _wrap_aad(stream: str, epoch: int, decoder: str) -> bytes:
    return json.dumps([stream, epoch, decoder], separators=(",", ":")).encode()


@dataclass
class StreamEncryptor:
    """Camera side of one stream. Each key epoch has a random base key (the SFrame key id is
    the epoch); :meth:`wrapped_keys` gives it to each authorised decoder sealed with HPKE.
    ``revoke`` and ``rotate`` start a new epoch; a revoked decoder is not given its key."""

    stream: str
    suite: int = DEFAULT_SUITE
    epoch: int = 0
    _keys: dict[int, bytes] = field(default_factory=dict, repr=False)
    _decoders: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        _suite(self.suite)
        self._keys[self.epoch] = os.urandom(16)

    @property
    def decoders(self) -> list[str]:
        """Names of the authorised decoders, sorted."""
        return sorted(self._decoders)

    def authorise(self, decoder: str, public_key) -> None:
        """``decoder`` (a name) may read this epoch and later ones."""
        self._decoders[decoder] = public_key

    def revoke(self, decoder: str) -> int:
        """Removes ``decoder`` and starts a new epoch it never gets; returns the epoch."""
        self._decoders.pop(decoder, None)
        return self.rotate()

    def rotate(self) -> int:
        """Starts a new key epoch with a fresh random key and returns it; authorised decoders stay
        authorised and earlier epochs' keys are kept (for :meth:`wrapped_keys`)."""
        self.epoch += 1
        self._keys[self.epoch] = os.urandom(16)
        return self.epoch

    def wrapped_keys(self, epoch: int | None = None) -> dict[str, bytes]:
        """{decoder: HPKE(enc || sealed base key)} of an epoch, bound to (stream, epoch, decoder)."""
        epoch = self.epoch if epoch is None else epoch
        key = self._keys[epoch]
        return {name: hpke_seal(public, WRAP_INFO, _wrap_aad(self.stream, epoch, name), key)
                for name, public in self._decoders.items()}

    def seal(self, frame_index: int, metadata: dict[str, Any], data: bytes) -> bytes:
        """SFrame ciphertext of one frame under the current epoch (counter = frame index;
        frame indexes never repeat within an epoch)."""
        return sframe_encrypt(self._keys[self.epoch], self.epoch, frame_index, canonical_metadata(metadata),
                              data, self.suite)

    def encrypt_record(self, record):
        """The record with its data sealed (metadata unchanged and in clear)."""
        from dataclasses import replace

        return replace(record, data=self.seal(record.frame_index, record.metadata(), record.data))


class StreamDecryptor:
    """Viewer side: holds this decoder's private key and the epoch keys it was given."""

    def __init__(self, name: str, private_key, *, suite: int = DEFAULT_SUITE, replay_window: int = REPLAY_WINDOW):
        self.name = name
        self._private = private_key
        self._suite = _suite(suite).ident
        self._keys: dict[tuple[str, int], bytes] = {}
        self._window = replay_window
        self._seen: dict[tuple[str, int], tuple[int, set[int]]] = {}
        self._lock = threading.Lock()

    def accept_key(self, stream: str, epoch: int, wrapped: bytes) -> None:
        """Unwraps an epoch key sealed for this decoder (NotAuthorisedError if it was not)."""
        try:
            key = hpke_open(self._private, WRAP_INFO, _wrap_aad(stream, epoch, self.name), wrapped)
        except AuthenticationError:
            raise NotAuthorisedError(f"the key of stream {stream} epoch {epoch} was not wrapped for decoder "
                                     f"{self.name}") from None
        self._keys[(stream, epoch)] = key

    def accept_keys(self, stream: str, epoch: int, wrapped_keys: dict[str, bytes]) -> None:
        """Unwraps this decoder's key from :meth:`StreamEncryptor.wrapped_keys`' mapping;
        NotAuthorisedError if it is not among the recipients (revoked or never authorised)."""
        if self.name not in wrapped_keys:
            raise NotAuthorisedError(f"decoder {self.name} is not among the recipients of stream {stream} "
                                     f"epoch {epoch} (revoked or never authorised)")
        self.accept_key(stream, epoch, wrapped_keys[self.name])

    def open(self, stream: str, frame_index: int, metadata: dict[str, Any], ciphertext: bytes, *,
             check_replay: bool = True) -> bytes:
        """The frame's bytes; NotAuthorisedError (no key for its epoch), AuthenticationError
        (altered data or metadata, or counter not the frame index), ReplayError."""
        epoch, ctr, _ = decode_header(ciphertext)
        key = self._keys.get((stream, epoch))
        if key is None:
            raise NotAuthorisedError(f"decoder {self.name} holds no key for stream {stream} epoch {epoch}")
        if ctr != frame_index:
            raise AuthenticationError(f"stream {stream}: frame {frame_index} carries counter {ctr}")
        plaintext = sframe_decrypt(key, ciphertext, canonical_metadata(metadata), self._suite)
        if check_replay:
            self._check_replay((stream, epoch), ctr)
        return plaintext

    def decrypt_record(self, record, *, check_replay: bool = True):
        """The record with its data opened (see :meth:`open`); ``check_replay=False`` when
        re-reading frames already accepted, e.g. from a store."""
        from dataclasses import replace

        data = self.open(record.stream, record.frame_index, record.metadata(), record.data, check_replay=check_replay)
        return replace(record, data=data)

    def _check_replay(self, key: tuple[str, int], ctr: int) -> None:
        with self._lock:
            highest, seen = self._seen.get(key, (-1, set()))
            if ctr in seen or ctr <= highest - self._window:
                raise ReplayError(f"stream {key[0]} epoch {key[1]}: counter {ctr} was already accepted (replay)")
            seen.add(ctr)
            highest = max(highest, ctr)
            if len(seen) > 2 * self._window:
                seen = {c for c in seen if c > highest - self._window}
            self._seen[key] = (highest, seen)
