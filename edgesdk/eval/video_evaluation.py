"""Video rate-distortion evaluation: edgesdk's latent video codec against x264, x265 and
SVT-AV1 (through PyAV), with Bjøntegaard rates.

Conventions (docs/video.md, "Evaluation"):

* Frames are RGB uint8 ``H x W x 3``. PSNR is the mean over frames of the per-frame RGB
  PSNR (``edgesdk.eval.metrics.psnr``); ``psnr_y`` the same on BT.601 luma computed from RGB.
* Rates count the codec's own bitstream: our frame payloads (frame headers included,
  packet framing excluded, as the anchors' byte counts exclude their container), the
  anchors' packet sizes less their SEI NAL units (x264 and x265 write their version and
  whole settings string there, about 0.7 and 2.3 kB; x265 at every keyframe: no decoder
  needs it, and counting it understated the anchors). ``kbps = 8 · bytes / (frames / fps) / 1000``; ``bpp`` per pixel
  per frame.
* Anchors encode the same RGB frames converted to YUV 4:2:0 by libswscale, with the same
  keyframe interval and no scene-cut keyframes, and decode back to RGB for PSNR.

A point is a dict with ``label, codec, bytes, kbps, bpp, psnr, psnr_y, frames`` (plus
``step`` or ``crf``/``kbps_target`` and timings), so ``edgesdk.eval.curves.as_curve`` and
``rd_plot`` take lists of them.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from edgesdk.lazy import require
from edgesdk.errors import InvalidArgumentError
from edgesdk.eval.bdrate import bd_rate
from edgesdk.eval.metrics import psnr

ANCHORS = {
    # name: (encoder, decoder, default options, quality option and its range)
    "x264": ("libx264", "h264", {"preset": "medium", "sc_threshold": "0"}, "crf"),
    "x265": ("libx265", "hevc", {"preset": "medium"}, "crf"),
    "svt-av1": ("libsvtav1", "libdav1d", {"preset": "8"}, "crf"),
}
# Annex-B NAL unit types of supplemental enhancement information (H.264: 6; HEVC: prefix and
# suffix SEI): informative, a decoder reconstructs the same pictures without them.
SEI_NAL_TYPES = {"x264": (lambda header: header & 0x1F, {6}), "x265": (lambda header: (header >> 1) & 0x3F, {39, 40})}


def without_sei(data: bytes, anchor: str) -> bytes:
    """``anchor``'s Annex-B packet ``data`` without its SEI NAL units (start codes included);
    unchanged for codecs without NAL units (SVT-AV1)."""
    if anchor not in SEI_NAL_TYPES:
        return data
    nal_type, sei_types = SEI_NAL_TYPES[anchor]
    starts = []
    at = data.find(b"\x00\x00\x01")
    while at >= 0:
        starts.append(at)
        at = data.find(b"\x00\x00\x01", at + 3)
    # a unit spans from its start code (with the optional leading zero byte) to the next one
    bounds = [start - 1 if start and data[start - 1] == 0 else start for start in starts] + [len(data)]
    kept = [data[:bounds[0]]] + [data[bounds[i]:bounds[i + 1]] for i, start in enumerate(starts)
                                 if start + 3 >= len(data) or nal_type(data[start + 3]) not in sei_types]
    return b"".join(kept)


def _av():
    return require("av", "video evaluation needs PyAV: pip install av")


def load_frames(path: str | Path, count: int, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """The first ``count`` frames of a video file as RGB uint8, optionally resized to (height, width)."""
    av = _av()
    if count < 1:
        raise InvalidArgumentError("count must be positive")
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if size is not None:
                frame = frame.reformat(width=size[1], height=size[0])
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def luma_psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR of BT.601 luma (``0.299 R + 0.587 G + 0.114 B``, full range, float) in dB."""
    weights = np.array([0.299, 0.587, 0.114])
    a, b = reference.astype(np.float64) @ weights, decoded.astype(np.float64) @ weights
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _point(label: str, codec: str, frames: Sequence[np.ndarray], decoded: Sequence[np.ndarray], size: int,
           fps: float, **extra: object) -> dict:
    if len(decoded) != len(frames):
        raise InvalidArgumentError(f"{label}: {len(decoded)} frames decoded for {len(frames)} coded")
    height, width = frames[0].shape[:2]
    return {
        "label": label,
        "codec": codec,
        "frames": len(frames),
        "bytes": size,
        "kbps": 8 * size / (len(frames) / fps) / 1000,
        "bpp": 8 * size / (len(frames) * height * width),
        "psnr": float(np.mean([psnr(a, b) for a, b in zip(frames, decoded)])),
        "psnr_y": float(np.mean([luma_psnr(a, b) for a, b in zip(frames, decoded)])),
        **extra,
    }


def _stream_through(stage, items: Sequence) -> tuple[list, float]:
    """Push every item through a streaming encoder or decoder, flush, and return what it
    gave out with the seconds it took."""
    start = time.perf_counter()
    out = []
    for item in items:
        stage.push(item)
        out += stage.pull()
    stage.flush()
    out += stage.pull()
    return out, time.perf_counter() - start


def evaluate_latent_video(frames: Sequence[np.ndarray], image_codec, steps: Sequence[float], fps: float = 25.0,
                          **encoder_options) -> list[dict]:
    """One point per residual step: encode with :class:`~edgesdk.codecs.video.VideoEncoder`
    (``encoder_options`` such as keyframe_interval, b_frames), decode with a
    :class:`~edgesdk.codecs.video.VideoDecoder`, measure. Adds encode/decode frames per second
    and the share of groups coded with B frames."""
    from edgesdk.codecs.video import STRUCTURE_B, VideoDecoder, VideoEncoder

    points = []
    for step in steps:
        encoder = VideoEncoder(image_codec, p_step=step, **encoder_options)
        packets, encode_s = _stream_through(encoder, frames)
        decoded, decode_s = _stream_through(VideoDecoder(image_codec), packets)
        groups = encoder.decisions
        points.append(_point(
            f"edgesdk step={step:g}", "edgesdk", frames, [d.image for d in decoded],
            sum(len(p.payload) for p in packets), fps, step=step,
            encode_fps=len(frames) / encode_s, decode_fps=len(frames) / decode_s,
            b_groups=sum(g.structure == STRUCTURE_B for g in groups) / max(1, len(groups)),
            packet_framing_bytes=sum(len(p.to_bytes()) - len(p.payload) for p in packets),
        ))
    return points


def _anchor_context(name: str, frames: Sequence[np.ndarray], fps: float, keyframe_interval: int,
                    crf: float | None, kbps: float | None):
    av = _av()
    encoder_name, _, options, quality_option = ANCHORS[name]
    height, width = frames[0].shape[:2]
    context = av.CodecContext.create(encoder_name, "w")
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    rate = Fraction(fps).limit_denominator(1001)
    context.framerate, context.time_base = rate, 1 / rate
    context.gop_size = keyframe_interval
    options = dict(options)
    if name == "x265":
        options["x265-params"] = f"keyint={keyframe_interval}:min-keyint={keyframe_interval}:scenecut=0:log-level=error"
    elif name == "svt-av1":
        options["svtav1-params"] = f"keyint={keyframe_interval}:scd=0"
    if crf is not None:
        options[quality_option] = f"{crf:g}"
    else:
        context.bit_rate = int(kbps * 1000)
    context.options = options
    return context


def anchor_packets(name: str, frames: Sequence[np.ndarray], keyframe_interval: int, fps: float = 25.0,
                   crf: float | None = None, kbps: float | None = None) -> list[bytes]:
    """The packets (Annex-B for x264 and x265) of one anchor encode of ``frames`` at ``crf`` or,
    without one, at a target of ``kbps``."""
    av = _av()
    context = _anchor_context(name, frames, fps, keyframe_interval, crf, kbps)
    packets = []
    for index, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        packets += context.encode(frame)
    packets += context.encode(None)
    return [bytes(p) for p in packets]


def decode_anchor(name: str, packets: Sequence[bytes]) -> list[np.ndarray]:
    """The RGB pictures of an anchor's ``packets``, decoded by its decoder in PyAV."""
    av = _av()
    decoder = av.CodecContext.create(ANCHORS[name][1], "r")
    decoded = [frame for data in packets for frame in decoder.decode(av.Packet(data))] + decoder.decode(None)
    return [frame.to_ndarray(format="rgb24") for frame in decoded]


def evaluate_anchor(name: str, frames: Sequence[np.ndarray], keyframe_interval: int, fps: float = 25.0,
                    crfs: Sequence[float] = (), bitrates_kbps: Sequence[float] = ()) -> list[dict]:
    """Points of an anchor codec (``"x264"``, ``"x265"`` or ``"svt-av1"``): one per CRF and one
    per target bitrate (single-pass ABR; the measured rate is what counts)."""
    if name not in ANCHORS:
        raise InvalidArgumentError(f"unknown anchor {name!r}: use one of {sorted(ANCHORS)}")
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its configuration banner otherwise
    points = []
    for crf, kbps in [(c, None) for c in crfs] + [(None, k) for k in bitrates_kbps]:
        start = time.perf_counter()
        packets = anchor_packets(name, frames, keyframe_interval, fps, crf, kbps)
        encode_s = time.perf_counter() - start
        images = decode_anchor(name, packets)
        setting = {"crf": crf} if crf is not None else {"kbps_target": kbps}
        label = f"{name} " + (f"crf={crf:g}" if crf is not None else f"{kbps:.0f} kbps")
        coded = sum(len(without_sei(p, name)) for p in packets)
        points.append(_point(label, name, frames, images, coded, fps, encode_fps=len(frames) / encode_s,
                             sei_bytes=sum(map(len, packets)) - coded, **setting))
    return points


def overlapping(points: Sequence[dict], low: float, high: float, minimum: int = 4, metric: str = "psnr") -> list[dict]:
    """The points whose quality lies in [low, high], the nearest one below ``low`` and the nearest
    above ``high`` (so that the fit spans [low, high] wherever the points reach it: the BD
    interval is then the test curve's whole range, not a side that depends on which neighbour
    is closer), then the nearest others up to ``minimum`` (a Bjøntegaard fit needs 4); by rate."""
    def distance(p: dict) -> float:
        return 0.0 if low <= p[metric] <= high else min(abs(p[metric] - low), abs(p[metric] - high))

    below = [p for p in points if p[metric] < low]
    above = [p for p in points if p[metric] > high]
    chosen = [p for p in points if low <= p[metric] <= high]
    chosen += [max(below, key=lambda p: p[metric])] if below else []
    chosen += [min(above, key=lambda p: p[metric])] if above else []
    rest = sorted((p for p in points if all(p is not c for c in chosen)), key=distance)
    chosen += rest[: max(0, minimum - len(chosen))]
    return sorted(chosen, key=lambda p: p["kbps"])


def bd_rates(anchor: Sequence[dict], test: Sequence[dict], metric: str = "psnr") -> float | None:
    """BD-rate (percent) of ``test`` against ``anchor``; None where the curves' qualities do not overlap."""
    try:
        return bd_rate([p["kbps"] for p in anchor], [p[metric] for p in anchor],
                       [p["kbps"] for p in test], [p[metric] for p in test])
    except InvalidArgumentError:
        return None
