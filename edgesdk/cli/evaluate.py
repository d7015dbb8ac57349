"""Commands that measure: eval (rate-distortion against anchors) and bench (stage timings)."""

from __future__ import annotations

import argparse

from edgesdk.cli.common import add_codec_options, open_codec


def _eval(args: argparse.Namespace) -> int:
    from edgesdk.eval import image_report

    from edgesdk.cli import transcode
    if args.folder and transcode.kind_of(args.folder, must_exist=True) == "video":
        from edgesdk.eval import video_report

        with open_codec(args) as codec:
            report = video_report.evaluate_clip(args.folder, codec, frame_count=args.frames,
                                                keyframe_interval=args.keyframe_interval)
        paths = video_report.write_video_report(report, args.out)
        print(video_report.format_video_table(report))
    else:
        images = image_report.image_folder(args.folder)
        with open_codec(args) as codec:
            report = image_report.evaluate_model(codec, images, args.qualities, tuple(args.anchors))
        paths = image_report.write_report(report, args.out)
        print(image_report.format_table(report))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _bench(args: argparse.Namespace) -> int:
    import json

    import numpy as np
    from PIL import Image

    from edgesdk.eval.bench import format_timings, stage_timings
    from edgesdk.codecs.model import SAMPLE_IMAGE, load_image

    source = load_image(args.image or SAMPLE_IMAGE)
    results = []
    with open_codec(args) as codec:
        for size in args.sizes:
            width, height = _size(size)
            image = source if source.shape[:2] == (height, width) else \
                np.asarray(Image.fromarray(source).resize((width, height), Image.Resampling.LANCZOS))
            timings = stage_timings(codec, image, repeats=args.repeats)
            results.append(timings)
            print(json.dumps(timings) if args.json else format_timings(timings))
    return 0


def _size(text: str) -> tuple[int, int]:
    from edgesdk.errors import InvalidArgumentError

    named = {"cif": (352, 288), "720p": (1280, 720), "1080p": (1920, 1080)}
    if text.lower() in named:
        return named[text.lower()]
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InvalidArgumentError(f"size {text!r} is not WIDTHxHEIGHT or one of {sorted(named)}") from None
    if not (0 < width <= 16384 and 0 < height <= 16384):
        raise InvalidArgumentError(f"size {text!r} is outside 1..16384 per side")
    return width, height


def add_commands(commands) -> None:
    """Adds this group's subcommands to the ``edgesdk`` parser's ``commands``."""
    evaluate = commands.add_parser("eval", help="rate-distortion of a model against JPEG/WebP/AVIF and published curves")
    evaluate.add_argument("folder", nargs="?", help="image folder (e.g. Kodak; required) or a video clip "
                          "(then: against x264, x265, SVT-AV1)")
    evaluate.add_argument("--out", default="edgesdk-eval", help="folder for report.json, table.txt, rd.png")
    evaluate.add_argument("--qualities", type=int, nargs="+", help="default: all of the model's")
    evaluate.add_argument("--anchors", nargs="*", default=["jpeg", "webp", "avif"], choices=["jpeg", "webp", "avif"])
    evaluate.add_argument("--frames", type=int, default=30, help="video: frames from the start of the clip")
    evaluate.add_argument("--keyframe-interval", type=int, default=30, help="video: for ours and the anchors")
    add_codec_options(evaluate, quality=False)
    evaluate.set_defaults(run=_eval)

    bench = commands.add_parser("bench", help="milliseconds per stage, fps and edgesdk's overhead over bare inference")
    bench.add_argument("--sizes", nargs="+", default=["768x512", "cif", "720p"], help="WIDTHxHEIGHT, cif, 720p, 1080p")
    bench.add_argument("--image", help="image to scale to each size (default: the sample photograph)")
    bench.add_argument("--repeats", type=int, default=5, help="runs per stage; medians are reported")
    bench.add_argument("--json", action="store_true")
    add_codec_options(bench)
    bench.set_defaults(run=_bench)
