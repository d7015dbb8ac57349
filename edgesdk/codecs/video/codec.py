"""Video coding with latent-space residual inter frames (DESIGN.md section 7, docs/video.md).

Keyframes are images (:class:`~edgesdk.codecs.image.codec.HyperpriorImageCodec`). A P frame is
predicted by the previous reference frame, a B frame by a motion-compensated interpolation
of its two references; the prediction goes through the compressor, and only the quantized
latent residual ``r = round((y − y_pred) / step)`` is coded, with the integer table set of
:mod:`edgesdk.codecs.video.residual`. The decoder runs ``g_s(y_pred + step · r)``. Everything the parse
depends on is integers from the stream; float differences between the encoder's and the
decoder's transforms move pixels, never the parse, and stop at the next keyframe.

Streams are :mod:`edgesdk.bitstream.packets` packets (one frame each, decode order), so a file
(``.elv``, :func:`write_video` / :func:`read_video`) and a socket carry the same bytes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from edgesdk.bitstream.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.shapes import padded_size
from edgesdk.errors import (
    BitstreamError,
    CorruptedError,
    InvalidArgumentError,
    LimitExceededError,
    MissingReferenceError,
    PacketLossError,
)
from edgesdk.codecs.image.codec import (
    LATENT_DOWNSAMPLING,
    HyperpriorImageCodec,
    check_image,
    pad_to_grid,
    tiled_analyze,
    tiled_synthesize,
)
from edgesdk.codecs.video.motion import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_FRACTION_BITS,
    DEFAULT_SEARCH_RANGE,
    DEFAULT_VECTOR_COST,
    Interpolation,
    Motion,
    decode_copy_blocks,
    decode_motion,
    encode_copy_blocks,
    encode_motion,
    estimate_motion,
    interpolate,
    luma,
)
from edgesdk.bitstream.packets import DEFAULT_MAX_PAYLOAD, Packet, PacketFlags, PacketReader
from edgesdk.codecs.video.residual import TILE_SIZES, decode_residual, encode_residual

ELV_EXTENSION = ".elv"
DISPLAY_MODULUS = 1 << 31  # display indexes wrap here (2.2 years at 30 fps)
STEP_FRACTION_BITS = 4  # residual steps travel in 1/16
MAX_STEP = 64.0
MAX_RESIDUAL = 1 << 24  # |r| above this is never useful; clipping keeps int32 safe
# A latent cell is shown as the prediction when its squared error is at most this many times
# the generator's: a little distortion for the residual bits it saves (chosen on akiyo, docs/video.md).
DEFAULT_COPY_TOLERANCE = 2.0

# Decoder limits against hostile streams (each a VideoDecoder argument).
DEFAULT_MAX_PIXELS = 3840 * 2160
DEFAULT_MAX_REFERENCE_DISTANCE = 16
DEFAULT_MAX_GOP_LENGTH = 1024

DECISION_HISTORY = 1024  # groups whose GroupDecision an encoder keeps (a live encoder runs for days)
EVENT_HISTORY = 256  # damage messages a decoder keeps

STRUCTURE_B = "b"  # anchor P from the previous anchor, then B frames between them
STRUCTURE_P = "p"  # every frame a P frame from the one before


def _image_codec(codec: object) -> HyperpriorImageCodec:
    """The low-level codec of a ``HyperpriorImageCodec`` or of an object with ``.codec()``."""
    if isinstance(codec, HyperpriorImageCodec):
        return codec
    if callable(getattr(codec, "codec", None)):
        return codec.codec()
    raise InvalidArgumentError(f"expected a HyperpriorImageCodec, got {type(codec).__name__}")


def _latent(codec: HyperpriorImageCodec, image: np.ndarray) -> np.ndarray:
    """y [M, h, w] of an HxWx3 uint8 image, padded and tiled as keyframes are."""
    if codec.analyze is None:
        raise InvalidArgumentError("inter frames need the compressor (analyze), on the decoder too")
    y, _ = tiled_analyze(codec.analyze, pad_to_grid(image), codec.tile())
    expected = _latent_shape(codec, *image.shape[:2])
    if y.shape != expected:
        raise InvalidArgumentError(f"the compressor gave a latent of shape {y.shape}, expected {expected}")
    return y


def _latent_shape(codec: HyperpriorImageCodec, height: int, width: int) -> tuple[int, int, int]:
    padded_h, padded_w = padded_size(height), padded_size(width)
    return codec.entropy_model.latent_channels, padded_h // LATENT_DOWNSAMPLING, padded_w // LATENT_DOWNSAMPLING


def _reconstruct(codec: HyperpriorImageCodec, y_pred: np.ndarray, residual: np.ndarray, step: float,
                 height: int, width: int) -> np.ndarray:
    """The decoded picture ``g_s(y_pred + step · r)``, HxWx3 uint8."""
    if codec.synthesize is None:
        raise InvalidArgumentError("this codec has no generator (synthesize) and cannot decode")
    y_hat = y_pred.astype(np.float32) + np.float32(step) * residual.astype(np.float32)
    return tiled_synthesize(codec.synthesize, y_hat, codec.tile())[:height, :width]


def _show_copied_blocks(image: np.ndarray, prediction: np.ndarray, copy_blocks: np.ndarray | None) -> np.ndarray:
    """``image`` with the pixels of every copied latent cell taken from ``prediction``."""
    if copy_blocks is None:
        return image
    height, width = image.shape[:2]
    pixels = copy_blocks.repeat(LATENT_DOWNSAMPLING, 0).repeat(LATENT_DOWNSAMPLING, 1)[:height, :width]
    return np.where(pixels[..., None], prediction, image)


def _cell_errors(image: np.ndarray, reference: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Sum of squared differences per latent cell (cells past the picture's edge count 0)."""
    squared = np.square(image.astype(np.int32) - reference.astype(np.int32)).sum(axis=2, dtype=np.int64)
    padded = np.zeros((grid[0] * LATENT_DOWNSAMPLING, grid[1] * LATENT_DOWNSAMPLING), dtype=np.int64)
    padded[: squared.shape[0], : squared.shape[1]] = squared
    return padded.reshape(grid[0], LATENT_DOWNSAMPLING, grid[1], LATENT_DOWNSAMPLING).sum(axis=(1, 3))


def _step_code(step: float) -> int:
    code = int(round(step * (1 << STEP_FRACTION_BITS)))
    if not 1 <= code <= MAX_STEP * (1 << STEP_FRACTION_BITS):
        raise InvalidArgumentError(f"residual step must be in 1/16 … {MAX_STEP:g}, got {step}")
    return code


# ------------------------------------------------------------------------------- syntax


@dataclass(frozen=True)
class FrameSyntax:
    """What a video frame says, parsed with integers only (no transform involved)."""

    frame_type: FrameType
    width: int
    height: int
    display_index: int
    gop_index: int
    past_distance: int = 0  # P: to its reference; B: to the past reference
    future_distance: int = 0  # B only
    step: float = 0.0  # P, B: residual quantization step (a multiple of 1/16)
    residual: np.ndarray | None = None  # P, B: int32 [M, h, w]
    motion: Motion | None = None  # B only
    copy_blocks: np.ndarray | None = None  # P, B: bool [h, w], latent cells shown as the prediction
    frame_rate: tuple[int, int] | None = None  # keyframes that carry one


def _parameter(frame: Frame, key: Parameter, low: int, high: int) -> int:
    value = frame.parameters.get(key)
    if value is None:
        raise CorruptedError(f"{frame.frame_type.name} frame lacks parameter {key.name}: not a video frame")
    if not low <= value <= high:
        raise LimitExceededError(f"{key.name} = {value} is outside {low}..{high}")
    return value


def _section(frame: Frame, kind: SectionKind) -> memoryview | bytes:
    section = frame.section(kind)
    if section is None:
        raise CorruptedError(f"{frame.frame_type.name} frame lacks its {kind.name} section")
    return section.data


@dataclass(frozen=True)
class Limits:
    """What a decoder accepts; anything beyond raises :class:`LimitExceededError` before use."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_reference_distance: int = DEFAULT_MAX_REFERENCE_DISTANCE
    max_gop_length: int = DEFAULT_MAX_GOP_LENGTH

    def __post_init__(self) -> None:
        if self.max_pixels < 1 or self.max_reference_distance < 1 or self.max_gop_length < 1:
            raise InvalidArgumentError("decoder limits must be positive")


def parse_video_frame(data: bytes | bytearray | memoryview, latent_channels: int,
                      limits: Limits = Limits()) -> tuple[Frame, FrameSyntax]:
    """Parses a video frame down to its integers (residual symbols, motion vectors).

    Checks sizes against ``limits`` before anything proportional to them is allocated.
    Keyframes' latents are left to the image codec.
    """
    frame = Frame.parse(data)
    if frame.width * frame.height > limits.max_pixels:
        raise LimitExceededError(
            f"frame is {frame.width}x{frame.height}, above the decoder's limit of {limits.max_pixels} pixels"
        )
    display = _parameter(frame, Parameter.DISPLAY_INDEX, 0, DISPLAY_MODULUS - 1)
    gop_index = _parameter(frame, Parameter.GOP_INDEX, 0, limits.max_gop_length - 1)
    common = dict(frame_type=frame.frame_type, width=frame.width, height=frame.height,
                  display_index=display, gop_index=gop_index)
    if frame.frame_type == FrameType.KEY:
        if gop_index != 0:
            raise CorruptedError(f"keyframe with GOP index {gop_index}")
        rate = None
        if Parameter.FRAME_RATE_NUMERATOR in frame.parameters:
            rate = (_parameter(frame, Parameter.FRAME_RATE_NUMERATOR, 1, 2**31 - 1),
                    _parameter(frame, Parameter.FRAME_RATE_DENOMINATOR, 1, 2**31 - 1))
        return frame, FrameSyntax(**common, frame_rate=rate)
    past = _parameter(frame, Parameter.REFERENCE_DISTANCE, 1, limits.max_reference_distance)
    future = 0
    if frame.frame_type == FrameType.B:
        future = _parameter(frame, Parameter.FORWARD_REFERENCE_DISTANCE, 1, limits.max_reference_distance)
        if past + future > limits.max_reference_distance:
            raise LimitExceededError(f"B frame references span {past + future} frames, limit "
                                     f"{limits.max_reference_distance}")
    if past > gop_index:
        raise MissingReferenceError(f"frame {gop_index} of its GOP refers {past} frames back, before its keyframe")
    step = _parameter(frame, Parameter.RESIDUAL_STEP, 1, int(MAX_STEP) << STEP_FRACTION_BITS) / (1 << STEP_FRACTION_BITS)
    shape = (latent_channels, *_latent_shape_from(frame.height, frame.width))
    motion = None
    if frame.frame_type == FrameType.B:
        motion = decode_motion(_section(frame, SectionKind.MOTION), frame.height, frame.width)
    residual = decode_residual(_section(frame, SectionKind.RESIDUAL_MODEL), _section(frame, SectionKind.LATENT), shape)
    copy_section = frame.section(SectionKind.COPY_BLOCKS)
    copy_blocks = decode_copy_blocks(copy_section.data, shape[1:]) if copy_section is not None else None
    return frame, FrameSyntax(**common, past_distance=past, future_distance=future, step=step,
                              residual=residual, motion=motion, copy_blocks=copy_blocks)


def _latent_shape_from(height: int, width: int) -> tuple[int, int]:
    return padded_size(height) // LATENT_DOWNSAMPLING, padded_size(width) // LATENT_DOWNSAMPLING


# ------------------------------------------------------------------------------ encoder


@dataclass
class _Input:
    display: int
    gop_index: int
    image: np.ndarray
    latent: np.ndarray | None = None  # y of the original, computed once


@dataclass
class _Reference:
    display: int
    gop_index: int
    image: np.ndarray  # decoded (what the decoder will hold)
    original: np.ndarray | None = None  # encoder only: the source picture, for motion estimation


@dataclass
class _Coded:
    item: _Input
    data: bytes
    frame_type: FrameType


@dataclass(frozen=True)
class GroupDecision:
    """How the encoder coded one group (the frames after a reference up to the next anchor)."""

    display_indexes: tuple[int, ...]
    structure_bytes: dict[str, int]  # structure tried → total bytes of the group
    structure: str  # the one kept: the fewest bytes
    interpolation_bytes: tuple[dict[str, int], ...] = ()  # per B frame (structure "b"): mode → bytes
    interpolations: tuple[str, ...] = ()  # per B frame: the mode kept


class VideoEncoder:
    """Encodes HxWx3 uint8 frames into packets of latent video frames.

    ``keyframe_interval`` frames form a closed GOP: a keyframe, then anchors every
    ``b_frames + 1`` frames (and on the GOP's last frame) with up to ``b_frames`` B frames
    between anchors. For each group the encoder codes the anchor as P from the previous
    anchor plus B frames (each trying ``interpolations``) and, when ``try_p_only``, every
    frame as P from the one before, and keeps whichever is smaller at the same steps
    (:attr:`decisions`). With ``copy_blocks``, each inter frame marks the latent cells
    (16x16 pixels) whose prediction is within ``copy_tolerance`` of the generator's squared
    error; the decoder shows the prediction there and their residual is not sent. At most
    ``b_frames + 1`` input frames are held.
    """

    def __init__(
        self,
        image_codec: HyperpriorImageCodec,
        keyframe_interval: int = 32,
        b_frames: int = 2,
        p_step: float = 1.0,
        b_step: float | None = None,
        *,
        interpolations: Iterable[Interpolation] = tuple(Interpolation),
        try_p_only: bool = True,
        copy_blocks: bool = True,
        copy_tolerance: float = DEFAULT_COPY_TOLERANCE,
        block_size: int = DEFAULT_BLOCK_SIZE,
        search_range: int = DEFAULT_SEARCH_RANGE,
        motion_fraction_bits: int = DEFAULT_FRACTION_BITS,
        motion_cost: float = DEFAULT_VECTOR_COST,
        residual_tile_sizes: tuple[int, ...] = TILE_SIZES,
        stream_id: int = 0,
        frame_rate: tuple[int, int] | None = None,
    ) -> None:
        self.codec = _image_codec(image_codec)
        if self.codec.analyze is None or self.codec.synthesize is None:
            raise InvalidArgumentError("the video encoder needs both transforms (it decodes its own references)")
        if keyframe_interval < 1 or keyframe_interval > DEFAULT_MAX_GOP_LENGTH:
            raise InvalidArgumentError(f"keyframe_interval must be in 1..{DEFAULT_MAX_GOP_LENGTH}")
        if not 0 <= b_frames < DEFAULT_MAX_REFERENCE_DISTANCE:
            raise InvalidArgumentError(f"b_frames must be in 0..{DEFAULT_MAX_REFERENCE_DISTANCE - 1}")
        self.interpolations = tuple(Interpolation(i) for i in interpolations)
        if not self.interpolations:
            raise InvalidArgumentError("give at least one interpolation")
        if block_size not in (8, 16, 32, 64) or not 0 <= motion_fraction_bits <= 2 or not 0 <= search_range <= 64:
            raise InvalidArgumentError("block_size must be 8, 16, 32 or 64; motion_fraction_bits 0..2; search_range 0..64")
        if frame_rate is not None and (len(frame_rate) != 2 or min(frame_rate) < 1):
            raise InvalidArgumentError("frame_rate must be (numerator, denominator), both positive")
        self.keyframe_interval = keyframe_interval
        self.b_frames = b_frames
        self.p_step_code = _step_code(p_step)
        self.b_step_code = _step_code(p_step if b_step is None else b_step)
        self.try_p_only = try_p_only
        if not copy_tolerance > 0:
            raise InvalidArgumentError("copy_tolerance must be positive")
        self.copy_blocks = copy_blocks
        self.copy_tolerance = copy_tolerance
        self.block_size = block_size
        self.search_range = search_range
        self.motion_fraction_bits = motion_fraction_bits
        self.motion_cost = motion_cost
        self.residual_tile_sizes = residual_tile_sizes
        self.frame_rate = frame_rate
        if not 0 <= stream_id < 2**32:
            raise InvalidArgumentError("stream_id must fit in 32 bits")
        self.stream_id = stream_id
        self.decisions: deque[GroupDecision] = deque(maxlen=DECISION_HISTORY)
        self._sequence = 0
        self._out: list[Packet] = []
        self._display = 0
        self._gop_index = 0
        self._size: tuple[int, int] | None = None
        self._reference: _Reference | None = None
        self._pending: list[_Input] = []

    @property
    def buffered(self) -> int:
        """Input frames held until their group's anchor arrives (at most ``b_frames``)."""
        return len(self._pending)

    def push(self, frame: np.ndarray) -> None:
        """Adds the next frame in display order; its packets appear in :meth:`pull` once coded."""
        pixels = check_image(frame)
        if self._size is not None and pixels.shape[:2] != self._size:
            self._finish_group()  # a new size starts a new GOP
            self._gop_index = 0
        item = _Input(self._display, self._gop_index, pixels)
        self._display = (self._display + 1) % DISPLAY_MODULUS
        self._gop_index = (self._gop_index + 1) % self.keyframe_interval
        if item.gop_index == 0:
            self._code_keyframe(item)
            return
        self._pending.append(item)
        if item.gop_index % (self.b_frames + 1) == 0 or item.gop_index == self.keyframe_interval - 1:
            self._code_group()

    def pull(self) -> list[Packet]:
        """Packets coded since the last call, in decode order (``Packet.to_bytes()`` to send)."""
        out, self._out = self._out, []
        return out

    def flush(self) -> None:
        """Codes the held frames (the last becomes an anchor) and ends the stream with the
        end-of-stream packet; a later :meth:`push` starts a new GOP."""
        self._finish_group()
        self._emit(b"", PacketFlags.END_OF_STREAM)
        self._gop_index = 0
        self._size = None
        self._reference = None

    # -- coding

    def _finish_group(self) -> None:
        if self._pending:
            self._code_group()

    def _emit(self, data: bytes, flags: PacketFlags = PacketFlags(0)) -> None:
        self._out.append(Packet(self.stream_id, self._sequence, data, flags))
        self._sequence += 1

    def _code_keyframe(self, item: _Input) -> None:
        image_frame = Frame.parse(self.codec.encode(item.image))
        parameters = {**image_frame.parameters, Parameter.DISPLAY_INDEX: item.display, Parameter.GOP_INDEX: 0}
        if self.frame_rate is not None:
            parameters[Parameter.FRAME_RATE_NUMERATOR], parameters[Parameter.FRAME_RATE_DENOMINATOR] = self.frame_rate
        data = Frame(
            width=image_frame.width, height=image_frame.height, frame_type=FrameType.KEY,
            quality=image_frame.quality, model_id=image_frame.model_id, parameters=parameters,
            sections=image_frame.sections,
        ).to_bytes()
        self._emit(data, PacketFlags.KEYFRAME)
        self._size = item.image.shape[:2]
        self._reference = _Reference(item.display, 0, self.codec.decode(data), item.image)

    def _target(self, item: _Input) -> np.ndarray:
        if item.latent is None:
            item.latent = _latent(self.codec, item.image)
        return item.latent

    def _inter_frame(self, frame_type: FrameType, item: _Input, parameters: dict[int, int],
                     residual: np.ndarray, motion: Motion | None, copy_blocks: np.ndarray | None = None) -> bytes:
        model, stream = encode_residual(residual, self.residual_tile_sizes)
        sections = [Section(SectionKind.MOTION, encode_motion(motion))] if motion is not None else []
        sections += [Section(SectionKind.RESIDUAL_MODEL, model), Section(SectionKind.LATENT, stream)]
        if copy_blocks is not None:
            sections.append(Section(SectionKind.COPY_BLOCKS, encode_copy_blocks(copy_blocks)))
        height, width = item.image.shape[:2]
        parameters = {Parameter.DISPLAY_INDEX: item.display, Parameter.GOP_INDEX: item.gop_index, **parameters}
        return Frame(width=width, height=height, frame_type=frame_type, quality=self.codec.quality,
                     model_id=self.codec.model_id, parameters=parameters, sections=sections).to_bytes()

    def _quantize(self, item: _Input, prediction: np.ndarray, step_code: int) -> tuple[np.ndarray, np.ndarray]:
        """(y_pred, r) for a prediction of ``item``."""
        y_pred = _latent(self.codec, prediction)
        step = step_code / (1 << STEP_FRACTION_BITS)
        scaled = np.rint((self._target(item).astype(np.float64) - y_pred) / step)
        return y_pred, np.clip(scaled, -MAX_RESIDUAL, MAX_RESIDUAL).astype(np.int32)

    def _decide_copies(self, item: _Input, prediction: np.ndarray, y_pred: np.ndarray, residual: np.ndarray,
                     step_code: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(residual, copied cells or None, decoded picture) of an inter frame. With
        ``copy_blocks``, latent cells where the prediction's squared error is at most
        ``copy_tolerance`` times the generator's output's are shown as the prediction and
        their residual is dropped."""
        step = step_code / (1 << STEP_FRACTION_BITS)
        height, width = item.image.shape[:2]
        decoded = _reconstruct(self.codec, y_pred, residual, step, height, width)
        if not self.copy_blocks:
            return residual, None, decoded
        grid = residual.shape[1:]
        copied = _cell_errors(prediction, item.image, grid) <= self.copy_tolerance * _cell_errors(decoded, item.image, grid)
        if not copied.any():
            return residual, None, decoded
        residual = np.where(copied[None], 0, residual).astype(np.int32)
        decoded = _show_copied_blocks(_reconstruct(self.codec, y_pred, residual, step, height, width), prediction, copied)
        return residual, copied, decoded

    def _code_p(self, item: _Input, reference: _Reference) -> tuple[_Coded, _Reference]:
        y_pred, residual = self._quantize(item, reference.image, self.p_step_code)
        residual, copied, decoded = self._decide_copies(item, reference.image, y_pred, residual, self.p_step_code)
        parameters = {Parameter.REFERENCE_DISTANCE: item.gop_index - reference.gop_index,
                      Parameter.RESIDUAL_STEP: self.p_step_code}
        data = self._inter_frame(FrameType.P, item, parameters, residual, None, copied)
        return _Coded(item, data, FrameType.P), _Reference(item.display, item.gop_index, decoded, item.image)

    def _code_b(self, item: _Input, past: _Reference, future: _Reference) -> tuple[_Coded, dict[str, int], str]:
        """The B frame coded with each interpolation; returns the smallest and every size.
        Interpolations are compared without copied blocks, which then apply to the one kept."""
        modes = self.interpolations
        target = luma(item.image)
        search = dict(block_size=self.block_size, search_range=self.search_range,
                      fraction_bits=self.motion_fraction_bits, vector_cost=self.motion_cost)
        # Motion between source pictures: the decoded references' coding noise would attract
        # vectors that follow the noise rather than the scene.
        forward = estimate_motion(target, luma(past.original), **search) if any(m.fields[0] for m in modes) else None
        backward = estimate_motion(target, luma(future.original), **search) if any(m.fields[1] for m in modes) else None
        past_distance, future_distance = item.gop_index - past.gop_index, future.gop_index - item.gop_index
        parameters = {Parameter.REFERENCE_DISTANCE: past_distance, Parameter.FORWARD_REFERENCE_DISTANCE: future_distance,
                      Parameter.RESIDUAL_STEP: self.b_step_code}
        sizes: dict[str, int] = {}
        best = None
        for mode in modes:
            uses_past, uses_future = mode.fields
            motion = Motion(mode, self.block_size.bit_length() - 1, self.motion_fraction_bits,
                            forward if uses_past else None, backward if uses_future else None)
            prediction = interpolate(motion, past.image, future.image, past_distance, future_distance)
            y_pred, residual = self._quantize(item, prediction, self.b_step_code)
            data = self._inter_frame(FrameType.B, item, parameters, residual, motion)
            sizes[mode.name.lower()] = len(data)
            if best is None or len(data) < len(best[0]):
                best = (data, mode.name.lower(), prediction, y_pred, residual, motion)
        assert best is not None
        data, best_mode, prediction, y_pred, residual, motion = best
        if self.copy_blocks:  # B frames are never references: their picture is only needed to choose cells
            residual, copied, _ = self._decide_copies(item, prediction, y_pred, residual, self.b_step_code)
            if copied is not None:
                data = self._inter_frame(FrameType.B, item, parameters, residual, motion, copied)
        return _Coded(item, data, FrameType.B), sizes, best_mode

    def _code_group(self) -> None:
        group, self._pending = self._pending, []
        reference = self._reference
        assert reference is not None
        options: dict[str, tuple[list[_Coded], _Reference]] = {}
        b_sizes: tuple[dict[str, int], ...] = ()
        b_modes: tuple[str, ...] = ()
        if len(group) > 1:
            anchor_coded, anchor = self._code_p(group[-1], reference)
            coded_b = [self._code_b(item, reference, anchor) for item in group[:-1]]
            options[STRUCTURE_B] = ([anchor_coded] + [c for c, _, _ in coded_b], anchor)
            b_sizes = tuple(sizes for _, sizes, _ in coded_b)
            b_modes = tuple(mode for _, _, mode in coded_b)
        if len(group) == 1 or self.try_p_only:
            chain, previous = [], reference
            for item in group:
                coded, previous = self._code_p(item, previous)
                chain.append(coded)
            options[STRUCTURE_P] = (chain, previous)
        totals = {name: sum(len(c.data) for c in frames) for name, (frames, _) in options.items()}
        chosen = min(totals, key=totals.get)
        frames, self._reference = options[chosen]
        for coded in frames:
            self._emit(coded.data)
        self.decisions.append(GroupDecision(
            tuple(item.display for item in group), totals, chosen,
            b_sizes if chosen == STRUCTURE_B else (), b_modes if chosen == STRUCTURE_B else (),
        ))


# ------------------------------------------------------------------------------ decoder


@dataclass(frozen=True)
class DecodedFrame:
    image: np.ndarray  # HxWx3 uint8
    display_index: int
    frame_type: FrameType
    syntax: FrameSyntax  # the parsed integers (residual, motion) the picture was made from


@dataclass
class DecoderStats:
    frames: int = 0  # decoded and returned
    dropped_frames: int = 0  # received but not decodable (damaged, missing reference) under "skip"
    missing_frames: int = 0  # display positions that never arrived
    resyncs: int = 0  # times decoding waited for the next keyframe
    ignored_packets: int = 0  # other streams' packets
    events: deque[str] = field(default_factory=lambda: deque(maxlen=EVENT_HISTORY))  # the latest


@dataclass
class _Gop:
    keyframe_display: int
    size: tuple[int, int]  # (height, width)
    references: list[_Reference]  # the latest two, oldest first
    pending: dict[int, DecodedFrame]  # by GOP index, waiting for earlier frames
    next_out: int = 0  # GOP index of the next frame to return


class VideoDecoder:
    """Decodes packets (or packet-stream bytes, or bare frames) into frames in display order.

    ``on_damage="raise"`` raises typed errors at the first damaged, missing or inconsistent
    packet or frame. ``"skip"`` drops what cannot be decoded, counts it in :attr:`stats`
    and resumes: a lost B frame leaves a gap, a lost or damaged keyframe or P frame makes
    the decoder wait for the next keyframe. Memory is bounded by ``limits``: at most two
    references and ``max_reference_distance`` + 1 waiting frames of at most ``max_pixels``.
    """

    def __init__(
        self,
        image_codec: HyperpriorImageCodec,
        *,
        on_damage: Literal["raise", "skip"] = "raise",
        limits: Limits = Limits(),
        stream_id: int | None = None,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
    ) -> None:
        self.codec = _image_codec(image_codec)
        if on_damage not in ("raise", "skip"):
            raise InvalidArgumentError("on_damage must be 'raise' or 'skip'")
        self.strict = on_damage == "raise"
        self.limits = limits
        self.stream_id = stream_id
        self.stats = DecoderStats()
        self._reader = PacketReader(max_payload, on_damage)
        self._next_sequence: int | None = None
        self._gop: _Gop | None = None
        self._ready: list[DecodedFrame] = []

    def push(self, data: Packet | bytes | bytearray | memoryview) -> None:
        """Adds a :class:`Packet`, or bytes of a packet stream in chunks of any size."""
        if isinstance(data, Packet):
            self._accept(data, check_sequence=True)
            return
        for packet in self._reader.feed(data):
            self._accept(packet, check_sequence=False)  # the reader checked sequence numbers

    def push_frame(self, data: bytes | bytearray | memoryview) -> None:
        """Adds one frame without packet framing (e.g. read from a store)."""
        self._decode(data)

    def pull(self) -> list[DecodedFrame]:
        """Frames ready since the last call, in display order."""
        out, self._ready = self._ready, []
        return out

    def flush(self) -> None:
        """Declares the end of input: returns every waiting frame through :meth:`pull`."""
        self._reader.close()
        self._end_gop()

    # -- packets

    def _accept(self, packet: Packet, check_sequence: bool) -> None:
        if self.stream_id is None:
            self.stream_id = packet.stream_id
        if packet.stream_id != self.stream_id:
            self.stats.ignored_packets += 1
            return
        if check_sequence and not self._in_sequence(packet):
            return
        if packet.end_of_stream:
            self._next_sequence = None  # a stream may restart its numbering after its end
            self._end_gop()
            return
        self._decode(packet.payload)

    def _in_sequence(self, packet: Packet) -> bool:
        expected = self._next_sequence
        if expected is not None and packet.sequence < expected:
            self._damage(PacketLossError(f"packet {packet.sequence} arrived out of order (expected {expected})"))
            return False
        self._next_sequence = packet.sequence + 1
        if expected is not None and packet.sequence > expected:
            self._damage(PacketLossError(f"{packet.sequence - expected} packet(s) lost before packet {packet.sequence}"))
        return True

    def _damage(self, error: BitstreamError, dropped: bool = False, resync: bool = False) -> None:
        self.stats.events.append(str(error))
        self.stats.dropped_frames += dropped
        if self.strict:
            raise error
        if resync and self._gop is not None:
            self.stats.resyncs += 1
            self._end_gop()

    # -- frames

    def _decode(self, data: bytes | bytearray | memoryview) -> None:
        frame_type = None
        try:
            frame, syntax = parse_video_frame(data, self.codec.entropy_model.latent_channels, self.limits)
            frame_type = syntax.frame_type
            if frame.model_id != self.codec.model_id:
                raise CorruptedError(f"frame was made by model {frame.model_id.hex()[:16]}…, "
                                     f"this decoder has {self.codec.model_id.hex()[:16]}…")
            if syntax.frame_type == FrameType.KEY:
                decoded = DecodedFrame(self.codec.decode(data), syntax.display_index, FrameType.KEY, syntax)
            else:
                decoded = self._decode_inter(syntax)
        except BitstreamError as error:
            # A lost B frame only leaves a gap; without a reference nothing decodes until a keyframe.
            self._damage(error, dropped=True, resync=frame_type != FrameType.B)
            return
        self._store(decoded)

    def _decode_inter(self, syntax: FrameSyntax) -> DecodedFrame:
        gop = self._gop
        if gop is None:
            raise MissingReferenceError(f"{syntax.frame_type.name} frame {syntax.display_index} arrived "
                                        "without its keyframe")
        if (syntax.display_index - syntax.gop_index) % DISPLAY_MODULUS != gop.keyframe_display:
            raise MissingReferenceError(f"frame {syntax.display_index} belongs to another GOP than the keyframe "
                                        f"{gop.keyframe_display} held")
        if (syntax.height, syntax.width) != gop.size:
            raise CorruptedError(f"frame is {syntax.width}x{syntax.height}, its GOP {gop.size[1]}x{gop.size[0]}")
        if syntax.gop_index < gop.next_out or syntax.gop_index in gop.pending:
            raise PacketLossError(f"frame {syntax.display_index} arrived twice or too late")
        latest = gop.references[-1]
        if syntax.frame_type == FrameType.P:
            if latest.gop_index != syntax.gop_index - syntax.past_distance:
                raise MissingReferenceError(self._missing(syntax, syntax.gop_index - syntax.past_distance, latest))
            prediction = latest.image
        else:
            past_index, future_index = syntax.gop_index - syntax.past_distance, syntax.gop_index + syntax.future_distance
            past = gop.references[0] if len(gop.references) == 2 else None
            if past is None or (past.gop_index, latest.gop_index) != (past_index, future_index):
                raise MissingReferenceError(self._missing(syntax, past_index, past, future_index))
            prediction = interpolate(syntax.motion, past.image, latest.image, syntax.past_distance,
                                     syntax.future_distance)
        y_pred = _latent(self.codec, prediction)
        image = _reconstruct(self.codec, y_pred, syntax.residual, syntax.step, syntax.height, syntax.width)
        image = _show_copied_blocks(image, prediction, syntax.copy_blocks)
        return DecodedFrame(image, syntax.display_index, syntax.frame_type, syntax)

    @staticmethod
    def _missing(syntax: FrameSyntax, wanted: int, held: _Reference | None, future: int | None = None) -> str:
        wants = f"GOP frames {wanted} and {future}" if future is not None else f"GOP frame {wanted}"
        holds = f"GOP frame {held.gop_index}" if held is not None else "no such reference"
        return f"{syntax.frame_type.name} frame {syntax.display_index} needs {wants}; the decoder holds {holds}"

    def _store(self, decoded: DecodedFrame) -> None:
        """Files a decoded frame: a new GOP for a keyframe, a new reference for key and P frames."""
        syntax = decoded.syntax
        if syntax.frame_type == FrameType.KEY:
            self._end_gop()
            self._gop = _Gop(syntax.display_index, decoded.image.shape[:2], [], {})
        gop = self._gop
        assert gop is not None
        missing = []
        if syntax.frame_type != FrameType.B:
            if gop.references:
                # B frames before the newest reference can no longer be decoded: give up on them.
                missing = self._release(gop, up_to=gop.references[-1].gop_index)
            gop.references = (gop.references + [_Reference(decoded.display_index, syntax.gop_index, decoded.image)])[-2:]
        gop.pending[syntax.gop_index] = decoded
        self._release(gop)
        self._report_missing(missing)

    def _release(self, gop: _Gop, up_to: int | None = None) -> list[int]:
        """Returns waiting frames in order; frames before ``up_to`` that never came are missing
        (their display indexes are returned)."""
        missing = []
        while gop.next_out in gop.pending or (up_to is not None and gop.next_out < up_to):
            if gop.next_out in gop.pending:
                self._ready.append(gop.pending.pop(gop.next_out))
                self.stats.frames += 1
            else:
                missing.append((gop.keyframe_display + gop.next_out) % DISPLAY_MODULUS)
            gop.next_out += 1
        return missing

    def _report_missing(self, missing: list[int]) -> None:
        if missing:
            self.stats.missing_frames += len(missing)
            self._damage(PacketLossError(f"frame(s) {missing} never arrived"))

    def _end_gop(self) -> None:
        gop, self._gop = self._gop, None
        if gop is not None and gop.pending:
            self._report_missing(self._release(gop, up_to=max(gop.pending)))


# ---------------------------------------------------------------------------- .elv files


def write_video(target: str | Path | BinaryIO, frames: Iterable[np.ndarray], image_codec: HyperpriorImageCodec,
                **encoder_options: object) -> int:
    """Encodes ``frames`` into a latent video file (``.elv``: a packet stream, docs/video.md);
    returns the number of bytes written."""
    encoder = VideoEncoder(image_codec, **encoder_options)
    if isinstance(target, (str, Path)):
        with open(target, "wb") as sink:
            return _write_all(encoder, frames, sink)
    return _write_all(encoder, frames, target)


def _write_all(encoder: VideoEncoder, frames: Iterable[np.ndarray], sink: BinaryIO) -> int:
    written = 0
    for frame in frames:
        encoder.push(frame)
        for packet in encoder.pull():
            written += sink.write(packet.to_bytes())
    encoder.flush()
    for packet in encoder.pull():
        written += sink.write(packet.to_bytes())
    return written


def read_video(source: str | Path | BinaryIO, image_codec: HyperpriorImageCodec,
               on_damage: Literal["raise", "skip"] = "raise", limits: Limits = Limits(),
               chunk_size: int = 1 << 16) -> Iterator[DecodedFrame]:
    """Yields the frames of a latent video file in display order."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as stream:
            yield from read_video(stream, image_codec, on_damage, limits, chunk_size)
        return
    decoder = VideoDecoder(image_codec, on_damage=on_damage, limits=limits)
    while chunk := source.read(chunk_size):
        decoder.push(chunk)
        yield from decoder.pull()
    decoder.flush()
    yield from decoder.pull()
