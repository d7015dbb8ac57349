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


# Encrypted latents: defined in the security layer (below this one), re-exported here.
from edgesdk.security.encryption import (  # noqa: E402
    AuthenticationError,
    DecryptionError,
    NotAuthorisedError,
    ReplayError,
)

__all__ = ["AuthenticationError", "DecryptionError", "DuplicateFrameError", "FrameChecksumError",
           "NotAuthorisedError", "ReplayError", "StoreCorruptedError", "StoreError", "TransportError",
           "TransportUnavailableError"]
