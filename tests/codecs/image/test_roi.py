"""Region-of-interest coding (docs/roi.md): the ROI_LATENT section's syntax against hostile
bytes, and with the shipped model on ONNX Runtime: finer inside, coarser outside, streams
without a region unchanged, video keyframes."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgesdk
from edgesdk.bitstream.container import Frame, Section, SectionKind
from edgesdk.codecs.image import roi
from edgesdk.eval.metrics import psnr

BOX = (64, 48, 128, 96)  # x, y, w, h: the middle of the 192x256 crop


@pytest.fixture(scope="module")
def photo(crop):
    return crop


def inside(box=BOX, shape=(192, 256)):
    mask = np.zeros(shape, bool)
    x, y, w, h = box
    mask[y:y + h, x:x + w] = True
    return mask



# ------------------------------------------------------------------------- syntax


def test_section_round_trips_levels_map_and_stream():
    rng = np.random.default_rng(1)
    levels = rng.integers(0, 3, (5, 7)).astype(np.uint8)
    qmap = roi.QuantMap((8, 16, 40), (5, 0, -7), levels)
    payload = roi.encode_section(qmap, b"latent-bytes")
    decoded, rest = roi.decode_section(payload, (5, 7))
    assert (decoded.step_codes, decoded.shifts) == ((8, 16, 40), (5, 0, -7))
    np.testing.assert_array_equal(decoded.levels, levels)
    assert bytes(rest) == b"latent-bytes"
    np.testing.assert_array_equal(decoded.steps()[0, :3], np.array([8, 16, 40])[levels[0, :3]] / 16)


def test_index_shift_clips_to_the_tables():
    qmap = roi.QuantMap((8, 32), (63, -63), np.array([[0, 1]], np.uint8))
    shifted = qmap.indexes(np.array([[[10, 10]], [[0, 63]]], np.int32), 64)
    np.testing.assert_array_equal(shifted, [[[63, 0]], [[63, 0]]])


@pytest.mark.parametrize("payload, error", [
    (b"", edgesdk.TruncatedError),
    (b"\x00", edgesdk.CorruptedError),  # no levels
    (b"\x09", edgesdk.CorruptedError),  # more than 8
    (b"\x01\x10\x00", edgesdk.TruncatedError),  # level table cut
    (b"\x01\x00\x00\x00\x00" + struct.pack("<I", 0), edgesdk.CorruptedError),  # step code 0
    (b"\x01" + struct.pack("<Hb", 1025, 0) + b"\x00" + struct.pack("<I", 0), edgesdk.CorruptedError),
    (b"\x01" + struct.pack("<Hb", 16, 64) + b"\x00" + struct.pack("<I", 0), edgesdk.CorruptedError),  # shift
    (b"\x01" + struct.pack("<Hb", 16, 0) + b"\x30" + struct.pack("<I", 0), edgesdk.CorruptedError),  # table 48
    (b"\x01" + struct.pack("<Hb", 16, 0) + b"\x00" + struct.pack("<I", 0xFFFFFFFF), edgesdk.TruncatedError),
])
def test_hostile_sections_raise_typed_errors_without_allocating(payload, error):
    tracemalloc.start()
    try:
        with pytest.raises(error):
            roi.decode_section(payload, (4, 4))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_a_level_beyond_the_declared_count_is_refused():
    payload = roi.encode_section(roi.QuantMap((8, 16, 32), (0, 0, 0), np.full((2, 2), 2, np.uint8)), b"")
    two_levels = bytes([2]) + payload[1:7] + payload[10:]  # the same map, one level fewer declared
    with pytest.raises(edgesdk.CorruptedError, match="levels outside"):
        roi.decode_section(two_levels, (2, 2))


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=96), height=st.integers(1, 12), width=st.integers(1, 12))
def test_arbitrary_section_bytes_raise_only_edgesdk_errors(data, height, width):
    try:
        qmap, _ = roi.decode_section(data, (height, width))
    except edgesdk.BitstreamError:
        return
    assert qmap.levels.shape == (height, width) and qmap.levels.max() < len(qmap.step_codes)


@pytest.mark.parametrize("region, error", [
    ("faces", edgesdk.InvalidArgumentError), ([(0, 0, 0, 5)], edgesdk.InvalidArgumentError),
    ([(1, 2, 3)], edgesdk.InvalidArgumentError), (np.zeros((3, 3), bool), edgesdk.InvalidArgumentError),
])
def test_bad_regions_are_one_line_errors(region, error):
    with pytest.raises(error):
        roi.region_mask(region, 4, 4)
    with pytest.raises(edgesdk.InvalidArgumentError):
        roi.step_code(0.0)


# ------------------------------------------------------------------ shipped model


@pytest.mark.parametrize("model, gain", [("lite", 1.0), ("wavelet", -0.5)])
def test_region_is_finer_inside_and_coarser_outside(codec, lite_codec, photo, model, gain):
    # Known limit (docs/roi.md): the step-16,589 wavelet default gains nothing inside from a
    # step below 1 (−0.25 dB on this crop; it was +0.9 at step 9,670): its generator only ever
    # saw integer latents in training. So for it only "not much worse inside, coarser outside".
    codec = lite_codec if model == "lite" else codec
    uniform = codec.decode(codec.encode(photo))
    data = codec.encode(photo, roi=[BOX], roi_steps=(0.5, 2.0))
    frame = Frame.parse(data)
    assert [s.kind for s in frame.sections] == [SectionKind.HYPER_LATENT, SectionKind.ROI_LATENT]
    decoded = codec.decode(data)
    mask = inside()
    assert psnr(photo, decoded, where=mask) > psnr(photo, uniform, where=mask) + gain
    assert psnr(photo, decoded, where=~mask) < psnr(photo, uniform, where=~mask) - 0.5
    same = codec.encode(photo, roi=inside(), roi_steps=(0.5, 2.0))  # a mask covering the same cells
    assert same == data


def test_no_region_or_an_empty_one_codes_the_frame_as_before(codec, photo):
    plain = codec.encode(photo)
    assert codec.encode(photo, roi=[]) == plain
    assert codec.encode(photo, roi=np.zeros(photo.shape[:2], bool)) == plain
    assert SectionKind.ROI_LATENT not in [s.kind for s in Frame.parse(plain).sections]


def test_one_level_everywhere_is_a_quantizer_step(codec, photo):
    everywhere = np.ones(photo.shape[:2], bool)
    fine = codec.encode(photo, roi=everywhere, roi_steps=(0.5, 2.0))
    coarse = codec.encode(photo, roi=everywhere, roi_steps=(2.0, 2.0))
    assert len(coarse) < len(codec.encode(photo)) < len(fine)
    assert psnr(codec.decode(fine), photo) > psnr(codec.decode(coarse), photo) + 2


def test_a_frame_with_both_latent_sections_is_refused(codec, photo):
    frame = Frame.parse(codec.encode(photo, roi=[BOX]))
    plain = Frame.parse(codec.encode(photo))
    both = Frame(width=frame.width, height=frame.height, quality=frame.quality, model_id=frame.model_id,
                 parameters=frame.parameters,
                 sections=[*frame.sections, Section(SectionKind.LATENT, bytes(plain.section(SectionKind.LATENT).data))])
    with pytest.raises(edgesdk.CorruptedError, match="both"):
        codec.decode(both.to_bytes())


def test_damaged_roi_sections_in_a_frame_raise_only_bitstream_errors(codec, photo):
    frame = Frame.parse(codec.encode(photo, roi=[BOX]))
    payload = bytes(frame.section(SectionKind.ROI_LATENT).data)
    rng = np.random.default_rng(3)
    for trial in range(40):
        damaged = bytearray(payload)
        if trial % 2:
            damaged = damaged[: rng.integers(0, len(damaged))]
        else:
            for at in rng.integers(0, 12, 2):  # the level table and the map, where parsing decides
                damaged[at] ^= int(rng.integers(1, 256))
        forged = Frame(width=frame.width, height=frame.height, quality=frame.quality, model_id=frame.model_id,
                       parameters=frame.parameters,
                       sections=[frame.sections[0], Section(SectionKind.ROI_LATENT, bytes(damaged))])
        try:
            codec.decode(forged.to_bytes())  # a valid CRC: the section's own checks must hold
        except edgesdk.BitstreamError:
            pass


def test_video_frames_carry_the_region(codec, photo):
    from edgesdk.codecs.video import VideoDecoder, VideoEncoder

    frames = [photo, np.roll(photo, 2, axis=1), np.roll(photo, 4, axis=1)]
    calls = []

    def region(image):
        calls.append(image.shape)
        return [BOX]

    encoder = VideoEncoder(codec.codec(), keyframe_interval=2, b_frames=0, roi=region)
    for frame in frames:
        encoder.push(frame)
    encoder.flush()
    packets = encoder.pull()
    kinds = [[s.kind for s in Frame.parse(p.payload).sections] for p in packets[:-1]]
    assert len(calls) == 3  # once per frame: keyframes (display 0 and 2) and the P frame between
    assert SectionKind.ROI_LATENT in kinds[0] and SectionKind.ROI_LATENT in kinds[2]
    assert SectionKind.ROI_LATENT not in kinds[1] and SectionKind.RESIDUAL_ROI in kinds[1]  # docs/roi.md
    decoder = VideoDecoder(codec.codec())
    for packet in packets:
        decoder.push(packet)
    decoder.flush()
    decoded = decoder.pull()
    assert [d.display_index for d in decoded] == [0, 1, 2]
    assert psnr(decoded[0].image, photo) > 20
