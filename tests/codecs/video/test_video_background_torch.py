"""Fixed-environment coding end to end (docs/video.md, "Background"): GOPs that start from the
background decode to the encoder's reconstruction bit for bit, cost a fraction of a keyframe,
refresh on a scene change, parse identically on every backend, and a decoder that joins late
needs the background first."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import edgesdk  # noqa: E402
from edgesdk.bitstream.container import Frame, FrameType, Parameter  # noqa: E402
from edgesdk.codecs.video import VideoDecoder, VideoEncoder  # noqa: E402
from video_helpers import RecordingEncoder, assert_same_parse, through  # noqa: E402

pytestmark = pytest.mark.torch


def run(codec, frames, **options):
    encoder = RecordingEncoder(codec, **{"keyframe_interval": 3, "b_frames": 1, "background": True, "try_p_only": False,
                                          **options})
    return encoder, through(encoder, frames)


decoded = through


@pytest.fixture(scope="module")
def shipped():
    pytest.importorskip("onnxruntime")
    from edgesdk.codecs.image.codec import ImageCodec

    return ImageCodec("lite", quality=1, threads=1)


@pytest.fixture(scope="module")
def scene():
    """7 frames of 64x96: a still textured room with a small square moving, then (frame 6) the
    lights change."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:64, 0:96]
    room = np.stack([xx * 2.3, yy * 1.9, (xx + 3 * yy) * 0.7], axis=-1) % 200 + 20
    frames = []
    for t in range(7):
        frame = room.copy() + (40 if t == 6 else 0)
        frame[8 + t: 24 + t, 10 + 2 * t: 26 + 2 * t] = (230, 50, 40)
        frames.append(np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8))
    return frames


@pytest.fixture(scope="module", params=[False, True], ids=["picture-prediction", "latent-prediction"])
def stream(request, shipped, scene):
    """K0 P2 B1 | P3 (from the background) P5 B4 | K6, P and B frames in compact headers; P
    frames predicted from their reference's picture or (parameter 16) its latent."""
    return run(shipped, scene, compact_headers=True, latent_prediction=request.param)


def test_gops_start_from_the_background_and_decode_bit_for_bit(shipped, scene, stream):
    encoder, packets = stream
    kinds = [how.split(":")[0] for _, how in encoder.gop_starts]
    assert kinds == ["keyframe", "background", "keyframe"]  # frame 6: the lighting changed
    assert "scene change" in encoder.gop_starts[2][1]
    headers = [Frame.parse(p.payload) for p in packets[:-1]]
    starts = [h for h in headers if h.parameters[Parameter.GOP_INDEX] == 0]
    assert [(h.frame_type, h.parameters.get(Parameter.BACKGROUND_ID), h.parameters.get(Parameter.BACKGROUND_REFERENCE))
            for h in starts] == [(FrameType.KEY, 0, None), (FrameType.P, None, 0), (FrameType.KEY, 1, None)]
    sizes = [len(p.payload) for p in packets[:-1]]
    assert sizes[3] < sizes[0] / 4  # the GOP start from the background vs the background keyframe
    assert not packets[3].keyframe and packets[0].keyframe
    assert [h.compact for h in headers] == [False, True, True, False, True, True, False]
    latent = encoder.latent_prediction
    assert [h.parameters.get(Parameter.LATENT_PREDICTION) for h in headers] == \
        ([None, 1, None, 1, 1, None, None] if latent else [None] * 7)
    frames = decoded(VideoDecoder(shipped), packets)
    assert [f.display_index for f in frames] == list(range(len(scene)))
    for frame in frames:
        np.testing.assert_array_equal(frame.image, encoder.reconstructed[frame.display_index],
                                      err_msg=f"display {frame.display_index} ({frame.frame_type.name})")


def test_streams_without_the_option_are_unchanged(shipped, scene):
    _, plain = run(shipped, scene[:4], background=False)
    for packet in plain[:-1]:
        parameters = Frame.parse(packet.payload).parameters
        assert Parameter.BACKGROUND_ID not in parameters and Parameter.BACKGROUND_REFERENCE not in parameters


def test_compact_frames_decode_only_with_their_quality(shipped, stream):
    from edgesdk.codecs.image.codec import ImageCodec

    _, packets = stream
    with pytest.raises(edgesdk.CorruptedError, match="quality"):
        VideoDecoder(ImageCodec("lite", quality=2)).push_frame(packets[1].payload)
    with pytest.raises(edgesdk.MissingReferenceError):  # its quality, but no GOP whose start named the model
        VideoDecoder(shipped).push_frame(packets[1].payload)


def test_a_decoder_joining_late_needs_the_background(shipped, stream):
    encoder, packets = stream
    late = [p.payload for p in packets[3:6]]  # the GOP that starts from background 0
    with pytest.raises(edgesdk.MissingReferenceError, match="background 0"):
        VideoDecoder(shipped).push_frame(late[0])
    skipping = VideoDecoder(shipped, on_damage="skip")
    for payload in late:
        skipping.push_frame(payload)
    assert not skipping.pull() and skipping.stats.dropped_frames == 3
    joined = VideoDecoder(shipped)
    joined.push_background(packets[0].payload)  # e.g. from a store, or asked from the sender
    for payload in late:
        joined.push_frame(payload)
    joined.flush()
    frames = joined.pull()
    assert [f.display_index for f in frames] == [3, 4, 5]
    for frame in frames:
        np.testing.assert_array_equal(frame.image, encoder.reconstructed[frame.display_index])
    with pytest.raises(edgesdk.CorruptedError, match="BACKGROUND_ID"):
        joined.push_background(packets[1].payload)
    assert encoder.background is None  # the stream ended: the next one starts with its own background
    live = VideoEncoder(shipped, background=True)
    live.push(np.zeros((64, 64, 3), np.uint8))
    assert live.background == live.pull()[0].payload


def test_background_streams_parse_identically_on_every_backend(shipped, stream):
    from edgesdk.codecs.image.codec import ImageCodec
    from edgesdk.eval.metrics import psnr

    _, packets = stream
    reference = decoded(VideoDecoder(shipped), packets)
    for other in (ImageCodec("lite", quality=1, precision="fp16"), ImageCodec("lite", quality=1, backend="pytorch")):
        frames = decoded(VideoDecoder(other), packets)
        assert [f.display_index for f in frames] == [f.display_index for f in reference]
        for mine, theirs in zip(reference, frames):
            assert_same_parse(mine, theirs)
            assert psnr(mine.image, theirs.image) > 35


def test_the_realtime_preset_synthesises_once_and_decodes_bit_for_bit(shipped, scene):
    from edgesdk.codecs.video import preset_options

    encoder, packets = run(shipped, scene, **preset_options("realtime"))
    frames = decoded(VideoDecoder(shipped), packets)
    assert [f.frame_type for f in frames] == [FrameType.KEY] + [FrameType.P] * 5 + [FrameType.KEY]
    assert any(f.syntax.copy_blocks is not None for f in frames[1:])  # cells chosen without a second synthesis
    for frame in frames:
        np.testing.assert_array_equal(frame.image, encoder.reconstructed[frame.display_index])
    calls = []
    synthesize = shipped.synthesize
    shipped.synthesize = lambda *args: calls.append(1) or synthesize(*args)
    try:
        run(shipped, scene[:3], **preset_options("realtime"))
    finally:
        shipped.synthesize = synthesize
    assert len(calls) == 3  # the keyframe's and one per P frame


def test_the_buffered_realtime_preset_holds_three_frames_and_blends(shipped, scene):
    """realtime-buffered: one structure (P every fourth frame, three B frames between), never
    more than three frames held, B frames predicted by the blend of their references (no motion
    search), each sent as the blend alone or with a residual; bit for bit with the encoder."""
    from edgesdk.codecs.video import preset_options
    from edgesdk.codecs.video.motion import Interpolation, interpolate

    encoder = RecordingEncoder(shipped, keyframe_interval=16, **preset_options("realtime-buffered"))
    packets, held = [], []
    for frame in scene[:6]:  # frame 6 changes the lighting: not this test's concern
        encoder.push(frame)
        packets += encoder.pull()
        held.append(encoder.buffered)
    encoder.flush()
    packets += encoder.pull()
    assert held == [0, 1, 2, 3, 0, 1]
    frames = sorted(decoded(VideoDecoder(shipped), packets), key=lambda f: f.display_index)
    assert [f.frame_type for f in frames] == [FrameType.KEY, FrameType.B, FrameType.B, FrameType.B, FrameType.P,
                                              FrameType.P]  # the flushed last frame becomes an anchor
    assert all(f.syntax.motion.mode == Interpolation.BLEND for f in frames if f.frame_type == FrameType.B)
    assert [len(g.interpolations) for g in encoder.decisions] == [3, 0]
    for frame in frames:
        syntax = frame.syntax
        if frame.frame_type == FrameType.B and syntax.copy_blocks.all() and not syntax.residual.any():
            past, future = frames[frame.display_index - syntax.past_distance], frames[frame.display_index + syntax.future_distance]
            expected = interpolate(syntax.motion, past.image, future.image, syntax.past_distance, syntax.future_distance)
        else:  # the encoder's reconstruction (recorded for frames coded with a residual)
            expected = encoder.reconstructed[frame.display_index]
        np.testing.assert_array_equal(frame.image, expected)
