"""The background and latent-prediction parameters (docs/video.md, "Background", "Latent
prediction") without any transform: where each may appear, hostile values, and the
scene-change test."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgesdk
from edgesdk.bitstream.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.codecs.video import parse_video_frame, residual
from edgesdk.codecs.video.background import scene_change


def frame(frame_type=FrameType.P, parameters=None):
    """A 64x64 inter frame (4 latent channels, zero residual) with ``parameters`` on top of a
    GOP start predicted from background 7; a value of None removes that key."""
    model, stream = residual.encode_residual(np.zeros((4, 4, 4), np.int32))
    values = {Parameter.DISPLAY_INDEX: 40, Parameter.GOP_INDEX: 0, Parameter.BACKGROUND_REFERENCE: 7,
              Parameter.RESIDUAL_STEP: 16, **(parameters or {})}
    return Frame(width=64, height=64, frame_type=frame_type, parameters={k: v for k, v in values.items() if v is not None},
                 sections=[Section(SectionKind.RESIDUAL_MODEL, model), Section(SectionKind.LATENT, stream)]).to_bytes()


def test_a_gop_start_from_the_background_parses():
    _, syntax = parse_video_frame(frame(), latent_channels=4)
    assert (syntax.frame_type, syntax.gop_index, syntax.past_distance) == (FrameType.P, 0, 0)
    assert (syntax.background_reference, syntax.background_id, syntax.latent_prediction) == (7, None, False)
    assert parse_video_frame(frame(parameters={Parameter.LATENT_PREDICTION: 1}), latent_channels=4)[1].latent_prediction
    assert syntax.residual.shape == (4, 4, 4)


@pytest.mark.parametrize(
    ("frame_type", "parameters", "error"),
    [
        (FrameType.P, {Parameter.BACKGROUND_REFERENCE: -1}, edgesdk.LimitExceededError),
        (FrameType.P, {Parameter.GOP_INDEX: 3}, edgesdk.CorruptedError),  # only at a GOP start
        (FrameType.P, {Parameter.REFERENCE_DISTANCE: 1}, edgesdk.CorruptedError),  # two references
        (FrameType.P, {Parameter.BACKGROUND_ID: 2}, edgesdk.CorruptedError),  # only keyframes define one
        (FrameType.B, {Parameter.GOP_INDEX: 1, Parameter.REFERENCE_DISTANCE: 1,
                       Parameter.FORWARD_REFERENCE_DISTANCE: 1}, edgesdk.CorruptedError),
        (FrameType.P, {Parameter.BACKGROUND_REFERENCE: None}, edgesdk.CorruptedError),  # no reference at all
        (FrameType.KEY, {Parameter.BACKGROUND_ID: -5, Parameter.BACKGROUND_REFERENCE: None},
         edgesdk.LimitExceededError),
        (FrameType.P, {Parameter.LATENT_PREDICTION: 2}, edgesdk.CorruptedError),  # only 1 has a meaning
        (FrameType.KEY, {Parameter.LATENT_PREDICTION: 1, Parameter.BACKGROUND_REFERENCE: None},
         edgesdk.CorruptedError),
        (FrameType.B, {Parameter.LATENT_PREDICTION: 1, Parameter.BACKGROUND_REFERENCE: None, Parameter.GOP_INDEX: 1,
                       Parameter.REFERENCE_DISTANCE: 1, Parameter.FORWARD_REFERENCE_DISTANCE: 1}, edgesdk.CorruptedError),
    ],
)
def test_misplaced_or_hostile_background_parameters_raise_typed_errors(frame_type, parameters, error):
    with pytest.raises(error):
        parse_video_frame(frame(frame_type, parameters), latent_channels=4)


@settings(max_examples=150, deadline=None)
@given(frame_type=st.sampled_from(list(FrameType)), gop_index=st.integers(0, 3),
       defined=st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)),
       referenced=st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)),
       distance=st.one_of(st.none(), st.integers(-3, 3)))
def test_any_background_parameter_values_raise_only_bitstream_errors(frame_type, gop_index, defined, referenced,
                                                                      distance):
    parameters = {Parameter.GOP_INDEX: gop_index, Parameter.BACKGROUND_ID: defined,
                  Parameter.BACKGROUND_REFERENCE: referenced, Parameter.REFERENCE_DISTANCE: distance}
    try:
        _, syntax = parse_video_frame(frame(frame_type, parameters), latent_channels=4)
    except edgesdk.BitstreamError:
        return
    if syntax.background_reference is not None:
        assert (syntax.frame_type, syntax.gop_index, syntax.past_distance) == (FrameType.P, 0, 0)
    if syntax.background_id is not None:
        assert syntax.frame_type == FrameType.KEY


def test_scene_change_sees_moved_objects_and_lighting_not_noise():
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (96, 130, 3), dtype=np.uint8)
    noisy = np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8)
    assert scene_change(noisy, scene) is None
    moved = scene.copy()
    moved[:, :80] = np.roll(scene, 9, axis=1)[:, :80]  # most of the picture shifts: a camera bump
    assert scene_change(moved, scene) > 0.5
    assert scene_change(np.clip(scene.astype(int) + 30, 0, 255).astype(np.uint8), scene) == 1.0  # lights on
    assert scene_change(scene[:64], scene) == 1.0  # another size
    small = scene.copy()
    small[:16, :16] = 0  # one cell of 54: below the threshold
    assert scene_change(small, scene) is None and scene_change(small, scene, threshold=0.01) == pytest.approx(1 / 54)
