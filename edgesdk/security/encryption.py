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

import functools
import json
import os
import struct
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from edgesdk.errors import InvalidArgumentError
from edgesdk.security.hpke import (  # noqa: F401  (HKDF and HPKE live there; re-exported here)
    AuthenticationError,
    DecryptionError,
    _expand,
    _extract,
    _key_schedule,
    _nonce,
    _raw_public,
    _shared_secret,
    _x25519,
    hpke_derive_key_pair,
    hpke_open,
    hpke_seal,
)


class NotAuthorisedError(DecryptionError):
    """This decoder holds no key for the frame's key epoch (never given one, or revoked)."""


class ReplayError(DecryptionError):
    """The frame's counter was already accepted under this key: a replayed frame."""


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


@functools.lru_cache(maxsize=256)  # an epoch's frames share one derivation (keys held anyway)
def derive_key_salt(base_key: bytes, kid: int, suite: int = DEFAULT_SUITE) -> tuple[bytes, bytes]:
    """(sframe_key, sframe_salt) of a base key and key id (RFC 9605 §4.4.2)."""
    s = _suite(suite)
    secret = _extract(s.hash_name, b"", base_key)
    suffix = struct.pack(">QH", kid, s.ident)
    key = _expand(s.hash_name, secret, b"SFrame 1.0 Secret key " + suffix, s.key_size)
    salt = _expand(s.hash_name, secret, b"SFrame 1.0 Secret salt " + suffix, s.nonce_size)
    return key, salt


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


# ------------------------------------------------------------------------------ streams, epochs, decoders

WRAP_INFO = b"edgesdk stream key v1"
FEATURES_INFO = b"edgesdk feature vector key v1"
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


@functools.lru_cache(maxsize=256)
def features_key(base_key: bytes) -> bytes:
    """The base key feature vectors are sealed with: HKDF of the epoch's base key with its own
    label, so a vector and its frame (same key id and counter) never share an AES-GCM nonce."""
    return _expand("sha256", _extract("sha256", b"", base_key), FEATURES_INFO, len(base_key))


@dataclass
class StreamEncryptor:
    """Camera side of one stream. Each key epoch has a random base key (the SFrame key id is
    the epoch); :meth:`wrapped_keys` gives it to each authorised decoder sealed with HPKE.
    ``revoke`` and ``rotate`` start a new epoch; a revoked decoder is not given its key."""

    stream: str
    suite: int = DEFAULT_SUITE
    epoch: int = 0  # the first epoch (a stream published again starts after its last one)
    seal_features: bool = True  # feature vectors leak content: sealed unless this is False
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
        """``decoder`` (a name) may read this epoch and later ones. A key of small order (whose
        shared secrets are all zero, e.g. all-zero bytes) is refused: InvalidArgumentError."""
        try:
            _x25519().X25519PrivateKey.generate().exchange(public_key)
        except (ValueError, TypeError):
            raise InvalidArgumentError(f"the public key of decoder {decoder} is not a usable X25519 key (a point of "
                                       "small order, or not an X25519 key)") from None
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
        """The record with its data sealed and marked ``encrypted``, its feature vector sealed
        into ``sealed_features`` (unless ``seal_features`` is False); the rest of the metadata
        stays clear and is bound to both ciphertexts, the two markers included."""
        if record.encrypted:
            raise InvalidArgumentError(f"stream {record.stream} frame {record.frame_index} is already encrypted")
        vector = record.features if self.seal_features else None
        target = replace(record, encrypted=True, features=None if vector is not None else record.features,
                         sealed_features=None if vector is None else b"")
        metadata = target.metadata()
        sealed_vector = None if vector is None else sframe_encrypt(
            features_key(self._keys[self.epoch]), self.epoch, record.frame_index, canonical_metadata(metadata),
            vector.tobytes(), self.suite)
        return replace(target, data=self.seal(record.frame_index, metadata, record.data), sealed_features=sealed_vector)


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
        key, epoch, ctr = self._key_and_counter(stream, frame_index, ciphertext)
        plaintext = sframe_decrypt(key, ciphertext, canonical_metadata(metadata), self._suite)
        if check_replay:
            self._check_replay((stream, epoch), ctr)
        return plaintext

    def holds_key(self, stream: str, epoch: int) -> bool:
        """Whether this decoder was given (and unwrapped) the key of ``stream``'s ``epoch``."""
        return (stream, epoch) in self._keys

    def _key_and_counter(self, stream: str, frame_index: int, ciphertext: bytes) -> tuple[bytes, int, int]:
        epoch, ctr, _ = decode_header(ciphertext)
        key = self._keys.get((stream, epoch))
        if key is None:
            raise NotAuthorisedError(f"decoder {self.name} holds no key for stream {stream} epoch {epoch} "
                                     "(revoked or never authorised)")
        if ctr != frame_index:
            raise AuthenticationError(f"stream {stream}: frame {frame_index} carries counter {ctr}")
        return key, epoch, ctr

    def decrypt_record(self, record, *, check_replay: bool = True):
        """The clear record: data opened (see :meth:`open`) and the sealed feature vector, if
        any, back in ``features``. A frame not marked encrypted is refused (AuthenticationError):
        a decoder that holds keys accepts only sealed frames. ``check_replay=False`` when
        re-reading frames already accepted, e.g. from a store."""
        if not record.encrypted:
            raise AuthenticationError(f"stream {record.stream} frame {record.frame_index} is not encrypted; a decoder "
                                      "with keys accepts only encrypted frames")
        data = self.open(record.stream, record.frame_index, record.metadata(), record.data, check_replay=check_replay)
        return replace(record, data=data, encrypted=False, features=self.open_features(record), sealed_features=None)

    def open_features(self, record):
        """The record's feature vector: its clear ``features``, or its sealed vector opened
        (AuthenticationError if altered or moved; the frame's bytes are not opened)."""
        if record.sealed_features is None:
            return record.features
        key, _, _ = self._key_and_counter(record.stream, record.frame_index, record.sealed_features)
        opened = sframe_decrypt(features_key(key), record.sealed_features, canonical_metadata(record.metadata()),
                                self._suite)
        if len(opened) % 4:
            raise AuthenticationError(f"stream {record.stream} frame {record.frame_index}: sealed features are not "
                                      "float32 values")
        return np.frombuffer(opened, dtype=np.float32).copy()

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
