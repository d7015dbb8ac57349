"""Exceptions raised by edgesdk. Catch :class:`Error` to handle all of them."""

from __future__ import annotations


class Error(Exception):
    """Base class of every exception edgesdk raises on purpose."""


class InvalidArgumentError(Error, ValueError):
    """The caller passed arguments that cannot work (shapes, dtypes, ranges)."""


class InvalidTableError(InvalidArgumentError):
    """A CDF table is not a valid 16-bit CDF (see docs/entropy.md)."""


class EditDataMissingError(InvalidArgumentError):
    """A transform needs edit data (a learned map or a constant latent) that the model bundle
    does not carry for that quality; the message names what is missing (docs/latent-edit.md)."""


class DependencyError(Error, RuntimeError):
    """An optional dependency is missing or lacks a needed feature (the message says which)."""


class DeviceProfileError(InvalidArgumentError):
    """A device profile is unknown or invalid (the message names the file and the field)."""


class BackendError(Error, RuntimeError):
    """A backend (TensorRT, CUDA) failed to build or run a graph; the message carries its log."""


class BitstreamError(Error):
    """Input bytes (a latent stream, frame or packet) cannot be parsed."""


class TruncatedError(BitstreamError):
    """The input ends before the data it declares; more bytes were expected."""


class CorruptedError(BitstreamError):
    """The input is inconsistent: it was damaged, or made with other tables or indexes."""


class ChecksumError(CorruptedError):
    """A CRC32C does not match its data: the bytes were damaged in storage or transit."""


class BadMagicError(BitstreamError):
    """The input is not an edgesdk frame or packet at all."""


class UnsupportedVersionError(BitstreamError):
    """The input uses a newer format version than this edgesdk reads; upgrade edgesdk."""


class LimitExceededError(BitstreamError):
    """A declared size or count exceeds a documented limit."""


class PacketLossError(BitstreamError):
    """Packets of a stream were lost, damaged or reordered in transit."""


class MissingReferenceError(BitstreamError):
    """A video frame refers to a frame the decoder does not hold (lost, damaged, or never sent);
    a decoder with ``on_damage="skip"`` resumes at the next keyframe."""


class BundleError(Error):
    """A model bundle cannot be used (see the subclasses)."""


class BundleIntegrityError(BundleError):
    """A bundle file is missing, changed, truncated, unlisted or unsafely named."""


class BundleVersionError(BundleError, UnsupportedVersionError):
    """A bundle uses a newer schema version than this edgesdk reads; upgrade edgesdk."""


class BundleLimitError(BundleError, LimitExceededError):
    """A bundle declares more files or bytes than the limits in docs/bundle.md."""


class SignatureError(BundleError):
    """A bundle's signature is missing where required, invalid, or from an untrusted key."""


class NotFoundError(Error, FileNotFoundError):
    """A file, folder or device named by a path or URI does not exist."""


class UnsupportedFormatError(InvalidArgumentError):
    """A URI scheme, file extension or pixel format that edgesdk does not handle."""


class ConnectionFailedError(Error, ConnectionError):
    """A network source refused, dropped or garbled the connection."""


class ConnectionTimeoutError(ConnectionFailedError, TimeoutError):
    """A network source or device sent nothing within the timeout."""


# Status codes of edgesdk_core (cpp/include/edgesdk/status.h) -> exception classes.
_STATUS_ERRORS: dict[int, type[Error]] = {
    1: InvalidArgumentError,
    2: InvalidTableError,
    3: TruncatedError,
    4: CorruptedError,
    5: ChecksumError,
    6: BadMagicError,
    7: UnsupportedVersionError,
    8: LimitExceededError,
}


def error_for_status(status: int, message: str) -> Error:
    """The exception for a failing core status (used by the C++ bindings)."""
    return _STATUS_ERRORS.get(status, Error)(message)
