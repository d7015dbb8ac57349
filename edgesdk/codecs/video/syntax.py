"""The latent video frame syntax (docs/video.md): constants, limits against hostile
headers, parsing a frame's header and sections, and the latent helpers the encoder and
decoder share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgesdk.bitstream.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.shapes import padded_size
from edgesdk.errors import CorruptedError, InvalidArgumentError, LimitExceededError, MissingReferenceError
from edgesdk.codecs.image.codec import (
    LATENT_DOWNSAMPLING,
    HyperpriorImageCodec,
    pad_to_grid,
    tiled_analyze,
    tiled_synthesize,
)
from edgesdk.codecs.video.background import background_parameters
from edgesdk.codecs.video.motion import Interpolation, Motion, decode_copy_blocks, decode_motion, encode_copy_blocks, encode_motion
from edgesdk.codecs.video.residual import decode_residual, encode_residual
from edgesdk.codecs.image.roi import QuantMap
from edgesdk.codecs.video.roi import decode_region, encode_region, residual_shifts, residual_steps
from edgesdk.limits import DEFAULT_MAX_GOP_LENGTH, DEFAULT_MAX_REFERENCE_DISTANCE, DEFAULT_MAX_VIDEO_PIXELS, Limits  # noqa: F401


ELV_EXTENSION = ".elv"
DISPLAY_MODULUS = 1 << 31  # display indexes wrap here (2.2 years at 30 fps)
STEP_FRACTION_BITS = 4  # residual steps travel in 1/16
MAX_STEP = 64.0
MAX_RESIDUAL = 1 << 24  # |r| above this is never useful; clipping keeps int32 safe
# A latent cell is shown as the prediction when its squared error is at most this many times
# the generator's: a little distortion for the residual bits it saves (chosen on akiyo, docs/video.md).
DEFAULT_COPY_TOLERANCE = 2.0

# Decoder limits against hostile streams: edgesdk.limits.Limits, one set for every decoder.
DEFAULT_MAX_PIXELS = DEFAULT_MAX_VIDEO_PIXELS

DECISION_HISTORY = 1024  # groups whose GroupDecision an encoder keeps (a live encoder runs for days)
EVENT_HISTORY = 256  # damage messages a decoder keeps

STRUCTURE_B = "b"  # anchor P from the previous anchor, then B frames between them
STRUCTURE_P = "p"  # every frame a P frame from the one before


def image_codec_of(codec: object) -> HyperpriorImageCodec:
    """The low-level codec of a ``HyperpriorImageCodec`` or of an object with ``.codec()``."""
    if isinstance(codec, HyperpriorImageCodec):
        return codec
    if callable(getattr(codec, "codec", None)):
        return codec.codec()
    raise InvalidArgumentError(f"expected a HyperpriorImageCodec, got {type(codec).__name__}")


def latent_of(codec: HyperpriorImageCodec, image: np.ndarray) -> np.ndarray:
    """y [M, h, w] of an HxWx3 uint8 image, padded and tiled as keyframes are."""
    if codec.analyze is None:
        raise InvalidArgumentError("inter frames need the compressor (analyze), on the decoder too")
    y, _ = tiled_analyze(codec.analyze, pad_to_grid(image), codec.tile(), codec.limits)
    expected = latent_shape(codec, *image.shape[:2])
    if y.shape != expected:
        raise InvalidArgumentError(f"the compressor gave a latent of shape {y.shape}, expected {expected}")
    return y


def latent_shape(codec: HyperpriorImageCodec, height: int, width: int) -> tuple[int, int, int]:
    """(channels, rows, columns) of the latent of a ``height`` x ``width`` frame."""
    return (codec.entropy_model.latent_channels, *latent_grid(height, width))


def latent_sum(y_pred: np.ndarray, residual: np.ndarray, step: float | np.ndarray) -> np.ndarray:
    """ŷ = y_pred + step · r in float32, the generator's input and, for latent prediction, the
    next P frame's y_pred. ``step``: a multiple of 1/16, or one per latent cell ([h, w], a region
    of interest: multiples of 1/256); either is exact in float32."""
    return y_pred.astype(np.float32) + np.asarray(step, np.float32) * residual.astype(np.float32)


def reconstruct(codec: HyperpriorImageCodec, y_pred: np.ndarray, residual: np.ndarray, step: float | np.ndarray,
                 height: int, width: int) -> np.ndarray:
    """The decoded picture ``g_s(y_pred + step · r)``, HxWx3 uint8."""
    return synthesized(codec, latent_sum(y_pred, residual, step), height, width)


def synthesized(codec: HyperpriorImageCodec, y_hat: np.ndarray, height: int, width: int) -> np.ndarray:
    """``g_s(ŷ)`` cropped to ``height`` x ``width``, HxWx3 uint8."""
    if codec.synthesize is None:
        raise InvalidArgumentError("this codec has no generator (synthesize) and cannot decode")
    return tiled_synthesize(codec.synthesize, y_hat, codec.tile(), codec.limits)[:height, :width]


@dataclass
class Reference:
    """A decoded key or P frame that later frames of its GOP are predicted from."""

    display: int
    gop_index: int
    image: np.ndarray  # decoded (what the decoder will hold)
    original: np.ndarray | None = None  # encoder only: the source picture, for motion estimation
    latent: np.ndarray | None = None  # ŷ the picture was synthesised from (latent prediction)


def show_copied_blocks(image: np.ndarray, prediction: np.ndarray, copy_blocks: np.ndarray | None) -> np.ndarray:
    """``image`` with the pixels of every copied latent cell taken from ``prediction``."""
    if copy_blocks is None:
        return image
    height, width = image.shape[:2]
    pixels = copy_blocks.repeat(LATENT_DOWNSAMPLING, 0).repeat(LATENT_DOWNSAMPLING, 1)[:height, :width]
    return np.where(pixels[..., None], prediction, image)


def cell_errors(image: np.ndarray, reference: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Sum of squared differences per latent cell (cells past the picture's edge count 0)."""
    squared = np.square(image.astype(np.int32) - reference.astype(np.int32)).sum(axis=2, dtype=np.int64)
    padded = np.zeros((grid[0] * LATENT_DOWNSAMPLING, grid[1] * LATENT_DOWNSAMPLING), dtype=np.int64)
    padded[: squared.shape[0], : squared.shape[1]] = squared
    return padded.reshape(grid[0], LATENT_DOWNSAMPLING, grid[1], LATENT_DOWNSAMPLING).sum(axis=(1, 3))


def step_code(step: float) -> int:
    """A residual step as the integer the stream carries (1/16 units); InvalidArgumentError out of range."""
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
    background_id: int | None = None  # keyframes kept as the background under this id
    background_reference: int | None = None  # P frames at GOP index 0: predicted from this background
    latent_prediction: bool = False  # P frames: y_pred is the reference's ŷ (parameter 16)
    region: QuantMap | None = None  # P, B: step scales and table shifts per latent cell (RESIDUAL_ROI)

    @property
    def residual_steps(self) -> float | np.ndarray:
        """The residual's quantizer step: :attr:`step`, or per latent cell with a region."""
        return residual_steps(self.step, self.region)


def bounded_parameter(frame: Frame, key: Parameter, low: int, high: int) -> int:
    """A frame parameter that must be present and in ``low..high``; CorruptedError otherwise."""
    value = frame.parameters.get(key)
    if value is None:
        raise CorruptedError(f"{frame.frame_type.name} frame lacks parameter {key.name}: not a video frame")
    if not low <= value <= high:
        raise LimitExceededError(f"{key.name} = {value} is outside {low}..{high}")
    return value


def required_section(frame: Frame, kind: SectionKind) -> memoryview | bytes:
    """The data of a frame's section of ``kind``; CorruptedError when it is missing."""
    section = frame.section(kind)
    if section is None:
        raise CorruptedError(f"{frame.frame_type.name} frame lacks its {kind.name} section")
    return section.data


def parse_video_frame(data: bytes | bytearray | memoryview, latent_channels: int,
                      limits: Limits = Limits()) -> tuple[Frame, FrameSyntax]:
    """Parses a video frame down to its integers (residual symbols, motion vectors).

    Checks sizes against ``limits`` before anything proportional to them is allocated.
    Keyframes' latents are left to the image codec.
    """
    frame = Frame.parse(data)
    limits.check_video_frame(frame.width, frame.height)
    display = bounded_parameter(frame, Parameter.DISPLAY_INDEX, 0, DISPLAY_MODULUS - 1)
    gop_index = bounded_parameter(frame, Parameter.GOP_INDEX, 0, limits.max_gop_length - 1)
    defined, referenced = background_parameters(frame)
    latent_prediction = frame.parameters.get(Parameter.LATENT_PREDICTION)
    if latent_prediction is not None and (latent_prediction != 1 or frame.frame_type != FrameType.P):
        raise CorruptedError(f"LATENT_PREDICTION = {latent_prediction} on a {frame.frame_type.name} frame "
                             "(only 1, only on P frames)")
    common = dict(frame_type=frame.frame_type, width=frame.width, height=frame.height,
                  display_index=display, gop_index=gop_index, background_id=defined, background_reference=referenced)
    if frame.frame_type == FrameType.KEY:
        if gop_index != 0:
            raise CorruptedError(f"keyframe with GOP index {gop_index}")
        rate = None
        if Parameter.FRAME_RATE_NUMERATOR in frame.parameters:
            rate = (bounded_parameter(frame, Parameter.FRAME_RATE_NUMERATOR, 1, 2**31 - 1),
                    bounded_parameter(frame, Parameter.FRAME_RATE_DENOMINATOR, 1, 2**31 - 1))
        return frame, FrameSyntax(**common, frame_rate=rate)
    past = 0 if referenced is not None else bounded_parameter(frame, Parameter.REFERENCE_DISTANCE, 1,
                                                               limits.max_reference_distance)
    future = 0
    if frame.frame_type == FrameType.B:
        future = bounded_parameter(frame, Parameter.FORWARD_REFERENCE_DISTANCE, 1, limits.max_reference_distance)
        if past + future > limits.max_reference_distance:
            raise LimitExceededError(f"B frame references span {past + future} frames, limit "
                                     f"{limits.max_reference_distance}")
    if past > gop_index:
        raise MissingReferenceError(f"frame {gop_index} of its GOP refers {past} frames back, before its keyframe")
    step = bounded_parameter(frame, Parameter.RESIDUAL_STEP, 1, int(MAX_STEP) << STEP_FRACTION_BITS) / (1 << STEP_FRACTION_BITS)
    shape = (latent_channels, *latent_grid(frame.height, frame.width))
    motion = None
    moved = frame.section(SectionKind.MOTION) if frame.frame_type == FrameType.P else None
    if moved is not None:  # a motion-compensated P frame
        motion = decode_motion(moved.data, frame.height, frame.width)
        if motion.mode != Interpolation.FORWARD or latent_prediction is not None:
            raise CorruptedError(f"P frame with motion of mode {motion.mode.name.lower()}"
                                 f"{' and latent prediction' if latent_prediction is not None else ''} (only "
                                 "forward, without LATENT_PREDICTION)")
    if frame.frame_type == FrameType.B:
        motion = decode_motion(required_section(frame, SectionKind.MOTION), frame.height, frame.width)
        if not any(frame.section(kind) is not None for kind in _RESIDUAL_KINDS):  # the interpolation alone
            # Read-only views, not arrays: such frames are most of a fixed camera's, and no one writes them.
            return frame, FrameSyntax(**common, past_distance=past, future_distance=future, step=step,
                                      residual=np.broadcast_to(np.int32(0), shape), motion=motion,
                                      copy_blocks=np.broadcast_to(True, shape[1:]))
    region, stream = residual_stream(frame, shape[1:])
    copy_section = frame.section(SectionKind.COPY_BLOCKS)
    copy_blocks = decode_copy_blocks(copy_section.data, shape[1:]) if copy_section is not None else None
    residual = decode_residual(required_section(frame, SectionKind.RESIDUAL_MODEL), stream, shape,
                               residual_shifts(region), copy_blocks)
    return frame, FrameSyntax(**common, past_distance=past, future_distance=future, step=step,
                              residual=residual, motion=motion, copy_blocks=copy_blocks,
                              latent_prediction=latent_prediction == 1, region=region)


_RESIDUAL_KINDS = (SectionKind.RESIDUAL_MODEL, SectionKind.LATENT, SectionKind.RESIDUAL_ROI, SectionKind.COPY_BLOCKS)


def residual_stream(frame: Frame, grid: tuple[int, int]) -> tuple[QuantMap | None, memoryview | bytes]:
    """(region or None, residual stream) of an inter frame: from ``RESIDUAL_ROI`` when present
    (docs/roi.md), else ``LATENT``; CorruptedError for both or neither."""
    region_section = frame.section(SectionKind.RESIDUAL_ROI)
    if region_section is None:
        return None, required_section(frame, SectionKind.LATENT)
    if frame.section(SectionKind.LATENT) is not None:
        raise CorruptedError("inter frame has both a LATENT and a RESIDUAL_ROI section")
    return decode_region(region_section.data, grid)


def latent_grid(height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of the latent of a ``height`` x ``width`` frame."""
    return padded_size(height) // LATENT_DOWNSAMPLING, padded_size(width) // LATENT_DOWNSAMPLING


RATE_PER_DB = 1.25
"""What 1 dB is worth in a frame's bytes when the encoder weighs two codings of it: about the
slope of the shipped models' video RD curves between 27 and 35 dB (docs/video.md)."""


def _error_db(source: np.ndarray, decoded: np.ndarray) -> float:
    """10·log10(MSE): PSNR is a constant minus this."""
    mse = np.mean(np.square(source.astype(np.float64) - decoded.astype(np.float64)))
    return float(10 * np.log10(max(mse, 1e-10)))


def prediction_cost(size: int, source: np.ndarray, decoded: np.ndarray) -> float:
    """ln(bytes) − ln(:data:`RATE_PER_DB`) · PSNR of a coded frame, up to a constant: lower is
    better; equal when a coding spends 25% more bytes for 1 dB more."""
    return float(np.log(max(size, 1)) + np.log(RATE_PER_DB) * _error_db(source, decoded))


STREAM_RATE_PER_DB = 1.4
"""What 1 dB of a whole stream is worth in its bytes, for :func:`stream_cost`: the slope of the
`fixed-camera` curves at quality 2 (akiyo and foreman: ln-rate 0.30–0.45 per dB); at
:data:`RATE_PER_DB` the B-frame choice halved foreman's B-frame quality (docs/video.md)."""


def stream_cost(size: int, source: np.ndarray, decoded: np.ndarray, bytes_per_frame: float) -> float:
    """bytes − ln(:data:`STREAM_RATE_PER_DB`) · ``bytes_per_frame`` · PSNR of one frame's coding,
    up to a constant: a stream of frames that cost ``bytes_per_frame`` on average (1 dB on one
    frame of N is 1/N dB of the stream), so a small frame is not judged against its own few bytes."""
    return size + float(np.log(STREAM_RATE_PER_DB)) * bytes_per_frame * _error_db(source, decoded)


def inter_frame_sections(residual: np.ndarray | None, motion: Motion | None, copy_blocks: np.ndarray | None,
                         region: QuantMap | None, tile_sizes: tuple[int, ...], skip_copied: bool) -> list[Section]:
    """The sections of a P or B frame in their documented order (docs/video.md); a B frame
    with no ``residual`` is its interpolation alone: ``MOTION`` and nothing else."""
    if residual is None:
        if motion is None:
            raise InvalidArgumentError("only a B frame (with its motion) can go without a residual")
        return [Section(SectionKind.MOTION, encode_motion(motion))]
    model, stream = encode_residual(residual, tile_sizes, residual_shifts(region),
                                    copy_blocks if skip_copied else None)
    sections = [Section(SectionKind.MOTION, encode_motion(motion))] if motion is not None else []
    latent = Section(SectionKind.LATENT, stream) if region is None else \
        Section(SectionKind.RESIDUAL_ROI, encode_region(region, stream))  # old decoders refuse it
    sections += [Section(SectionKind.RESIDUAL_MODEL, model), latent]
    if copy_blocks is not None:
        sections.append(Section(SectionKind.COPY_BLOCKS, encode_copy_blocks(copy_blocks)))
    return sections


@dataclass(frozen=True)
class GroupDecision:
    """How the encoder coded one group (the frames after a reference up to the next anchor)."""

    display_indexes: tuple[int, ...]
    structure_bytes: dict[str, int]  # structure tried → total bytes of the group
    structure: str  # the one kept: the fewest bytes
    interpolation_bytes: tuple[dict[str, int], ...] = ()  # per B frame (structure "b"): mode → bytes
    interpolations: tuple[str, ...] = ()  # per B frame: the mode kept
