"""The latent video decoder: packets or frames in decode order in, frames in display order out,
with damage handling (docs/video.md)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from edgesdk.bitstream.container import Frame, FrameType, Parameter
from edgesdk.errors import BitstreamError, CorruptedError, InvalidArgumentError, MissingReferenceError, PacketLossError
from edgesdk.codecs.image.codec import HyperpriorImageCodec, to_grey
from edgesdk.codecs.video.motion import compensated, interpolate
from edgesdk.bitstream.packets import DEFAULT_MAX_PAYLOAD, Packet, PacketReader
from edgesdk.codecs.video.background import Background
from edgesdk.codecs.video.syntax import DISPLAY_MODULUS, EVENT_HISTORY, FrameSyntax, Limits, Reference, image_codec_of, latent_of, latent_sum, parse_video_frame, show_copied_blocks, synthesized


# ------------------------------------------------------------------------------ decoder


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded frame: its pixels, display index, type and what the decoder did with it."""
    image: np.ndarray  # HxWx3 uint8
    display_index: int
    frame_type: FrameType
    syntax: FrameSyntax  # the parsed integers (residual, motion) the picture was made from
    latent: np.ndarray | None = None  # ŷ [M, h, w] float32 the generator made the picture from


@dataclass
class DecoderStats:
    """Counts of what a VideoDecoder decoded, skipped and concealed."""
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
    references: list[Reference]  # the latest two, oldest first
    pending: dict[int, DecodedFrame]  # by GOP index, waiting for earlier frames
    next_out: int = 0  # GOP index of the next frame to return
    monochrome: bool = False  # its keyframe (or background) carries MONOCHROME: every frame is shown grey


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
        self.codec = image_codec_of(image_codec)
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
        self._background: Background | None = None  # the long-term reference, kept across GOPs
        self._monochrome = False  # the latest keyframe (or background GOP start) was marked MONOCHROME

    @property
    def reader_stats(self):
        """What the packet reader found in the bytes given to :meth:`push`: damaged, lost and
        reordered packets, skipped bytes, and whether the input ended inside a packet
        (:class:`edgesdk.bitstream.packets.ReaderStats`)."""
        return self._reader.stats

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

    def push_background(self, data: bytes | bytearray | memoryview) -> None:
        """Loads a background keyframe (a keyframe with ``BACKGROUND_ID``, e.g. the sender's
        :attr:`VideoEncoder.background` or one from a store) without showing it: what a decoder
        that joins a stream late needs before the next GOP predicted from it. Raises the
        frame's BitstreamError, or CorruptedError for a frame that defines no background."""
        frame, syntax = parse_video_frame(data, self.codec.entropy_model.latent_channels, self.limits)
        if syntax.background_id is None:
            raise CorruptedError("push_background needs a keyframe that defines a background (BACKGROUND_ID)")
        self._check_model(frame)
        image, y_hat = self.codec.decode_with_latent(data)
        self._background = Background(syntax.background_id, image, y_hat=y_hat,
                                      monochrome=frame.parameters.get(Parameter.MONOCHROME) == 1)

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
            self._background = None  # and its background ids
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
            self._check_model(frame)
            if syntax.frame_type == FrameType.KEY:
                image, y_hat = self.codec.decode_with_latent(data)
                decoded = DecodedFrame(image, syntax.display_index, FrameType.KEY, syntax, y_hat)
                self._monochrome = frame.parameters.get(Parameter.MONOCHROME) == 1
                if syntax.background_id is not None:
                    self._background = Background(syntax.background_id, image, y_hat=y_hat,
                                                  monochrome=self._monochrome)
            elif syntax.background_reference is not None:
                decoded = self._decode_from_background(syntax)
                self._monochrome = self._background.monochrome
            else:
                decoded = self._decode_inter(syntax)
        except BitstreamError as error:
            # A lost B frame only leaves a gap; without a reference nothing decodes until a keyframe.
            self._damage(error, dropped=True, resync=frame_type != FrameType.B)
            return
        self._store(decoded)

    def _check_model(self, frame: Frame) -> None:
        """A frame names this decoder's model; a compact frame (no model id) at least its quality,
        and decodes only within a GOP whose start named the model."""
        if frame.compact:
            if frame.quality != self.codec.quality:
                raise CorruptedError(f"compact frame of quality {frame.quality}, this decoder has {self.codec.quality}")
        elif frame.model_id != self.codec.model_id:
            from edgesdk.codecs.model import wrong_model_error

            raise wrong_model_error(frame.model_id, self.codec.model_id)

    def _decode_from_background(self, syntax: FrameSyntax) -> DecodedFrame:
        """A GOP's first frame predicted from the held background."""
        background = self._background
        if background is None or background.background_id != syntax.background_reference:
            held = "none" if background is None else f"background {background.background_id}"
            raise MissingReferenceError(f"frame {syntax.display_index} needs background {syntax.background_reference}; "
                                        f"the decoder holds {held} (VideoDecoder.push_background loads one)")
        if background.size != (syntax.height, syntax.width):
            raise CorruptedError(f"frame is {syntax.width}x{syntax.height}, its background "
                                 f"{background.size[1]}x{background.size[0]}")
        if syntax.latent_prediction:
            return self._predicted(syntax, background.image, background.y_hat)
        if syntax.motion is not None:
            prediction = compensated(syntax.motion, background.image)
            return self._predicted(syntax, prediction, latent_of(self.codec, prediction))
        if background.latent is None:
            background.latent = latent_of(self.codec, background.image)
        return self._predicted(syntax, background.image, background.latent)

    def _predicted(self, syntax: FrameSyntax, prediction: np.ndarray, y_pred: np.ndarray) -> DecodedFrame:
        """The picture of an inter frame from its prediction and the prediction's latent."""
        y_hat = latent_sum(y_pred, syntax.residual, syntax.residual_steps)
        image = synthesized(self.codec, y_hat, syntax.height, syntax.width)
        image = show_copied_blocks(image, prediction, syntax.copy_blocks)
        return DecodedFrame(image, syntax.display_index, syntax.frame_type, syntax, y_hat)

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
            prediction = latest.image if syntax.motion is None else compensated(syntax.motion, latest.image)
            if syntax.latent_prediction:
                return self._predicted(syntax, prediction, latest.latent)
        else:
            past_index, future_index = syntax.gop_index - syntax.past_distance, syntax.gop_index + syntax.future_distance
            past = gop.references[0] if len(gop.references) == 2 else None
            if past is None or (past.gop_index, latest.gop_index) != (past_index, future_index):
                raise MissingReferenceError(self._missing(syntax, past_index, past, future_index))
            prediction = interpolate(syntax.motion, past.image, latest.image, syntax.past_distance,
                                     syntax.future_distance)
            if syntax.copy_blocks is not None and syntax.copy_blocks.all():  # no generated pixel is shown
                return DecodedFrame(prediction, syntax.display_index, syntax.frame_type, syntax)
        return self._predicted(syntax, prediction, latent_of(self.codec, prediction))

    @staticmethod
    def _missing(syntax: FrameSyntax, wanted: int, held: Reference | None, future: int | None = None) -> str:
        wants = f"GOP frames {wanted} and {future}" if future is not None else f"GOP frame {wanted}"
        holds = f"GOP frame {held.gop_index}" if held is not None else "no such reference"
        return f"{syntax.frame_type.name} frame {syntax.display_index} needs {wants}; the decoder holds {holds}"

    def _store(self, decoded: DecodedFrame) -> None:
        """Files a decoded frame: a new GOP for a keyframe, a new reference for key and P frames."""
        syntax = decoded.syntax
        if syntax.frame_type == FrameType.KEY or syntax.background_reference is not None:
            self._end_gop()
            self._gop = _Gop(syntax.display_index, decoded.image.shape[:2], [], {}, monochrome=self._monochrome)
        gop = self._gop
        assert gop is not None
        missing = []
        if syntax.frame_type != FrameType.B:
            if gop.references:
                # B frames before the newest reference can no longer be decoded: give up on them.
                missing = self._release(gop, up_to=gop.references[-1].gop_index)
            gop.references = (gop.references + [Reference(decoded.display_index, syntax.gop_index, decoded.image,
                                                           latent=decoded.latent)])[-2:]
        gop.pending[syntax.gop_index] = decoded
        self._release(gop)
        self._report_missing(missing)

    def _release(self, gop: _Gop, up_to: int | None = None) -> list[int]:
        """Returns waiting frames in order; frames before ``up_to`` that never came are missing
        (their display indexes are returned)."""
        missing = []
        while gop.next_out in gop.pending or (up_to is not None and gop.next_out < up_to):
            if gop.next_out in gop.pending:
                decoded = gop.pending.pop(gop.next_out)
                if gop.monochrome and decoded.frame_type != FrameType.KEY:
                    # Shown grey like its keyframe; the reference keeps the generator's picture,
                    # as the encoder's does.
                    decoded = replace(decoded, image=to_grey(decoded.image))
                self._ready.append(decoded)
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
