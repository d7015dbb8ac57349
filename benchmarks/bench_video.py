"""Rate-distortion and speed of the latent video codec against x264, x265 and SVT-AV1.

    python benchmarks/bench_video.py --frames 60                      # shipped model, ONNX Runtime
    python benchmarks/bench_video.py --model run/last.pt --frames 30  # a PyTorch checkpoint

Codes the first N frames of a clip (default: akiyo CIF) with edgesdk at several qualities
(keyframes) and residual steps, keeping the Pareto-optimal points as our curve, and with each anchor (PyAV: libx264 and libx265 preset medium, libsvtav1 preset 8)
at the same keyframe interval over a CRF sweep plus single-pass ABR at our bitrates, then
prints a table, the BD-rate of edgesdk against each anchor over the overlapping PSNR
range (RGB and Y), encode/decode frames per second, and writes an RD plot and the points
as JSON. Conventions: edgesdk/eval/video_evaluation.py and docs/video.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from edgesdk.eval.curves import as_curve, rd_plot
from edgesdk.eval.video_evaluation import (
    ANCHORS,
    bd_rates,
    evaluate_anchor,
    evaluate_latent_video,
    load_frames,
    overlapping,
)
from edgesdk.eval.video_report import DEFAULT_CRFS, pareto

DEFAULT_CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video" / "akiyo_cif.mp4"


def image_codecs(model: str, qualities: list[int] | None, backend: str, precision: str) -> dict[int, object]:
    """Codec per quality: a PyTorch checkpoint (``.pt``, export extra: its one quality) or a
    bundle (``''``: the shipped default) through edgesdk.codecs.image.codec.ImageCodec."""
    if model.endswith(".pt"):
        from edgesdk_export.codec import torch_codec
        from edgesdk_export.train import load_model

        net, meta = load_model(model)
        print(f"model {model}: step {meta['step']}, quality {meta['quality']}, {meta['config']['name']}, PyTorch")
        return {meta["quality"]: torch_codec(net, meta["quality"])}
    from edgesdk.codecs.image.codec import ImageCodec

    codec = ImageCodec(model or None, backend=backend, precision=precision)
    print(f"model {model or 'shipped default'}: qualities {codec.model.qualities}, {backend} {precision}")
    return {q: codec.codec(q) for q in (qualities or codec.model.qualities)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default=DEFAULT_CLIP)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--model", default="", help=".pt checkpoint or bundle ('': the shipped default)")
    parser.add_argument("--qualities", type=int, nargs="+", default=None, help="default: all of the model's")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--keyframe-interval", type=int, default=30)
    parser.add_argument("--b-frames", type=int, default=2)
    parser.add_argument("--steps", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    parser.add_argument("--anchors", nargs="+", default=list(ANCHORS), choices=list(ANCHORS))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", default="bench_video_out")
    args = parser.parse_args()

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    frames = load_frames(args.clip, args.frames)
    height, width = frames[0].shape[:2]
    print(f"{Path(args.clip).name}: {len(frames)} frames {width}x{height} at {args.fps:g} fps, "
          f"keyframe interval {args.keyframe_interval}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    ours_all = []
    for quality, codec in image_codecs(args.model, args.qualities, args.backend, args.precision).items():
        for point in evaluate_latent_video(frames, codec, args.steps, args.fps,
                                           keyframe_interval=args.keyframe_interval, b_frames=args.b_frames):
            point["label"] = f"edgesdk q={quality} step={point['step']:g}"
            ours_all.append(point | {"quality": quality})
    ours = pareto(ours_all)
    matched = [p["kbps"] for p in ours]
    anchors = {name: evaluate_anchor(name, frames, args.keyframe_interval, args.fps, crfs=DEFAULT_CRFS[name],
                                     bitrates_kbps=matched) for name in args.anchors}

    print(f"\n{'point':<24} {'kbps':>9} {'bpp':>7} {'PSNR':>7} {'PSNR-Y':>7}  extra")
    for point in ours_all + [p for points in anchors.values() for p in points]:
        extra = (f"enc {point['encode_fps']:.2f} fps, dec {point['decode_fps']:.2f} fps, B groups "
                 f"{point['b_groups']:.0%}{'' if point in ours else ', not Pareto-optimal'}"
                 if point["codec"] == "edgesdk" else f"enc {point['encode_fps']:.0f} fps")
        print(f"{point['label']:<24} {point['kbps']:>9.1f} {point['bpp']:>7.4f} {point['psnr']:>7.2f} "
              f"{point['psnr_y']:>7.2f}  {extra}")

    low, high = min(p["psnr"] for p in ours), max(p["psnr"] for p in ours)
    low_y, high_y = min(p["psnr_y"] for p in ours), max(p["psnr_y"] for p in ours)
    summary = {}
    print(f"\nBD-rate of edgesdk against each anchor (positive: edgesdk needs more bits), "
          f"over edgesdk's PSNR range {low:.2f}-{high:.2f} dB RGB:")
    for name, points in anchors.items():
        sweep = [p for p in points if "crf" in p]
        rgb_points, y_points = overlapping(sweep, low, high), overlapping(sweep, low_y, high_y, metric="psnr_y")
        rgb, y = bd_rates(rgb_points, ours), bd_rates(y_points, ours, metric="psnr_y")
        # The Bjøntegaard integral runs over the PSNR interval both curves cover: say how wide it is.
        span = max(0.0, min(high, max(p["psnr"] for p in rgb_points)) - max(low, min(p["psnr"] for p in rgb_points)))
        span_y = max(0.0, min(high_y, max(p["psnr_y"] for p in y_points)) - max(low_y, min(p["psnr_y"] for p in y_points)))
        summary[name] = {"bd_rate_rgb": rgb, "bd_rate_y": y, "overlap_db_rgb": span, "overlap_db_y": span_y}
        show = lambda v: "no overlap" if v is None else f"{v:+.1f}%"  # noqa: E731
        print(f"  vs {name:<8} RGB {show(rgb):>10} (over {span:.2f} dB)   Y {show(y):>10} (over {span_y:.2f} dB)")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    curves = {"edgesdk": as_curve(ours)} | {
        f"{name} (CRF)": as_curve([p for p in points if "crf" in p]) for name, points in anchors.items()}
    plot = rd_plot(curves, out / "rd_video.png", title=f"{Path(args.clip).stem}, {len(frames)} frames, "
                                                      f"keyframe every {args.keyframe_interval}")
    (out / "rd_video.json").write_text(json.dumps({"args": vars(args), "edgesdk": ours_all, "anchors": anchors,
                                                   "bd_rate": summary}, indent=1))
    print(f"\nwrote {plot} and {out / 'rd_video.json'}")


if __name__ == "__main__":
    main()
