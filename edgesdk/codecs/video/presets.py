"""Named encoder presets (docs/video.md, "Presets"): sets of :class:`VideoEncoder` options for
the CLI's ``--preset`` and the API (``VideoEncoder(codec, **preset_options("fixed-camera"))``)."""

from __future__ import annotations

from types import MappingProxyType

from edgesdk.codecs.video.motion import Interpolation
from edgesdk.errors import InvalidArgumentError

PRESETS = MappingProxyType({
    # Every structure and interpolation tried per group, copied blocks: the default encoder.
    "exhaustive": MappingProxyType({}),
    # The exhaustive search, the first keyframe kept as the background later GOPs start from,
    # compact headers on P and B frames, 12 B frames between anchors (never references) at
    # twice the P step, each sent as its interpolation alone where that costs less, residuals
    # without the elements of copied cells, and each P frame coded with and without latent
    # prediction (the wavelet default drifts on moving scenes without it, while a static one
    # codes smaller with it off: docs/video.md, "Decisions"), without it motion-compensated.
    "fixed-camera": MappingProxyType({"background": True, "compact_headers": True, "b_frames": 12,
                                      "b_step_ratio": 2.0, "interpolation_only_b": True,
                                      "skip_copied": True, "choose_prediction": True,
                                      "motion_compensated_p": True}),
    # Live sources: P frames only (latency: the frame being coded, nothing held), latent
    # prediction, copied blocks chosen with one synthesis, one residual layout, the background,
    # compact headers and residuals without copied cells. Per P frame: one analysis and one
    # synthesis; the decoder one synthesis.
    "realtime": MappingProxyType({"b_frames": 0, "background": True, "compact_headers": True,
                                  "latent_prediction": True, "predicted_copies": True,
                                  "residual_tile_sizes": (0,), "skip_copied": True}),
    # Live sources that can wait three frames (120 ms at 25 fps): `realtime` plus three B frames
    # between P frames, one structure (no P-only trial) and one interpolation without motion
    # (the references blended), each B frame sent as the blend alone where that costs less.
    "realtime-buffered": MappingProxyType({"b_frames": 3, "background": True, "compact_headers": True,
                                           "latent_prediction": True, "predicted_copies": True,
                                           "residual_tile_sizes": (0,), "skip_copied": True,
                                           "try_p_only": False, "interpolations": (Interpolation.BLEND,),
                                           "b_step_ratio": 2.0, "interpolation_only_b": True}),
})
"""Preset name → the :class:`VideoEncoder` keyword arguments it sets."""

DEFAULT_PRESET = "fixed-camera"
"""The CLI's preset for files (``edgesdk encode``, ``edgesdk eval``): the fewest bits at equal
PSNR on both a static and a moving clip (docs/video.md, "Presets"). The API's
:class:`VideoEncoder` keeps every option off unless given."""
LIVE_PRESET = "realtime"
"""The CLI's preset for live sources (rtsp://, v4l2://): nothing held, one coding per frame."""


def preset_options(name: str) -> dict:
    """The encoder options of preset ``name``; InvalidArgumentError for an unknown one."""
    if name not in PRESETS:
        raise InvalidArgumentError(f"unknown video preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])
