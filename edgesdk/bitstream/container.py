"""Latent frames: the self-describing container every coded image or video frame travels in.

Parsing and writing happen in the C++ core; this module gives them a Python shape.
Byte layout and versioning rules: docs/bitstream.md.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edgesdk import _core
from edgesdk.errors import InvalidArgumentError

MAJOR_VERSION: int = _core.FRAME_MAJOR_VERSION
MINOR_VERSION: int = _core.FRAME_MINOR_VERSION
MAX_PARAMETERS: int = _core.MAX_PARAMETERS
MAX_SECTIONS: int = _core.MAX_SECTIONS
MAX_DIMENSION: int = _core.MAX_DIMENSION
UNSPECIFIED_MODEL = bytes(32)


class FrameType(enum.IntEnum):
    """How a frame is coded: on its own (KEY) or as a latent residual (P, B)."""
    KEY = 0  # coded on its own, as an image
    P = 1  # latent residual against a prediction from the previous decoded frame
    B = 2  # latent residual against an interpolation of decoded reference frames


class SectionKind(enum.IntEnum):
    """Registered section kinds. Readers skip kinds they do not know."""

    HYPER_LATENT = 1  # z, coded with the factorized prior's tables
    LATENT = 2  # y (or its residual), coded with tables chosen by the integer hyper-synthesis
    MOTION = 3  # side information of inter prediction
    METADATA = 4  # application data (UTF-8 JSON)
    RESIDUAL_MODEL = 5  # table indexes of a latent residual's forward-adaptive entropy model (docs/video.md)
    COPY_BLOCKS = 6  # inter frames: latent cells whose pixels the decoder copies from the prediction
    TRANSFORMS = 7  # image frames: the transformation identifiers applied to the latents (optional)
    ROI_LATENT = 8  # keyframes: the latent with a region-of-interest quantizer map, instead of LATENT (docs/roi.md)
    RESIDUAL_ROI = 9  # P, B frames: per-cell step multipliers of the latent residual (docs/roi.md)


class Parameter(enum.IntEnum):
    """Registered coding-parameter keys (int32 values)."""

    LATENT_CHANNELS = 1
    HYPER_CHANNELS = 2
    DOWNSAMPLING = 3  # total stride of the compressor
    PADDED_WIDTH = 4
    PADDED_HEIGHT = 5
    GOP_INDEX = 6  # position of the frame in its group of pictures
    REFERENCE_DISTANCE = 7  # frames back to the reference (P) or to the past reference (B)
    DISPLAY_INDEX = 8  # position of a video frame in display order, modulo 2^31
    FORWARD_REFERENCE_DISTANCE = 9  # frames ahead to the future reference (B)
    RESIDUAL_STEP = 10  # quantization step of a latent residual, in 1/16
    FRAME_RATE_NUMERATOR = 11  # frames per second as a fraction (optional, on keyframes)
    FRAME_RATE_DENOMINATOR = 12
    MONOCHROME = 13  # 1: the source had three equal channels; decoders output grey (optional)
    BACKGROUND_ID = 14  # keyframe kept as the long-term background reference under this id (optional)
    BACKGROUND_REFERENCE = 15  # P frame at GOP index 0 predicted from the background with this id
    LATENT_PREDICTION = 16  # 1: a P frame's y_pred is its reference's latent ŷ, not g_a(picture) (optional)


@dataclass(frozen=True)
class Section:
    """One section of a frame: its kind, its bytes and (when parsed) their CRC32C."""
    kind: int
    data: memoryview | bytes
    crc32c: int = 0  # filled in when parsed; computed by the writer


@dataclass(frozen=True)
class Frame:
    """A frame: size, type, quality, parameters and sections (docs/bitstream.md); ``to_bytes`` /
    ``parse`` convert it."""
    width: int
    height: int
    frame_type: FrameType = FrameType.KEY
    quality: int = 0
    model_id: bytes = UNSPECIFIED_MODEL
    parameters: Mapping[int, int] = field(default_factory=dict)
    sections: Sequence[Section] = ()
    version: tuple[int, int] = (MAJOR_VERSION, MINOR_VERSION)
    compact: bool = False  # a compact inter frame (magic EDGI): no model id, one CRC (docs/bitstream.md)

    def to_bytes(self) -> bytes:
        """The frame's bytes (header, parameters, sections with their CRCs), or with ``compact``
        the compact inter frame layout (P and B video frames only; InvalidArgumentError otherwise)."""
        if self.compact:
            return _core.write_compact_frame(
                int(self.frame_type), self.quality, self.width, self.height,
                [(int(k), int(v)) for k, v in self.parameters.items()], [(int(s.kind), s.data) for s in self.sections])
        if len(self.model_id) != 32:
            raise InvalidArgumentError("model_id must be the 32-byte sha256 of the bundle")
        if self.version[0] != MAJOR_VERSION:
            raise InvalidArgumentError(f"this edgesdk writes frame format {MAJOR_VERSION}.x only")
        return _core.write_frame(
            self.version[1],
            int(self.frame_type),
            self.quality,
            bytes(self.model_id),
            self.width,
            self.height,
            [(int(k), int(v)) for k, v in self.parameters.items()],
            [(int(s.kind), s.data) for s in self.sections],
        )

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> Frame:
        """Parses and verifies a frame or a compact inter frame; section data are views into
        ``data`` (no copies)."""
        header, sections, _, compact = _core.parse_frame(data)
        major, minor, frame_type, quality, model_id, width, height, params = header
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
        return cls(
            width=width,
            height=height,
            frame_type=FrameType(frame_type),
            quality=quality,
            model_id=model_id,
            parameters=dict(params),
            sections=tuple(Section(kind, view[offset : offset + size], crc) for kind, offset, size, crc in sections),
            version=(major, minor),
            compact=compact,
        )

    def section(self, kind: int) -> Section | None:
        """The first section of ``kind``, or None."""
        return next((s for s in self.sections if s.kind == kind), None)
