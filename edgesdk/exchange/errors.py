"""Exceptions of the exchange layer (stores, transports, encrypted latents).

Each subclasses :class:`edgesdk.errors.Error`, so ``except edgesdk.Error`` catches them.
"""

from __future__ import annotations

from edgesdk.errors import ChecksumError, ConnectionFailedError, CorruptedError, Error


class StoreError(Error):
    """A latent store cannot do what was asked (the message says why)."""


class StoreCorruptedError(StoreError, CorruptedError):
    """The store file fails SQLite's integrity check: it was damaged on disk."""


class FrameChecksumError(StoreError, ChecksumError):
    """A stored frame's bytes no longer match the checksum written with them."""


class DuplicateFrameError(StoreError):
    """A different frame is already stored under this (stream, frame index)."""


class TransportError(Error, ConnectionError):
    """A transport (broker connection) failed; retrying with the same message ids is safe."""


class TransportUnavailableError(TransportError, ConnectionFailedError):
    """The broker or accessory cannot be reached."""


class DecryptionError(Error):
    """An encrypted frame cannot be opened (see the subclasses); nothing was decrypted."""


class NotAuthorisedError(DecryptionError):
    """This decoder holds no key for the frame's key epoch (never given one, or revoked)."""


class AuthenticationError(DecryptionError, CorruptedError):
    """The frame or its clear metadata was altered, or it was sealed with another key."""


class ReplayError(DecryptionError):
    """The frame's counter was already accepted under this key: a replayed frame."""
