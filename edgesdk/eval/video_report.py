"""``edgesdk eval CLIP``: the latent video codec against x264, x265 and SVT-AV1 on the first
frames of a clip, with BD-rates on PSNR and an RD plot (conventions: edgesdk.eval.video_evaluation,
docs/video.md). benchmarks/bench_video.py is the longer, configurable form of the same."""

from __future__ import annotations

import json
from pathlib import Path

from edgesdk.eval.curves import as_curve, rd_plot
from edgesdk.eval.video_evaluation import ANCHORS, bd_rates, evaluate_anchor, evaluate_latent_video, load_frames, \
    overlapping

DEFAULT_CRFS = {"x264": range(22, 52, 3), "x265": range(22, 52, 3), "svt-av1": range(30, 64, 4)}


def pareto(points: list[dict]) -> list[dict]:
    """Points no other point beats in both rate and PSNR, by rate."""
    front = [p for p in points if not any(o["kbps"] <= p["kbps"] and o["psnr"] > p["psnr"] for o in points)]
    return sorted(front, key=lambda p: p["kbps"])


def evaluate_clip(clip: str | Path, codec, frame_count: int = 30, fps: float = 25.0, keyframe_interval: int = 30,
                  b_frames: int = 2, steps: tuple[float, ...] = (1.0, 2.0), anchors: tuple[str, ...] = tuple(ANCHORS),
                  log=print, qualities=None, encoder_options: dict | None = None) -> dict:
    """Our points (``qualities``, default every quality of ``codec.model``, × ``steps``; the
    Pareto front is our curve; ``encoder_options`` go to the encoder, e.g. a preset's), each
    anchor's CRF sweep at the same keyframe interval, and BD-rates of ours against each."""
    frames = load_frames(clip, frame_count)
    height, width = frames[0].shape[:2]
    log(f"{Path(clip).name}: {len(frames)} frames {width}x{height}, keyframe interval {keyframe_interval}")
    ours_all = []
    for quality in qualities or codec.model.qualities:
        for point in evaluate_latent_video(frames, codec.codec(quality), steps, fps, keyframe_interval=keyframe_interval,
                                           **{"b_frames": b_frames, **(encoder_options or {})}):
            point["label"] = f"edgesdk q{quality} step {point['step']:g}"
            ours_all.append(point | {"quality": quality})
            log(f"{point['label']}: {point['kbps']:.1f} kbps, {point['psnr']:.2f} dB, "
                f"encode {point['encode_fps']:.2f} fps, decode {point['decode_fps']:.2f} fps")
    ours = pareto(ours_all)
    low, high = min(p["psnr"] for p in ours), max(p["psnr"] for p in ours)
    curves = {"edgesdk": as_curve(ours, label="edgesdk")}
    bd = {}
    for name in anchors:
        points = evaluate_anchor(name, frames, keyframe_interval, fps, crfs=DEFAULT_CRFS[name])
        curves[name] = as_curve(points, label=f"{name} (CRF)")
        bd[name] = bd_rates(overlapping(points, low, high), ours)
        log(f"{name}: {len(points)} CRF points, BD-rate of ours "
            f"{'n/a (no overlap)' if bd[name] is None else f'{bd[name]:+.1f}%'}")
    return {"clip": str(clip), "frames": len(frames), "size": [width, height], "keyframe_interval": keyframe_interval,
            "encoder_options": dict(encoder_options or {}), "refine_steps": getattr(codec, "refine_steps", 0),
            "points": ours_all, "curves": curves, "bd_rate_percent": bd}


def write_video_report(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """report.json, table.txt and rd.png of a video evaluation under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "video_report.json"}
    paths["json"].write_text(json.dumps(report, indent=1, default=float) + "\n")
    paths["plot"] = rd_plot(
        {label: curve for label, curve in report["curves"].items()}, out / "rd_video.png",
        title=f"{Path(report['clip']).stem}, {report['frames']} frames, keyframe every {report['keyframe_interval']}")
    return paths


def format_video_table(report: dict) -> str:
    """The video report as a text table."""
    refined = f", keyframes refined {report['refine_steps']} steps" if report.get("refine_steps") else ""
    lines = [f"BD-rate of edgesdk against each anchor on {Path(report['clip']).name} "
             f"({report['frames']} frames{refined}; positive: edgesdk needs more bits):"]
    for name, value in report["bd_rate_percent"].items():
        lines.append(f"  {name:<8} {'n/a (no PSNR overlap)' if value is None else f'{value:+.1f}%'}")
    return "\n".join(lines)
