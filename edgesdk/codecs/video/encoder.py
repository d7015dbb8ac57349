"""The latent video encoder: GOPs of keyframes, P and B frames with latent-space residuals
and copied blocks (docs/video.md)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from edgesdk.bitstream.container import Frame, FrameType, Parameter
from edgesdk.errors import InvalidArgumentError
from edgesdk.codecs.image.roi import DEFAULT_STEPS as DEFAULT_ROI_STEPS
from edgesdk.codecs.image.codec import HyperpriorImageCodec, check_image
from edgesdk.codecs.video.motion import (DEFAULT_BLOCK_SIZE, DEFAULT_FRACTION_BITS, DEFAULT_SEARCH_RANGE,
                                         DEFAULT_VECTOR_COST, Interpolation, Motion, MotionSearch, compensated,
                                         interpolate)
from edgesdk.bitstream.packets import Packet, PacketFlags
from edgesdk.codecs.video.background import BACKGROUND_ID_MODULUS, DEFAULT_SCENE_CHANGE, Background, gop_start
from edgesdk.codecs.video.residual import TILE_SIZES
from edgesdk.codecs.video.copies import measured_copies, predicted_copies
from edgesdk.codecs.video.roi import QuantMap, residual_region, residual_steps
from edgesdk.codecs.video.syntax import GroupDecision, Reference, inter_frame_sections, latent_sum, prediction_cost, \
    stream_cost
from edgesdk.codecs.video.syntax import DECISION_HISTORY, DEFAULT_COPY_TOLERANCE, DEFAULT_MAX_GOP_LENGTH, DEFAULT_MAX_REFERENCE_DISTANCE, DISPLAY_MODULUS, MAX_RESIDUAL, MAX_STEP, STEP_FRACTION_BITS, STRUCTURE_B, STRUCTURE_P, cell_errors, image_codec_of, latent_of, reconstruct, step_code


# ------------------------------------------------------------------------------ encoder


@dataclass
class _Input:
    display: int
    gop_index: int
    image: np.ndarray
    latent: np.ndarray | None = None  # y of the original, computed once
    roi: object = None  # region of interest (mask or rectangles; a callable's result on the image)


@dataclass
class _Coded:
    item: _Input
    data: bytes
    frame_type: FrameType


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

    With ``background``, the first keyframe is kept as the long-term background reference
    (``BACKGROUND_ID``) and later GOPs start with a P frame predicted from it instead of a
    keyframe, unless the scene changed (more than ``scene_change`` of the 16x16 cells, or the
    lighting, differ from the background's source) or that P frame would cost more than
    :data:`~edgesdk.codecs.video.background.REFRESH_RATIO` of the background keyframe: then a
    new background keyframe is coded (:attr:`gop_starts` records which and why).
    With ``compact_headers``, P and B frames (not GOP starts) use the compact inter frame
    layout (docs/bitstream.md): 38–42 bytes of framing instead of 124–144. With
    ``latent_prediction``, P frames predict the latent directly from their reference's ŷ
    (parameter 16) instead of analysing its decoded picture: no re-analysis loss, and one
    transform less on both sides. With ``predicted_copies``, copied cells are chosen against
    the generator's error on the previous synthesised frame, so each inter frame is
    synthesised once instead of twice. ``roi`` (mask, rectangles, or image → region) quantizes
    every frame's latent or residual by ``roi_steps`` inside and outside it (docs/roi.md).
    B frames (never references) use ``b_step``, by default ``b_step_ratio`` times ``p_step``.
    With ``skip_copied``, residual streams leave out the elements of copied cells. With
    ``choose_prediction``, each P frame is coded both ways (with and without latent prediction)
    and the one of lower :func:`~edgesdk.codecs.video.syntax.prediction_cost` is kept. With
    ``interpolation_only_b``, a B frame is sent as one of its interpolations alone (``MOTION``
    only, no residual) where that has the lower :func:`~edgesdk.codecs.video.syntax.stream_cost`.
    With ``motion_compensated_p``, P frames predicted from a decoded picture (not by latent
    prediction) move it block by block first (a forward ``MOTION`` section).
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
        background: bool = False,
        scene_change: float = DEFAULT_SCENE_CHANGE,
        compact_headers: bool = False,
        latent_prediction: bool = False,
        predicted_copies: bool = False,
        roi: object = None,
        roi_steps: tuple[float, float] = DEFAULT_ROI_STEPS, b_step_ratio: float = 1.0, skip_copied: bool = False,
        choose_prediction: bool = False, interpolation_only_b: bool = False, motion_compensated_p: bool = False,
    ) -> None:
        self.codec = image_codec_of(image_codec)
        if self.codec.analyze is None or self.codec.synthesize is None:
            raise InvalidArgumentError("the video encoder needs both transforms (it decodes its own references)")
        if keyframe_interval < 1 or keyframe_interval > DEFAULT_MAX_GOP_LENGTH:
            raise InvalidArgumentError(f"keyframe_interval must be in 1..{DEFAULT_MAX_GOP_LENGTH}")
        if not 0 <= b_frames < DEFAULT_MAX_REFERENCE_DISTANCE:
            raise InvalidArgumentError(f"b_frames must be in 0..{DEFAULT_MAX_REFERENCE_DISTANCE - 1}")
        self.interpolations = tuple(Interpolation(i) for i in interpolations)
        if not self.interpolations:
            raise InvalidArgumentError("give at least one interpolation")
        if frame_rate is not None and (len(frame_rate) != 2 or min(frame_rate) < 1):
            raise InvalidArgumentError("frame_rate must be (numerator, denominator), both positive")
        self.keyframe_interval, self.b_frames = keyframe_interval, b_frames
        if not copy_tolerance > 0 or not b_step_ratio > 0:
            raise InvalidArgumentError("copy_tolerance and b_step_ratio must be positive")
        self.p_step_code = step_code(p_step)
        self.b_step_code = step_code(min(p_step * b_step_ratio, MAX_STEP) if b_step is None else b_step)
        self.try_p_only = try_p_only
        self.copy_blocks, self.copy_tolerance = copy_blocks, copy_tolerance
        self.motion_search = MotionSearch(block_size, search_range, motion_fraction_bits, motion_cost)
        self.skip_copied, self.choose_prediction = skip_copied, choose_prediction
        self.interpolation_only_b, self._bytes_out = interpolation_only_b, 0
        self.motion_compensated_p = motion_compensated_p
        self.residual_tile_sizes = residual_tile_sizes
        self.frame_rate = frame_rate
        if not 0 <= stream_id < 2**32:
            raise InvalidArgumentError("stream_id must fit in 32 bits")
        self.stream_id = stream_id
        self.roi, self.roi_steps = roi, roi_steps
        self.decisions: deque[GroupDecision] = deque(maxlen=DECISION_HISTORY)
        if not 0 < scene_change <= 1:
            raise InvalidArgumentError("scene_change must be a share of cells in (0, 1]")
        self.use_background, self.compact_headers = background, compact_headers
        self.latent_prediction, self.predicted_copies = latent_prediction, predicted_copies
        self._generator_error: np.ndarray | None = None  # per latent cell, of the latest synthesis
        self.scene_change = scene_change
        self.gop_starts: deque[tuple[int, str]] = deque(maxlen=DECISION_HISTORY)  # (display, how it was coded)
        self._background: Background | None = None
        self._next_background_id = 0
        self._sequence = 0
        self._out: list[Packet] = []
        self._display = 0
        self._gop_index = 0
        self._size: tuple[int, int] | None = None
        self._reference: Reference | None = None
        self._pending: list[_Input] = []

    @property
    def buffered(self) -> int:
        """Input frames held until their group's anchor arrives (at most ``b_frames``)."""
        return len(self._pending)

    @property
    def background(self) -> bytes | None:
        """The frame bytes of the background keyframe later GOPs refer to (None without one):
        what a decoder that joins late needs first (:meth:`VideoDecoder.push_background`)."""
        return self._background.frame if self._background is not None else None

    def push(self, frame: np.ndarray, roi: object = None) -> None:
        """Adds the next frame in display order; its packets appear in :meth:`pull` once coded.
        ``roi`` (else the encoder's ``roi``) is this frame's region of interest."""
        pixels = check_image(frame)
        if self._size is not None and pixels.shape[:2] != self._size:
            self._finish_group()  # a new size starts a new GOP
            self._gop_index = 0
        roi = self.roi if roi is None else roi
        item = _Input(self._display, self._gop_index, pixels, roi=roi(pixels) if callable(roi) else roi)
        self._display = (self._display + 1) % DISPLAY_MODULUS
        self._gop_index = (self._gop_index + 1) % self.keyframe_interval
        if item.gop_index == 0:
            self._code_keyframe(item)
            return
        self._pending.append(item)
        if item.gop_index % (self.b_frames + 1) == 0 or item.gop_index == self.keyframe_interval - 1:
            self._code_group()

    def skip(self, count: int) -> None:
        """``count`` frames the source dropped before the next push: display indexes advance past
        them and the next frame starts a GOP, so no reference spans the gap (docs/video.md)."""
        if count > 0:
            self._finish_group()
            self._display, self._gop_index = (self._display + count) % DISPLAY_MODULUS, 0

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
        self._background = None  # decoders forget it at the end of the stream

    # -- coding

    def _finish_group(self) -> None:
        if self._pending:
            self._code_group()

    def _emit(self, data: bytes, flags: PacketFlags = PacketFlags(0)) -> None:
        self._out.append(Packet(self.stream_id, self._sequence, data, flags))
        self._bytes_out += len(data)
        self._sequence += 1

    def _code_keyframe(self, item: _Input) -> None:
        background, coded, why = self._background, None, "keyframe"
        if self.use_background and background is not None:
            coded, why = gop_start(item.image, background, self.scene_change,
                                   lambda: self._code_from_background(item, background))
        self.gop_starts.append((item.display, why))
        if coded is not None:  # the GOP starts from the background
            self._emit(coded[0].data)
            self._reference = coded[1]
            return
        image_frame = Frame.parse(self.codec.encode(item.image, roi=item.roi, roi_steps=self.roi_steps))
        parameters = {**image_frame.parameters, Parameter.DISPLAY_INDEX: item.display, Parameter.GOP_INDEX: 0}
        if self.frame_rate is not None:
            parameters[Parameter.FRAME_RATE_NUMERATOR], parameters[Parameter.FRAME_RATE_DENOMINATOR] = self.frame_rate
        if self.use_background:
            parameters[Parameter.BACKGROUND_ID] = self._next_background_id
        data = Frame(
            width=image_frame.width, height=image_frame.height, frame_type=FrameType.KEY,
            quality=image_frame.quality, model_id=image_frame.model_id, parameters=parameters,
            sections=image_frame.sections,
        ).to_bytes()
        self._emit(data, PacketFlags.KEYFRAME)
        self._size = item.image.shape[:2]
        image, y_hat = self.codec.decode_with_latent(data)
        self._reference = Reference(item.display, 0, image, item.image, y_hat)
        self._generator_error = cell_errors(image, item.image, y_hat.shape[1:])
        if self.use_background:
            self._background = Background(self._next_background_id, image, original=item.image, frame=data,
                                          y_hat=y_hat)
            self._next_background_id = (self._next_background_id + 1) % BACKGROUND_ID_MODULUS

    def _code_from_background(self, item: _Input, background: Background) -> tuple[_Coded, Reference]:
        """A GOP's first frame as a P frame from the background: (the coded frame, the new reference)."""
        if background.latent is None and (self.choose_prediction or not self.latent_prediction):
            background.latent = latent_of(self.codec, background.image)
        return self._code_p(item, Reference(-1, 0, background.image, background.original, background.y_hat),
                            {Parameter.BACKGROUND_REFERENCE: background.background_id}, background.latent)

    def _target(self, item: _Input) -> np.ndarray:
        if item.latent is None:
            item.latent = latent_of(self.codec, item.image)
        return item.latent

    def _inter_frame(self, frame_type: FrameType, item: _Input, parameters: dict[int, int],
                     residual: np.ndarray | None, motion: Motion | None, copy_blocks: np.ndarray | None = None) -> bytes:
        sections = inter_frame_sections(residual, motion, copy_blocks, self._region(item), self.residual_tile_sizes,
                                        self.skip_copied)
        height, width = item.image.shape[:2]
        parameters = {Parameter.DISPLAY_INDEX: item.display, Parameter.GOP_INDEX: item.gop_index, **parameters}
        compact = self.compact_headers and Parameter.BACKGROUND_REFERENCE not in parameters
        return Frame(width=width, height=height, frame_type=frame_type, quality=self.codec.quality,
                     model_id=self.codec.model_id, parameters=parameters, sections=sections, compact=compact).to_bytes()

    def _region(self, item: _Input) -> QuantMap | None:
        """The step multipliers of ``item``'s residual (None: uniform, no region)."""
        return residual_region(item.roi, self.roi_steps, *item.image.shape[:2], self._target(item).shape[1:])

    def _quantize(self, item: _Input, prediction: np.ndarray, step_code: int,
                  y_pred: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float | np.ndarray]:
        """(y_pred, r, step or steps per cell) for a prediction of ``item`` (``y_pred``: if known)."""
        y_pred = latent_of(self.codec, prediction) if y_pred is None else y_pred
        step = residual_steps(step_code / (1 << STEP_FRACTION_BITS), self._region(item))
        scaled = np.rint((self._target(item).astype(np.float64) - y_pred) / step)
        return y_pred, np.clip(scaled, -MAX_RESIDUAL, MAX_RESIDUAL).astype(np.int32), step

    def _decide_copies(self, item: _Input, prediction: np.ndarray, y_pred: np.ndarray, residual: np.ndarray,
                       step: float | np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(residual, copied cells or None, decoded picture) of an inter frame. With
        ``copy_blocks``, latent cells where the prediction's squared error is at most
        ``copy_tolerance`` times the generator's output's are shown as the prediction and
        their residual is dropped."""
        if not self.copy_blocks:
            return residual, None, reconstruct(self.codec, y_pred, residual, step, *item.image.shape[:2])
        expected = self._generator_error
        if self.predicted_copies and expected is not None and expected.shape == residual.shape[1:]:
            residual, copied, decoded, self._generator_error = predicted_copies(
                self.codec, item.image, prediction, y_pred, residual, step, self.copy_tolerance, expected)
        else:
            residual, copied, decoded, self._generator_error = measured_copies(
                self.codec, item.image, prediction, y_pred, residual, step, self.copy_tolerance)
        return residual, copied, decoded

    def _code_p(self, item: _Input, reference: Reference, parameters: dict[int, int] | None = None,
                y_pred: np.ndarray | None = None) -> tuple[_Coded, Reference]:
        """A P frame from ``reference`` (``parameters``: its reference parameters, by default the
        distance; ``y_pred``: the latent of its picture, when known); with ``choose_prediction``
        coded from both latents of the reference and the lower :func:`prediction_cost` kept."""
        parameters = dict(parameters or {Parameter.REFERENCE_DISTANCE: item.gop_index - reference.gop_index})
        parameters[Parameter.RESIDUAL_STEP] = self.p_step_code
        expected, ways = self._generator_error, (False, True) if self.choose_prediction else (self.latent_prediction,)
        tried = []
        for latent in ways:
            self._generator_error = expected  # each way's copied cells from the same expectation
            way = {**parameters, Parameter.LATENT_PREDICTION: 1} if latent else parameters
            tried.append((*self._code_p_from(item, reference, way, reference.latent if latent else y_pred),
                          self._generator_error))
        coded, decoded, self._generator_error = min(tried, key=lambda t: prediction_cost(len(t[0].data), item.image,
                                                                                         t[1].image))
        return coded, decoded

    def _code_p_from(self, item: _Input, reference: Reference, parameters: dict[int, int],
                     y_pred: np.ndarray | None) -> tuple[_Coded, Reference]:
        motion, prediction = None, reference.image
        if self.motion_compensated_p and Parameter.LATENT_PREDICTION not in parameters and reference.original is not None:
            vectors = self.motion_search.field(item.image, reference.original)
            if vectors.any():  # all-zero vectors predict what the reference itself does, without the section
                motion = self.motion_search.motion(Interpolation.FORWARD, vectors)
                prediction, y_pred = compensated(motion, reference.image), None
        y_pred, residual, step = self._quantize(item, prediction, self.p_step_code, y_pred)
        residual, copied, decoded = self._decide_copies(item, prediction, y_pred, residual, step)
        data = self._inter_frame(FrameType.P, item, parameters, residual, motion, copied)
        y_hat = latent_sum(y_pred, residual, step)
        return _Coded(item, data, FrameType.P), Reference(item.display, item.gop_index, decoded, item.image, y_hat)

    def _code_b(self, item: _Input, past: Reference, future: Reference,
                per_frame: float) -> tuple[_Coded, dict[str, int], str]:
        """The B frame coded with each interpolation; returns the smallest and every size.
        Interpolations are compared without copied blocks, which then apply to the one kept
        (``per_frame``: the stream's bytes per frame, for :func:`stream_cost`)."""
        modes = self.interpolations
        forward = self.motion_search.field(item.image, past.original) if any(m.fields[0] for m in modes) else None
        backward = self.motion_search.field(item.image, future.original) if any(m.fields[1] for m in modes) else None
        past_distance, future_distance = item.gop_index - past.gop_index, future.gop_index - item.gop_index
        parameters = {Parameter.REFERENCE_DISTANCE: past_distance, Parameter.FORWARD_REFERENCE_DISTANCE: future_distance,
                      Parameter.RESIDUAL_STEP: self.b_step_code}
        sizes: dict[str, int] = {}
        best, tried = None, []
        for mode in modes:
            uses_past, uses_future = mode.fields
            motion = self.motion_search.motion(mode, forward if uses_past else None, backward if uses_future else None)
            prediction = interpolate(motion, past.image, future.image, past_distance, future_distance)
            y_pred, residual, step = self._quantize(item, prediction, self.b_step_code)
            data = self._inter_frame(FrameType.B, item, parameters, residual, motion)
            sizes[mode.name.lower()] = len(data)
            tried.append((mode.name.lower(), motion, prediction))
            if best is None or len(data) < len(best[0]):
                best = (data, mode.name.lower(), prediction, y_pred, residual, motion)
        assert best is not None
        data, best_mode, prediction, y_pred, residual, motion = best
        if self.copy_blocks or self.interpolation_only_b:  # a B frame's picture serves only these choices
            residual, copied, picture = self._decide_copies(item, prediction, y_pred, residual, step)
            if copied is not None:
                data = self._inter_frame(FrameType.B, item, parameters, residual, motion, copied)
        if self.interpolation_only_b:  # against each interpolation alone (MOTION only)
            ways = [(data, picture, best_mode)] + [(self._inter_frame(FrameType.B, item, parameters, None, m), p, n)
                                                   for n, m, p in tried]
            data, _, best_mode = min(ways, key=lambda way: stream_cost(len(way[0]), item.image, way[1], per_frame))
        return _Coded(item, data, FrameType.B), sizes, best_mode

    def _code_group(self) -> None:
        group, self._pending = self._pending, []
        reference = self._reference
        assert reference is not None
        options: dict[str, tuple[list[_Coded], Reference]] = {}
        b_sizes: tuple[dict[str, int], ...] = ()
        b_modes: tuple[str, ...] = ()
        if len(group) > 1:
            anchor_coded, anchor = self._code_p(group[-1], reference)
            per_frame = (self._bytes_out + len(anchor_coded.data)) / (self._sequence + len(group))  # B frames ~free
            coded_b = [self._code_b(item, reference, anchor, per_frame) for item in group[:-1]]
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
