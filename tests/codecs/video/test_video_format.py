"""Video bitstream pieces without any transform: residual and motion coding, exact motion
compensation, frame syntax limits against hostile headers, import hygiene."""

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgesdk
from edgesdk.codecs.video import residual
from edgesdk.bitstream.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.codecs.video.motion import (
    Interpolation,
    Motion,
    compensate,
    decode_copy_blocks,
    decode_motion,
    encode_copy_blocks,
    encode_motion,
    estimate_motion,
    interpolate,
)
from edgesdk.codecs.video import Limits, parse_video_frame


def laplacian_residual(rng, shape=(16, 8, 12), active=6):
    """Integers like a latent residual: most channels zero, some with a Laplacian spread."""
    r = np.zeros(shape, dtype=np.int32)
    for c in rng.choice(shape[0], active, replace=False):
        r[c] = np.rint(rng.laplace(0, rng.uniform(0.3, 4), shape[1:]))
    r[:, :4, :4] *= 3  # a "moving" corner: larger residual in every channel
    return r


# ------------------------------------------------------------------- residual coding


def test_inter_tables_are_the_pinned_integers():
    tables = residual.inter_tables()
    assert tables.num_tables == residual.NUM_TABLES
    assert residual.tables_digest(tables) == residual.INTER_TABLES_SHA256
    scales = residual.inter_scales()
    assert np.all(np.diff(scales) > 0) and scales[0] == 3277 / 65536  # exact dyadic values


@pytest.mark.parametrize("seed", range(4))
def test_residual_round_trip_and_smallest_layout_is_kept(seed):
    rng = np.random.default_rng(seed)
    r = laplacian_residual(rng)
    model, stream = residual.encode_residual(r)
    np.testing.assert_array_equal(residual.decode_residual(model, stream, r.shape), r)
    sizes = {t: sum(map(len, residual.encode_residual(r, (t,)))) for t in residual.TILE_SIZES}
    assert len(model) + len(stream) == min(sizes.values()), sizes


def test_residual_side_information_is_small_for_an_all_zero_residual():
    r = np.zeros((128, 20, 24), dtype=np.int32)
    model, stream = residual.encode_residual(r)
    assert len(model) + len(stream) < 60
    np.testing.assert_array_equal(residual.decode_residual(model, stream, r.shape), r)


def test_damaged_residual_sections_raise_typed_errors():
    rng = np.random.default_rng(5)
    r = laplacian_residual(rng)
    model, stream = residual.encode_residual(r)
    with pytest.raises(edgesdk.TruncatedError):
        residual.decode_residual(model[:2], stream, r.shape)
    bad_table = bytearray(model)
    bad_table[2] = residual.NUM_TABLES
    with pytest.raises(edgesdk.CorruptedError):
        residual.decode_residual(bytes(bad_table), stream, r.shape)
    with pytest.raises(edgesdk.BitstreamError):
        residual.decode_residual(model, stream[:-3], r.shape)
    with pytest.raises(edgesdk.BitstreamError):  # the stream of another shape
        residual.decode_residual(model, stream, (r.shape[0], r.shape[1] + 4, r.shape[2]))


def test_a_residual_without_its_copied_cells_round_trips_smaller_and_needs_the_copy_map():
    rng = np.random.default_rng(7)
    r = laplacian_residual(rng)
    copied = np.zeros(r.shape[1:], bool)
    copied[4:, 6:] = True
    r[:, copied] = 0
    plain = residual.encode_residual(r)
    model, stream = residual.encode_residual(r, copied=copied)
    assert model[0] & residual.SKIPS_COPIED and not plain[0][0] & residual.SKIPS_COPIED
    assert len(model) + len(stream) < sum(map(len, plain))
    np.testing.assert_array_equal(residual.decode_residual(model, stream, r.shape, copied=copied), r)
    with pytest.raises(edgesdk.CorruptedError, match="COPY_BLOCKS"):
        residual.decode_residual(model, stream, r.shape)
    with pytest.raises(edgesdk.BitstreamError):  # another copy map: the stream's length disagrees
        residual.decode_residual(model, stream, r.shape, copied=np.zeros_like(copied))
    everything = np.ones_like(copied)  # every cell copied: an empty stream
    model, stream = residual.encode_residual(np.zeros_like(r), copied=everything)
    np.testing.assert_array_equal(residual.decode_residual(model, stream, r.shape, copied=everything), 0)
    shifts = np.ones(copied.shape, np.int32)  # with a region's table shifts, too
    model, stream = residual.encode_residual(np.zeros_like(r), shifts=shifts, copied=everything)
    assert not residual.decode_residual(model, stream, r.shape, shifts, everything).any()
    r[0, 5, 7] = 1  # a copied cell that carries a residual is the caller's error
    with pytest.raises(edgesdk.InvalidArgumentError, match="copied cells"):
        residual.encode_residual(r, copied=copied)


def test_inter_frames_skipping_copied_cells_parse_only_with_their_copy_blocks():
    mask = np.zeros((4, 4), bool)
    mask[:2] = True
    r = np.zeros((4, 4, 4), np.int32)
    r[1, 3, 2] = 5
    model, stream = residual.encode_residual(r, copied=mask)
    parameters = {Parameter.DISPLAY_INDEX: 5, Parameter.GOP_INDEX: 5, Parameter.REFERENCE_DISTANCE: 1,
                  Parameter.RESIDUAL_STEP: 16}
    sections = [Section(SectionKind.RESIDUAL_MODEL, model), Section(SectionKind.LATENT, stream)]
    frame = Frame(width=64, height=64, frame_type=FrameType.P, parameters=parameters,
                  sections=[*sections, Section(SectionKind.COPY_BLOCKS, encode_copy_blocks(mask))])
    syntax = parse_video_frame(frame.to_bytes(), 4)[1]
    np.testing.assert_array_equal(syntax.residual, r)
    np.testing.assert_array_equal(syntax.copy_blocks, mask)
    without = Frame(width=64, height=64, frame_type=FrameType.P, parameters=parameters, sections=sections)
    with pytest.raises(edgesdk.CorruptedError, match="COPY_BLOCKS"):
        parse_video_frame(without.to_bytes(), 4)


# ------------------------------------------------------------------------- motion


def reference_compensate(reference, vectors, block_size, bits):
    """Per-pixel transcription of the documented bilinear rule (docs/video.md)."""
    height, width = reference.shape[:2]
    s = 1 << bits
    out = np.zeros_like(reference)
    for y in range(height):
        for x in range(width):
            dy, dx = (int(v) for v in vectors[y // block_size, x // block_size])
            py, px = y * s + dy, x * s + dx
            iy, ix, fy, fx = py // s, px // s, py % s, px % s

            def at(r, c):
                return reference[min(max(r, 0), height - 1), min(max(c, 0), width - 1)].astype(np.int64)

            total = ((s - fy) * (s - fx) * at(iy, ix) + (s - fy) * fx * at(iy, ix + 1)
                     + fy * (s - fx) * at(iy + 1, ix) + fy * fx * at(iy + 1, ix + 1))
            out[y, x] = (total + (s * s // 2)) // (s * s)
    return out


@pytest.mark.parametrize("bits", [0, 1, 2])
def test_compensation_is_the_documented_integer_rule(bits):
    rng = np.random.default_rng(bits)
    reference = rng.integers(0, 256, (21, 26, 3), dtype=np.uint8)
    vectors = rng.integers(-40, 41, (3, 4, 2)).astype(np.int32)  # some point outside the frame
    np.testing.assert_array_equal(compensate(reference, vectors, 8, bits), reference_compensate(reference, vectors, 8, bits))


def test_interpolations_combine_references_exactly():
    rng = np.random.default_rng(1)
    past, future = (rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(2))
    zero = np.zeros((2, 2, 2), np.int32)
    blend = interpolate(Motion(Interpolation.BLEND), past, future, 1, 2)
    np.testing.assert_array_equal(blend, (2 * past.astype(int) + future + 1) // 3)
    mean = interpolate(Motion(Interpolation.BIDIRECTIONAL, 3, 0, zero, zero), past, future, 1, 1)
    np.testing.assert_array_equal(mean, (past.astype(int) + future + 1) >> 1)
    np.testing.assert_array_equal(interpolate(Motion(Interpolation.BACKWARD, 3, 0, None, zero), past, future, 1, 1), future)


def test_estimation_finds_a_global_shift_and_vectors_round_trip():
    rng = np.random.default_rng(2)
    texture = rng.integers(0, 256, (96, 112)).astype(np.int32)
    smooth = (texture + np.roll(texture, 1, 0) + np.roll(texture, 1, 1) + np.roll(texture, 1, (0, 1))) // 4
    target = np.roll(smooth, (3, -2), axis=(0, 1))  # target(y, x) = reference(y - 3, x + 2)
    vectors = estimate_motion(target, smooth, block_size=16, search_range=6, fraction_bits=1)
    inner = vectors[1:-1, 1:-1]  # away from the wrapped border
    assert np.all(inner == np.array([-3 * 2, 2 * 2])), inner
    motion = Motion(Interpolation.BIDIRECTIONAL, 4, 1, vectors, -vectors)
    decoded = decode_motion(encode_motion(motion), 96, 112)
    assert decoded.mode == motion.mode and decoded.block_log2 == 4 and decoded.fraction_bits == 1
    np.testing.assert_array_equal(decoded.past, vectors)
    np.testing.assert_array_equal(decoded.future, -vectors)
    assert decode_motion(encode_motion(Motion(Interpolation.BLEND)), 96, 112).past is None


def test_damaged_motion_sections_raise_typed_errors():
    vectors = np.zeros((6, 7, 2), np.int32)
    data = encode_motion(Motion(Interpolation.FORWARD, 4, 1, vectors))
    with pytest.raises(edgesdk.TruncatedError):
        decode_motion(data[:2], 96, 112)
    for offset, value in ((0, 9), (1, 9), (2, 3), (3, 200)):  # mode, block size, precision, table
        bad = bytearray(data)
        bad[offset] = value
        with pytest.raises(edgesdk.CorruptedError):
            decode_motion(bytes(bad), 96, 112)
    huge = encode_motion(Motion(Interpolation.FORWARD, 4, 0, np.full((6, 7, 2), 5000, np.int32)))
    with pytest.raises(edgesdk.CorruptedError, match="beyond"):
        decode_motion(huge, 96, 112)
    with pytest.raises(edgesdk.CorruptedError):
        decode_motion(encode_motion(Motion(Interpolation.BLEND)) + b"\0", 96, 112)


@pytest.mark.parametrize("seed", range(4))
def test_copy_blocks_round_trip(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 30, 2))
    for mask in (rng.random(shape) < rng.random(), np.zeros(shape, bool), np.ones(shape, bool)):
        np.testing.assert_array_equal(decode_copy_blocks(encode_copy_blocks(mask), shape), mask)
    static = np.zeros((20, 24), bool)
    static[5:12, 8:16] = True  # one moving region: the differenced mask is nearly all zeros
    assert len(encode_copy_blocks(static)) < 20 * 24 // 8 - 20  # well under a plain bitmap


def test_damaged_copy_blocks_sections_raise_typed_errors():
    data = encode_copy_blocks(np.eye(6, dtype=bool))
    with pytest.raises(edgesdk.TruncatedError):
        decode_copy_blocks(b"", (6, 6))
    with pytest.raises(edgesdk.CorruptedError, match="table"):
        decode_copy_blocks(bytes([residual.NUM_TABLES]) + data[1:], (6, 6))
    with pytest.raises(edgesdk.BitstreamError):
        decode_copy_blocks(data[:-1], (6, 6))
    # Differences that sum to 2: a well-formed stream of a mask that is not 0/1.
    values = np.array([[[1, 1]]], dtype=np.int64)
    table = residual.best_table(values)
    forged = bytes([table]) + residual.inter_tables().encode(values, np.full(values.shape, table, np.int32))
    with pytest.raises(edgesdk.CorruptedError, match="0 and 1"):
        decode_copy_blocks(forged, (1, 2))


def test_inter_frames_parse_their_copy_blocks():
    mask = np.zeros((4, 4), bool)
    mask[1:3, 2] = True
    frame = Frame.parse(inter_frame())
    with_copy = Frame(width=64, height=64, frame_type=FrameType.P, parameters=frame.parameters,
                      sections=[*frame.sections, Section(SectionKind.COPY_BLOCKS, encode_copy_blocks(mask))])
    np.testing.assert_array_equal(parse_video_frame(with_copy.to_bytes(), 4)[1].copy_blocks, mask)
    assert parse_video_frame(inter_frame(), 4)[1].copy_blocks is None


# -------------------------------------------------------------------- frame syntax


def inter_frame(frame_type=FrameType.P, width=64, height=64, channels=4, overrides=None):
    r = np.zeros((channels, 4, 4), np.int32)
    model, stream = residual.encode_residual(r)
    parameters = {Parameter.DISPLAY_INDEX: 5, Parameter.GOP_INDEX: 5, Parameter.REFERENCE_DISTANCE: 1,
                  Parameter.RESIDUAL_STEP: 16}
    sections = [Section(SectionKind.RESIDUAL_MODEL, model), Section(SectionKind.LATENT, stream)]
    if frame_type == FrameType.B:
        parameters[Parameter.FORWARD_REFERENCE_DISTANCE] = 1
        sections.insert(0, Section(SectionKind.MOTION, encode_motion(Motion(Interpolation.BLEND))))
    parameters.update(overrides or {})
    parameters = {k: v for k, v in parameters.items() if v is not None}
    return Frame(width=width, height=height, frame_type=frame_type, parameters=parameters, sections=sections).to_bytes()


def test_well_formed_inter_frames_parse():
    _, syntax = parse_video_frame(inter_frame(), latent_channels=4)
    assert (syntax.frame_type, syntax.display_index, syntax.past_distance, syntax.step) == (FrameType.P, 5, 1, 1.0)
    assert syntax.residual.shape == (4, 4, 4) and not syntax.residual.any()
    _, syntax = parse_video_frame(inter_frame(FrameType.B), latent_channels=4)
    assert syntax.motion.mode == Interpolation.BLEND and syntax.future_distance == 1


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (dict(width=65535, height=65535), edgesdk.LimitExceededError),  # refused before any allocation
        (dict(REFERENCE_DISTANCE=1000), edgesdk.LimitExceededError),
        (dict(REFERENCE_DISTANCE=0), edgesdk.LimitExceededError),
        (dict(REFERENCE_DISTANCE=6), edgesdk.MissingReferenceError),  # before its keyframe
        (dict(GOP_INDEX=5000, DISPLAY_INDEX=5000), edgesdk.LimitExceededError),
        (dict(RESIDUAL_STEP=0), edgesdk.LimitExceededError),
        (dict(RESIDUAL_STEP=1 << 20), edgesdk.LimitExceededError),
        (dict(DISPLAY_INDEX=-1), edgesdk.LimitExceededError),
        (dict(DISPLAY_INDEX=None), edgesdk.CorruptedError),  # not a video frame
        (dict(RESIDUAL_STEP=None), edgesdk.CorruptedError),
    ],
)
def test_hostile_headers_raise_typed_errors(overrides, error):
    size = {k: overrides.pop(k) for k in ("width", "height") if k in overrides}
    params = {Parameter[k]: v for k, v in overrides.items()}
    data = inter_frame(**size, overrides=params)
    tracemalloc.start()
    try:
        with pytest.raises(error):
            parse_video_frame(data, latent_channels=128)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak  # nothing sized by the hostile header was allocated


def test_b_frame_limits_and_sections():
    with pytest.raises(edgesdk.LimitExceededError):  # the two distances together
        parse_video_frame(inter_frame(FrameType.B, overrides={Parameter.GOP_INDEX: 5, Parameter.REFERENCE_DISTANCE: 5,
                                                              Parameter.FORWARD_REFERENCE_DISTANCE: 12}),
                          latent_channels=4, limits=Limits(max_reference_distance=16))
    no_motion = Frame.parse(inter_frame(FrameType.B))
    stripped = Frame(width=64, height=64, frame_type=FrameType.B, parameters=no_motion.parameters,
                     sections=[s for s in no_motion.sections if s.kind != SectionKind.MOTION]).to_bytes()
    with pytest.raises(edgesdk.CorruptedError, match="MOTION"):
        parse_video_frame(stripped, latent_channels=4)


def only_sections(frame_type, kinds):
    """A 64x64 inter frame of ``frame_type`` keeping only the sections of ``kinds`` (a copy map added)."""
    full = Frame.parse(inter_frame(frame_type if frame_type == FrameType.B else FrameType.B))
    copies = Section(SectionKind.COPY_BLOCKS, encode_copy_blocks(np.zeros((4, 4), bool)))
    parameters = {k: v for k, v in full.parameters.items()
                  if frame_type == FrameType.B or k != Parameter.FORWARD_REFERENCE_DISTANCE}
    return Frame(width=64, height=64, frame_type=frame_type, parameters=parameters,
                 sections=[s for s in [*full.sections, copies] if s.kind in kinds]).to_bytes()


def test_interpolation_only_b_frames_parse_and_partial_ones_are_refused():
    """MOTION alone: r = 0, every cell copied; MOTION with some residual sections, or a P frame
    with MOTION alone: CorruptedError (docs/video.md, "Interpolation-only B frames")."""
    _, syntax = parse_video_frame(only_sections(FrameType.B, {SectionKind.MOTION}), latent_channels=4)
    assert syntax.copy_blocks.all() and syntax.copy_blocks.shape == (4, 4)
    assert syntax.residual.shape == (4, 4, 4) and not syntax.residual.any() and syntax.motion is not None
    for frame_type, kinds in [(FrameType.B, {SectionKind.MOTION, SectionKind.COPY_BLOCKS}),
                              (FrameType.B, {SectionKind.MOTION, SectionKind.RESIDUAL_MODEL}),
                              (FrameType.B, {SectionKind.MOTION, SectionKind.LATENT}),
                              (FrameType.P, {SectionKind.MOTION})]:
        with pytest.raises(edgesdk.CorruptedError):
            parse_video_frame(only_sections(frame_type, kinds), latent_channels=4)


def moved_p_frame(mode=Interpolation.FORWARD, motion_bytes=None, compact=False, overrides=None):
    """A 64x64 P frame with a MOTION section (by default a forward field of 2x2 blocks of 32)."""
    base = Frame.parse(inter_frame(overrides=overrides))
    if motion_bytes is None:
        vectors = np.array([[[4, -2], [0, 0]], [[1, 3], [-8, 5]]], np.int32)
        motion_bytes = encode_motion(Motion(mode, 5, 2, vectors if mode.fields[0] else None,
                                            vectors if mode.fields[1] else None))
    return Frame(width=64, height=64, frame_type=FrameType.P, parameters=base.parameters,
                 sections=[Section(SectionKind.MOTION, motion_bytes), *base.sections], compact=compact).to_bytes()


def test_motion_compensated_p_frames_parse_and_other_modes_are_refused():
    """A P frame's MOTION is a forward field, in the full and the compact layout (flag bit 4);
    another mode, or motion with latent prediction, is CorruptedError (docs/video.md,
    "Motion-compensated P frames")."""
    for compact in (False, True):
        data = moved_p_frame(compact=compact)
        assert (data[:4] == b"EDGI") == compact and (data[6] == 16 if compact else True)
        _, syntax = parse_video_frame(data, latent_channels=4)
        assert syntax.motion.mode == Interpolation.FORWARD and syntax.motion.future is None
        np.testing.assert_array_equal(syntax.motion.past, [[[4, -2], [0, 0]], [[1, 3], [-8, 5]]])
    for mode in (Interpolation.BIDIRECTIONAL, Interpolation.BACKWARD, Interpolation.BLEND):
        with pytest.raises(edgesdk.CorruptedError, match="forward"):
            parse_video_frame(moved_p_frame(mode), latent_channels=4)
    with pytest.raises(edgesdk.CorruptedError, match="latent prediction"):
        parse_video_frame(moved_p_frame(overrides={Parameter.LATENT_PREDICTION: 1}), latent_channels=4)
    with pytest.raises(edgesdk.InvalidArgumentError):  # the compact writer has no layout for both
        moved_p_frame(compact=True, overrides={Parameter.LATENT_PREDICTION: 1})


def test_limits_are_configurable_and_checked():
    with pytest.raises(edgesdk.LimitExceededError):
        parse_video_frame(inter_frame(), latent_channels=4, limits=Limits(max_pixels=64 * 63))
    with pytest.raises(edgesdk.InvalidArgumentError):
        Limits(max_pixels=0)


def test_video_modules_import_without_optional_libraries():
    modules = ["codecs.video.residual", "codecs.video.motion", "codecs.video.encoder", "codecs.video.decoder",
               "codecs.video.elv", "eval.video_evaluation"]
    code = (
        f"import sys, edgesdk; [__import__('edgesdk.' + m) for m in {modules!r}];"
        "loaded = {'torch', 'tensorrt', 'onnxruntime', 'onnx', 'PIL', 'matplotlib', 'av'} & set(sys.modules);"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64), height=st.integers(1, 24), width=st.integers(1, 24))
def test_arbitrary_section_bytes_raise_only_edgesdk_errors(data, height, width):
    """Section decoders on hostile bytes (a forged CRC lets anything through the container)."""
    alone = Frame(width=width * 16, height=height * 16, frame_type=FrameType.B,
                  parameters=Frame.parse(inter_frame(FrameType.B)).parameters, sections=[Section(SectionKind.MOTION, data)])
    for decode in (lambda: decode_copy_blocks(data, (height, width)),
                   lambda: parse_video_frame(alone.to_bytes(), latent_channels=3),
                   lambda: parse_video_frame(moved_p_frame(motion_bytes=data), latent_channels=4),
                   lambda: decode_motion(data, height * 16, width * 16),
                   lambda: residual.decode_residual(data[:8], data[8:], (3, height, width)),
                   lambda: residual.decode_residual(data[:8], data[8:], (3, height, width),
                                                    copied=np.eye(height, width, dtype=bool))):
        try:
            decoded = decode()
        except edgesdk.BitstreamError:
            continue
        if isinstance(decoded, np.ndarray) and decoded.dtype == bool:
            assert decoded.shape == (height, width)
