"""The unit every store and transport handles: one frame's exact bytes and its metadata."""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field

import numpy as np

from edgesdk.errors import BitstreamError, InvalidArgumentError

_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class FrameKind(str, enum.Enum):
    """What a stored frame depends on: a keyframe starts a group the later frames need."""

    KEY = "key"
    P = "P"
    B = "B"
    OTHER = "other"  # not an edgesdk frame (e.g. an end-of-stream packet, or opaque bytes)

    @property
    def is_key(self) -> bool:
        """True for keyframes (the frames that start a group)."""
        return self is FrameKind.KEY


def check_stream_name(stream: str) -> str:
    """Stream names go into subjects, file names and SQL parameters: 1-64 of [A-Za-z0-9_-]."""
    if not isinstance(stream, str) or not _STREAM_NAME.fullmatch(stream):
        raise InvalidArgumentError(f"stream name {stream!r} must be 1-64 characters of A-Z a-z 0-9 _ -")
    return stream


@dataclass(frozen=True)
class FrameRecord:
    """One frame: ``data`` is stored and sent byte for byte (usually a packet, docs/bitstream.md);
    the rest is clear metadata for search, retention and routing."""

    stream: str
    frame_index: int  # per stream, unique; the packet sequence number for packets
    timestamp: float  # seconds since the epoch (capture time)
    data: bytes
    kind: FrameKind = FrameKind.OTHER
    model_id: str = ""  # hex sha256 of the bundle that made the frame ("" unknown)
    quality: int = -1
    features: np.ndarray | None = field(default=None, compare=False)  # float32 search vector
    transforms: tuple[str, ...] = ()  # transformation ids applied to the latents
    encrypted: bool = False  # data is an SFrame ciphertext (edgesdk.security.encryption)
    sealed_features: bytes | None = None  # the feature vector, SFrame-sealed (then features is None)

    def __post_init__(self) -> None:
        check_stream_name(self.stream)
        if not isinstance(self.frame_index, int) or not 0 <= self.frame_index < 2**63:
            raise InvalidArgumentError(f"frame_index must be an integer in [0, 2^63), got {self.frame_index!r}")
        if not isinstance(self.data, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError("data must be bytes")
        object.__setattr__(self, "data", bytes(self.data))
        object.__setattr__(self, "timestamp", float(self.timestamp))
        object.__setattr__(self, "quality", int(self.quality))
        object.__setattr__(self, "kind", FrameKind(self.kind))
        object.__setattr__(self, "transforms", tuple(str(t) for t in self.transforms))
        object.__setattr__(self, "encrypted", bool(self.encrypted))
        if self.sealed_features is not None:
            if not self.encrypted:
                raise InvalidArgumentError("sealed_features belong to encrypted frames (encrypted=True)")
            object.__setattr__(self, "sealed_features", bytes(self.sealed_features))
        if self.features is not None:
            features = np.ascontiguousarray(self.features, dtype=np.float32).reshape(-1)
            if not np.all(np.isfinite(features)):
                raise InvalidArgumentError("features must be finite")
            object.__setattr__(self, "features", features)

    @property
    def size(self) -> int:
        """Length of ``data`` in bytes."""
        return len(self.data)

    @property
    def message_id(self) -> str:
        """(stream, frame, model): the same frame always gets the same id, so retries deduplicate."""
        return f"{self.stream}.{self.frame_index}.{self.model_id[:16] or '0'}"

    def digest(self) -> bytes:
        """16-byte BLAKE2b of the bytes: the checksum stores keep beside them."""
        return hashlib.blake2b(self.data, digest_size=16).digest()

    def metadata(self) -> dict:
        """The clear metadata as JSON-able values (what SFrame binds as authenticated data).
        ``encrypted`` and ``sealed_features`` appear only when true, so they are bound too."""
        meta = {"stream": self.stream, "frame": self.frame_index, "time": self.timestamp, "kind": self.kind.value,
                "model": self.model_id, "quality": self.quality, "size": self.size, "transforms": list(self.transforms)}
        if self.encrypted:
            meta["encrypted"] = True
        if self.sealed_features is not None:
            meta["sealed_features"] = True
        return meta

    def with_stream(self, stream: str) -> FrameRecord:
        """The same frame under another stream name (e.g. a stored stream republished)."""
        from dataclasses import replace

        return replace(self, stream=stream)

    @classmethod
    def from_packet(cls, stream: str, packet: bytes, timestamp: float, *, features: np.ndarray | None = None,
                    transforms: tuple[str, ...] = ()) -> FrameRecord:
        """A record of one edgesdk packet: frame index = packet sequence; kind, quality and
        model id from the frame header. Damaged packets raise the bitstream's typed errors."""
        from edgesdk.bitstream.container import Frame, FrameType
        from edgesdk.bitstream.packets import parse_packet

        parsed, consumed = parse_packet(packet)
        if consumed != len(packet):
            raise InvalidArgumentError(f"expected one packet, got {len(packet) - consumed} bytes after it")
        kind, model_id, quality = FrameKind.OTHER, "", -1
        if parsed.payload:
            try:
                frame = Frame.parse(parsed.payload)
            except BitstreamError:
                frame = None  # not an edgesdk frame: stored as opaque bytes
            if frame is not None:
                kind = {FrameType.KEY: FrameKind.KEY, FrameType.P: FrameKind.P, FrameType.B: FrameKind.B}.get(
                    FrameType(frame.frame_type), FrameKind.OTHER)
                model_id = bytes(frame.model_id).hex() if any(frame.model_id) else ""
                quality = int(frame.quality)
        if parsed.keyframe and kind is FrameKind.OTHER:
            kind = FrameKind.KEY
        return cls(stream, parsed.sequence, float(timestamp), bytes(packet), kind, model_id, quality,
                   features, transforms)
