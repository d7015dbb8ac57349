"""edgesdk: learned image and video codecs on edge devices.

The runtime imports neither torch, TensorRT nor onnxruntime; each is loaded lazily
by the part that needs it.
"""

from __future__ import annotations

from edgesdk.errors import (
    BackendError,
    BadMagicError,
    BitstreamError,
    BundleError,
    BundleIntegrityError,
    BundleLimitError,
    BundleVersionError,
    ChecksumError,
    ConnectionFailedError,
    ConnectionTimeoutError,
    CorruptedError,
    DependencyError,
    DeviceProfileError,
    Error,
    InvalidArgumentError,
    InvalidTableError,
    LimitExceededError,
    MissingReferenceError,
    NotFoundError,
    PacketLossError,
    SignatureError,
    TruncatedError,
    UnsupportedFormatError,
    UnsupportedVersionError,
)

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "BadMagicError",
    "BitstreamError",
    "BundleError",
    "BundleIntegrityError",
    "BundleLimitError",
    "BundleVersionError",
    "ChecksumError",
    "ConnectionFailedError",
    "ConnectionTimeoutError",
    "CorruptedError",
    "DependencyError",
    "DeviceProfileError",
    "Error",
    "InvalidArgumentError",
    "InvalidTableError",
    "LimitExceededError",
    "MissingReferenceError",
    "NotFoundError",
    "PacketLossError",
    "SignatureError",
    "TruncatedError",
    "UnsupportedFormatError",
    "UnsupportedVersionError",
    "__version__",
    *(_LAZY := {
        "ImageCodec": "edgesdk.codecs.image.codec",
        "CodecModel": "edgesdk.codecs.model",
        "Bundle": "edgesdk.bundle",
        "Limits": "edgesdk.limits",
        "VideoEncoder": "edgesdk.codecs.video",
        "VideoDecoder": "edgesdk.codecs.video",
        "write_video": "edgesdk.codecs.video",
        "read_video": "edgesdk.codecs.video",
    }),
]


def __getattr__(name: str):
    """The main classes, imported on first use so that ``import edgesdk`` stays light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edgesdk' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, with the lazily imported classes (so they show in ``dir(edgesdk)``)."""
    return sorted({*globals(), *_LAZY})
