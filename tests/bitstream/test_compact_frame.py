"""Compact inter frames (docs/bitstream.md, "Compact inter frame"): the same frame content as
the full layout in fewer bytes, exact fields, and only bitstream errors on hostile bytes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgesdk
from edgesdk.bitstream.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.codecs.video import parse_video_frame, residual
from edgesdk.codecs.video.motion import Interpolation, Motion, encode_copy_blocks, encode_motion


def video_frame(frame_type=FrameType.P, copy_blocks=True, compact=True, **parameters):
    """A 70x45 P or B frame (4 latent channels) with a small residual and copied cells."""
    rng = np.random.default_rng(1)
    model, stream = residual.encode_residual(rng.integers(-2, 3, (4, 4, 8)).astype(np.int32))
    values = {Parameter.DISPLAY_INDEX: 1234567, Parameter.GOP_INDEX: 9, Parameter.REFERENCE_DISTANCE: 3,
              Parameter.RESIDUAL_STEP: 24}
    sections = [Section(SectionKind.RESIDUAL_MODEL, model), Section(SectionKind.LATENT, stream)]
    if frame_type == FrameType.B:
        values[Parameter.FORWARD_REFERENCE_DISTANCE] = 2
        sections.insert(0, Section(SectionKind.MOTION, encode_motion(Motion(Interpolation.BLEND))))
    if copy_blocks:
        sections.append(Section(SectionKind.COPY_BLOCKS, encode_copy_blocks(np.eye(4, 8, dtype=bool))))
    values.update({Parameter[k]: v for k, v in parameters.items()})
    return Frame(width=70, height=45, frame_type=frame_type, quality=2, model_id=bytes(range(32)),
                 parameters=values, sections=sections, compact=compact).to_bytes()


@pytest.mark.parametrize("frame_type", [FrameType.P, FrameType.B])
@pytest.mark.parametrize("copy_blocks", [False, True])
def test_compact_frames_carry_what_full_frames_carry(frame_type, copy_blocks):
    compact, full = (video_frame(frame_type, copy_blocks, compact=c) for c in (True, False))
    a, b = Frame.parse(compact), Frame.parse(full)
    sections = 2 + (frame_type == FrameType.B) + copy_blocks
    payloads = sum(len(s.data) for s in b.sections)
    assert compact[:4] == b"EDGI" and len(compact) == 22 + 4 * sections + payloads + 4
    assert len(full) == 52 + 8 * len(b.parameters) + 12 * sections + 4 + payloads
    assert a.compact and not b.compact and a.model_id == bytes(32)
    assert (a.frame_type, a.quality, a.width, a.height, a.parameters) == (b.frame_type, b.quality, b.width, b.height,
                                                                          b.parameters)
    assert [(s.kind, bytes(s.data)) for s in a.sections] == [(s.kind, bytes(s.data)) for s in b.sections]
    (_, x), (_, y) = (parse_video_frame(data, latent_channels=4) for data in (compact, full))
    np.testing.assert_array_equal(x.residual, y.residual)
    assert (x.display_index, x.gop_index, x.past_distance, x.future_distance, x.step) == \
        (1234567, 9, 3, 2 if frame_type == FrameType.B else 0, 1.5)
    assert (x.copy_blocks is None) == (not copy_blocks)


def test_the_documented_byte_layout():
    data = video_frame(FrameType.B)
    assert data[4:8] == bytes([1, 2, 1, 2])  # version, type B, flags (copied blocks), quality
    assert [int.from_bytes(data[i:i + n], "little") for i, n in ((8, 2), (10, 2), (12, 4), (16, 2))] == [70, 45,
                                                                                                        1234567, 9]
    assert (data[18], data[19], int.from_bytes(data[20:22], "little")) == (3, 2, 24)
    assert int.from_bytes(data[-4:], "little") == edgesdk._core.crc32c(data[:-4])


def test_every_cut_is_truncation_and_extra_bytes_are_corruption():
    data = video_frame(FrameType.B)
    for cut in range(len(data)):
        with pytest.raises(edgesdk.TruncatedError):
            Frame.parse(data[:cut])
    with pytest.raises(edgesdk.CorruptedError):
        Frame.parse(data + b"\0")


@pytest.mark.parametrize(("frame_type", "parameters"), [
    (FrameType.KEY, {}),
    (FrameType.P, {"MONOCHROME": 1}),  # a parameter the layout cannot carry
    (FrameType.P, {"REFERENCE_DISTANCE": 256}),
    (FrameType.P, {"DISPLAY_INDEX": -1}),
])
def test_the_writer_refuses_what_the_layout_cannot_carry(frame_type, parameters):
    with pytest.raises(edgesdk.InvalidArgumentError):
        video_frame(frame_type, **parameters)


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(max_size=80), prefix=st.sampled_from([b"", bytes([1, 1, 0, 2]), bytes([1, 2, 1, 2])]))
def test_hostile_compact_bytes_raise_only_bitstream_errors(tail, prefix):
    data = b"EDGI" + prefix + tail
    forged = data + edgesdk._core.crc32c(data).to_bytes(4, "little")  # a valid CRC lets anything through
    for candidate in (data, forged):
        try:
            parse_video_frame(candidate, latent_channels=4)
        except edgesdk.BitstreamError:
            pass


def test_latent_prediction_is_a_flag_of_compact_p_frames():
    compact, full = (video_frame(compact=c, LATENT_PREDICTION=1) for c in (True, False))
    assert compact[6] == 0b11 and Frame.parse(compact).parameters == Frame.parse(full).parameters
    assert parse_video_frame(compact, latent_channels=4)[1].latent_prediction
    with pytest.raises(edgesdk.InvalidArgumentError):
        video_frame(FrameType.B, LATENT_PREDICTION=1)
    damaged = bytearray(video_frame(FrameType.B))
    damaged[6] |= 2  # the flag on a B frame
    damaged[-4:] = edgesdk._core.crc32c(bytes(damaged[:-4])).to_bytes(4, "little")
    with pytest.raises(edgesdk.CorruptedError, match="flag"):
        Frame.parse(bytes(damaged))
