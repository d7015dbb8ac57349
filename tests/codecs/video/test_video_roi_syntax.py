"""Region of interest on inter frames (docs/roi.md, ``RESIDUAL_ROI``): the section's syntax
against hostile bytes, its exact steps, the shifted residual tables, and its place (instead of
``LATENT``) in full and compact inter frames.
No model involved (the shipped model's tests: test_video_roi.py)."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgesdk
from edgesdk.bitstream.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.codecs.image.roi import QuantMap
from edgesdk.codecs.video import residual
from edgesdk.codecs.video.roi import decode_region, encode_region, residual_region, residual_shifts, residual_steps
from edgesdk.codecs.video.syntax import latent_sum, parse_video_frame


def region_of(codes, levels, shifts=None):
    return QuantMap(tuple(codes), tuple(shifts or [0] * len(codes)), np.asarray(levels, np.uint8))


def test_section_round_trips_scales_shifts_and_map():
    levels = np.random.default_rng(2).integers(0, 3, (6, 5)).astype(np.uint8)
    region, stream = decode_region(encode_region(region_of((8, 32, 1024), levels, (4, -4, -63)), b"r"), (6, 5))
    assert (region.step_codes, region.shifts, bytes(stream)) == ((8, 32, 1024), (4, -4, -63), b"r")
    np.testing.assert_array_equal(region.levels, levels)
    np.testing.assert_array_equal(residual_shifts(region), np.array([4, -4, -63])[levels])


def test_steps_are_the_frame_step_times_each_cells_scale_exactly():
    region = region_of((8, 32), [[0, 1], [1, 1]])
    np.testing.assert_array_equal(residual_steps(1.5, region), [[0.75, 3.0], [3.0, 3.0]])  # 1.5 · (0.5, 2)
    assert residual_steps(1.5, None) == 1.5 and residual_shifts(None) is None
    # The largest codes (step 64 · scale 64) stay exact in float32: ŷ is the same everywhere.
    big = region_of((1023,), [[0]])
    assert float(np.float32(residual_steps(1023 / 16, big)[0, 0])) == 1023 * 1023 / 256
    y_hat = latent_sum(np.zeros((2, 2, 2), np.float32), np.ones((2, 2, 2), np.int32), residual_steps(1.5, region))
    np.testing.assert_array_equal(y_hat[1], [[0.75, 3.0], [3.0, 3.0]])


def test_shifted_residual_tables_round_trip_and_save_bits():
    rng = np.random.default_rng(4)
    shifts = np.where(np.arange(8)[None, :] < 3, 4, -4).repeat(6, 0).astype(np.int32)  # fine left, coarse right
    r = np.rint(rng.normal(0, 1, (16, 6, 8)) * np.where(shifts > 0, 8.0, 0.3)[None]).astype(np.int32)
    for tiles in ((0,), (0, 2)):
        model, stream = residual.encode_residual(r, tiles, shifts)
        np.testing.assert_array_equal(residual.decode_residual(model, stream, r.shape, shifts), r)
        plain = residual.encode_residual(r, tiles)
        assert len(model) + len(stream) < sum(map(len, plain))
    try:  # the shifts are part of the parse: other shifts misparse or run out of bytes
        wrong = residual.decode_residual(model, stream, r.shape, -shifts)
    except edgesdk.BitstreamError:
        wrong = None
    assert wrong is None or not np.array_equal(wrong, r)


def test_a_region_becomes_two_levels_and_an_empty_one_none():
    region = residual_region([(0, 0, 20, 10)], (0.5, 2.0), 64, 64, (4, 4))
    assert (region.step_codes, region.shifts) == ((8, 32), (4, -4))  # inter tables: scales 1.18^k
    np.testing.assert_array_equal(region.levels[:, :2], [[0, 0], [1, 1], [1, 1], [1, 1]])
    assert residual_region(None, (0.5, 2.0), 64, 64, (4, 4)) is None
    assert residual_region([], (0.5, 2.0), 64, 64, (4, 4)) is None
    assert residual_region([(100, 100, 5, 5)], (0.5, 2.0), 64, 64, (4, 4)) is None  # outside the picture
    with pytest.raises(edgesdk.InvalidArgumentError):
        residual_region([(0, 0, 8, 8)], (0.0, 2.0), 64, 64, (4, 4))
    with pytest.raises(edgesdk.InvalidArgumentError):
        encode_region(region_of((16,) * 9, [[0]]), b"")


@pytest.mark.parametrize("payload, error", [
    (b"", edgesdk.TruncatedError),
    (b"\x00", edgesdk.CorruptedError),  # no levels
    (b"\x09", edgesdk.CorruptedError),  # more than 8
    (b"\x02\x10\x00\x00", edgesdk.TruncatedError),  # level table cut
    (b"\x01\x00\x00\x00\x00" + struct.pack("<I", 0), edgesdk.CorruptedError),  # scale code 0
    (b"\x01" + struct.pack("<Hb", 1025, 0) + b"\x00" + struct.pack("<I", 0), edgesdk.CorruptedError),
    (b"\x01" + struct.pack("<Hb", 16, -64) + b"\x00" + struct.pack("<I", 0), edgesdk.CorruptedError),  # shift
    (b"\x01\x10\x00\x00", edgesdk.TruncatedError),  # map header missing
    (b"\x01\x10\x00\x00\x30" + struct.pack("<I", 0), edgesdk.CorruptedError),  # table 48
    (b"\x01\x10\x00\x00\x00" + struct.pack("<I", 0xFFFFFFFF), edgesdk.TruncatedError),
])
def test_hostile_sections_raise_typed_errors_without_allocating(payload, error):
    tracemalloc.start()
    try:
        with pytest.raises(error):
            decode_region(payload, (4, 4))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_levels_beyond_the_count_are_refused():
    payload = encode_region(region_of((8, 16, 32), np.full((2, 2), 2)), b"")
    two_levels = bytes([2]) + payload[1:7] + payload[10:]  # the same map, one level fewer declared
    with pytest.raises(edgesdk.CorruptedError, match="levels outside"):
        decode_region(two_levels, (2, 2))


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=96), height=st.integers(1, 12), width=st.integers(1, 12))
def test_arbitrary_section_bytes_raise_only_edgesdk_errors(data, height, width):
    try:
        region, _ = decode_region(data, (height, width))
    except edgesdk.BitstreamError:
        return
    assert region.levels.shape == (height, width) and region.levels.max() < len(region.step_codes)


# ------------------------------------------------------------------- in a frame


def inter_frame(region: QuantMap | None, compact: bool, copy_blocks: bool = False) -> bytes:
    model, stream = residual.encode_residual(np.ones((4, 4, 4), np.int32), shifts=residual_shifts(region))
    latent = Section(SectionKind.LATENT, stream) if region is None else \
        Section(SectionKind.RESIDUAL_ROI, encode_region(region, stream))
    sections = [Section(SectionKind.RESIDUAL_MODEL, model), latent]
    if copy_blocks:
        from edgesdk.codecs.video.motion import encode_copy_blocks

        sections.append(Section(SectionKind.COPY_BLOCKS, encode_copy_blocks(np.eye(4, dtype=bool))))
    parameters = {Parameter.DISPLAY_INDEX: 5, Parameter.GOP_INDEX: 5, Parameter.REFERENCE_DISTANCE: 1,
                  Parameter.RESIDUAL_STEP: 16}
    return Frame(width=64, height=64, frame_type=FrameType.P, parameters=parameters, sections=sections,
                 compact=compact).to_bytes()


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("copy_blocks", [False, True])
def test_inter_frames_parse_their_region_in_either_layout(compact, copy_blocks):
    levels = np.zeros((4, 4), np.uint8)
    levels[1:3, 1:3] = 1
    data = inter_frame(region_of((8, 32), levels, (4, -4)), compact, copy_blocks)
    frame, syntax = parse_video_frame(data, 4)
    assert frame.compact == compact and (syntax.copy_blocks is not None) == copy_blocks
    assert (syntax.region.step_codes, syntax.region.shifts) == ((8, 32), (4, -4))
    np.testing.assert_array_equal(syntax.residual, np.ones((4, 4, 4)))
    np.testing.assert_array_equal(syntax.residual_steps, np.where(levels == 1, 2.0, 0.5))
    plain = parse_video_frame(inter_frame(None, compact, copy_blocks), 4)[1]
    assert plain.region is None and plain.residual_steps == 1.0
    if compact:  # flag bit 2; the frame without a region is the layout it always was
        assert data[6] == (4 | copy_blocks) and inter_frame(None, True, copy_blocks)[6] == int(copy_blocks)


def test_a_frame_with_both_residual_sections_is_refused_by_writer_and_parser():
    model, stream = residual.encode_residual(np.zeros((4, 4, 4), np.int32))
    sections = [Section(SectionKind.RESIDUAL_MODEL, model), Section(SectionKind.LATENT, stream),
                Section(SectionKind.RESIDUAL_ROI, encode_region(region_of((8,), np.zeros((4, 4))), stream))]
    parameters = {Parameter.DISPLAY_INDEX: 5, Parameter.GOP_INDEX: 5, Parameter.REFERENCE_DISTANCE: 1,
                  Parameter.RESIDUAL_STEP: 16}
    both = Frame(width=64, height=64, frame_type=FrameType.P, parameters=parameters, sections=sections)
    with pytest.raises(edgesdk.InvalidArgumentError):
        Frame(**{**both.__dict__, "compact": True}).to_bytes()
    with pytest.raises(edgesdk.CorruptedError, match="both"):
        parse_video_frame(both.to_bytes(), 4)


def test_a_decoder_without_region_support_finds_no_latent_and_refuses():
    frame = Frame.parse(inter_frame(region_of((8, 32), np.eye(4), (4, -4)), False))
    assert frame.section(SectionKind.LATENT) is None  # the residual moved into RESIDUAL_ROI
    without = Frame(width=64, height=64, frame_type=FrameType.P, parameters=frame.parameters,
                    sections=[s for s in frame.sections if s.kind != SectionKind.RESIDUAL_ROI])
    with pytest.raises(edgesdk.CorruptedError, match="LATENT"):
        parse_video_frame(without.to_bytes(), 4)


def test_damaged_region_sections_in_a_frame_raise_only_bitstream_errors():
    frame = Frame.parse(inter_frame(region_of((8, 32), np.eye(4), (4, -4)), False))
    payload = bytes(frame.section(SectionKind.RESIDUAL_ROI).data)
    rng = np.random.default_rng(5)
    for trial in range(100):
        damaged = bytearray(payload)
        if trial % 2:
            damaged = damaged[: rng.integers(0, len(damaged))]
        else:
            for at in rng.integers(0, len(damaged), 2):
                damaged[at] ^= int(rng.integers(1, 256))
        forged = Frame(width=64, height=64, frame_type=FrameType.P, parameters=frame.parameters,
                       sections=[*frame.sections[:-1], Section(SectionKind.RESIDUAL_ROI, bytes(damaged))])
        try:  # a valid CRC: the section's own checks must hold
            _, syntax = parse_video_frame(forged.to_bytes(), 4)
        except edgesdk.BitstreamError:
            continue
        assert syntax.region.levels.shape == (4, 4)


@pytest.mark.parametrize("compact", [False, True])
def test_the_clean_room_reference_parses_the_same_integers(compact):
    """tests/spec_reference, written from docs/roi.md and docs/bitstream.md without edgesdk,
    reads the same region and residual."""
    from tests.spec_reference import codec as ref_codec
    from tests.spec_reference import container as ref_container

    levels = np.zeros((4, 4), np.uint8)
    levels[:, 2:] = 1
    data = inter_frame(region_of((8, 32), levels, (4, -4)), compact, copy_blocks=True)
    _, syntax = parse_video_frame(data, 4)
    rows, offsets, _ = ref_codec.inter_tables()
    reference = ref_codec.inter_frame(ref_container.parse_frame(data), 4, (rows, offsets))
    np.testing.assert_array_equal(reference["residual"], syntax.residual)
    np.testing.assert_array_equal(reference["region_map"], syntax.region.levels)
    np.testing.assert_array_equal(reference["region_step_sixteenths"], syntax.region.step_codes)
