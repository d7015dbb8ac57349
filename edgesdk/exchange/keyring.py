"""Encrypted streams end to end (docs/exchange.md, "Encrypted latents"): a camera side that
encrypts records and hands each epoch's wrapped keys to a key sink (the transport or a
store) before the epoch's first frame, a viewer side that fetches the keys of each epoch it
meets and opens frames, and search over sealed feature vectors by a key holder.

Key sinks and sources are plain callables, so one mechanism serves the NATS transport
(``transport.publish_keys`` / ``transport.keys_of``) and the SQLite store
(``store.put_keys`` / ``store.keys``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from edgesdk.errors import InvalidArgumentError
from edgesdk.exchange.records import FrameRecord
from edgesdk.security.encryption import (
    NotAuthorisedError,
    StreamDecryptor,
    StreamEncryptor,
    decode_header,
)
from edgesdk.security.recipients import recipient_id

KeySink = Callable[[str, int, dict], None]  # (stream, epoch, {recipient: wrapped key})
KeySource = Callable[[str, int], "dict | None"]  # (stream, epoch) -> wrapped keys or None


class RecordEncryptor:
    """Encrypts the records of one stream for ``recipients`` ({recipient id: X25519 public
    key}). The first epoch is ``first_epoch`` (give one after the stream's last, so a stream
    published again never reuses an epoch); ``rotate_every`` frames start a new epoch. With
    ``refresh`` (a callable giving the recipients again), each rotation takes the recipients
    it gives: one that is gone is revoked (the new epoch is not wrapped for it), a new one
    is authorised."""

    def __init__(self, stream: str, recipients: dict, key_sink: KeySink, *, first_epoch: int = 0,
                 rotate_every: int | None = None, seal_features: bool = True, refresh=None) -> None:
        if not recipients:
            raise InvalidArgumentError("an encrypted stream needs at least one recipient")
        if rotate_every is not None and rotate_every < 1:
            raise InvalidArgumentError("rotate_every must be at least 1 frame")
        self.encryptor = StreamEncryptor(stream, epoch=first_epoch, seal_features=seal_features)
        self.first_epoch = first_epoch
        for name, key in recipients.items():
            self.encryptor.authorise(name, key)
        self._sink = key_sink
        self._refresh = refresh
        self._rotate_every = rotate_every
        self._sent_epoch: int | None = None
        self.frames = 0

    def rotate(self) -> int:
        """Starts a new epoch (its keys go out before its first frame); returns it."""
        return self.encryptor.rotate()

    def revoke(self, recipient: str) -> int:
        """Starts a new epoch that ``recipient`` is not given; returns it."""
        return self.encryptor.revoke(recipient)

    def authorise(self, recipient: str, public_key) -> None:
        """Adds a recipient from the current epoch on (its keys go out again at once)."""
        self.encryptor.authorise(recipient, public_key)
        self._publish_keys()

    def _publish_keys(self) -> None:
        self._sink(self.encryptor.stream, self.encryptor.epoch, self.encryptor.wrapped_keys())
        self._sent_epoch = self.encryptor.epoch

    def _scheduled_rotation(self) -> None:
        if self._refresh is not None:
            wanted = self._refresh()
            if not wanted:
                raise InvalidArgumentError(f"stream {self.encryptor.stream}: no recipients left to encrypt for")
            for name, key in wanted.items():
                if name not in self.encryptor.decoders:
                    self.encryptor.authorise(name, key)
            removed = [name for name in self.encryptor.decoders if name not in wanted]
            if removed:
                for name in removed:
                    self.encryptor.revoke(name)  # each starts an epoch; only the last is ever used
                return
        self.encryptor.rotate()

    def encrypt(self, record: FrameRecord) -> FrameRecord:
        """The record sealed under the current epoch, whose keys have reached the sink first."""
        if record.stream != self.encryptor.stream:
            raise InvalidArgumentError(f"this encryptor seals stream {self.encryptor.stream}, not {record.stream}")
        if self._rotate_every and self.frames and self.frames % self._rotate_every == 0:
            self._scheduled_rotation()
        if self._sent_epoch != self.encryptor.epoch:
            self._publish_keys()
        self.frames += 1
        return self.encryptor.encrypt_record(record)


class RecordDecryptor:
    """Opens encrypted records with one decoder's X25519 private key, fetching the wrapped keys
    of each new epoch from ``key_source``. Refuses (typed errors, never garbage): a frame of
    an epoch whose keys name someone else (NotAuthorisedError), a frame not encrypted,
    altered or sealed with another key (AuthenticationError), a replay (ReplayError)."""

    def __init__(self, private_key, key_source: KeySource, *, check_replay: bool = True) -> None:
        self.name = recipient_id(private_key)
        self._decryptor = StreamDecryptor(self.name, private_key)
        self._source = key_source
        self._check_replay = check_replay

    def _fetch_key(self, record: FrameRecord) -> None:
        if record.encrypted:
            epoch = decode_header(record.data)[0]
            if not self._decryptor.holds_key(record.stream, epoch):
                wrapped = self._source(record.stream, epoch)
                if wrapped is None:
                    raise NotAuthorisedError(f"no keys were published for stream {record.stream} epoch {epoch}")
                self._decryptor.accept_keys(record.stream, epoch, wrapped)

    def decrypt(self, record: FrameRecord) -> FrameRecord:
        """The clear record (data and feature vector)."""
        self._fetch_key(record)
        return self._decryptor.decrypt_record(record, check_replay=self._check_replay)

    def features(self, record: FrameRecord) -> np.ndarray | None:
        """Only the record's feature vector (opened if sealed; the frame's bytes stay sealed)."""
        self._fetch_key(record)
        return self._decryptor.open_features(record)


def refuse_encrypted(record: FrameRecord) -> FrameRecord:
    """``record`` if it is clear; NotAuthorisedError (naming the way out) if it is encrypted,
    so a reader without a key stops with a clear error instead of writing ciphertext."""
    if record.encrypted:
        raise NotAuthorisedError(f"stream {record.stream} is encrypted; give the private key of an authorised "
                                 "decoder (--key)")
    return record


def next_epoch(epochs: Iterable[int]) -> int:
    """The first epoch after those already used (0 for a new stream)."""
    return max(epochs, default=-1) + 1


def search_decrypted(records: Iterable[FrameRecord], decryptor: RecordDecryptor, vector: np.ndarray,
                     k: int) -> list[tuple[str, int, float]]:
    """Exact k-NN (L2) over feature vectors a key holder opens: ``records`` are the candidates
    (select them by their clear metadata, e.g. ``store.get(stream, start, end)``); frames
    without a vector are skipped, clear ones ranked by their clear vectors. [(stream, frame
    index, distance)], nearest first; only sealed vectors are opened, never the frames."""
    query = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
    if k < 1:
        raise InvalidArgumentError("k must be at least 1")
    found = []
    for record in records:
        features = decryptor.features(record)
        if features is None:
            continue
        if features.shape != query.shape:
            raise InvalidArgumentError(f"query has {query.size} values; stream {record.stream} frame "
                                       f"{record.frame_index} has {features.size}")
        found.append((float(np.linalg.norm(features - query)), record.stream, record.frame_index))
    found.sort()
    return [(stream, index, distance) for distance, stream, index in found[:k]]
