"""Commands that measure: eval (rate-distortion against anchors) and bench (image stage timings,
video fps)."""

from __future__ import annotations

import argparse

from edgesdk.cli.common import add_codec_options, add_refine_option, open_codec
from edgesdk.codecs.video.presets import DEFAULT_PRESET, PRESETS


def _eval(args: argparse.Namespace) -> int:
    from edgesdk.cli import transcode
    from edgesdk.cli.common import check_writable_folder
    from edgesdk.eval import image_report
    from edgesdk.lazy import require

    # Everything a report needs, before minutes of work: the plot's library, the input, the output folder.
    require("matplotlib.figure", "edgesdk eval draws its RD plot with matplotlib: pip install 'edgesdk[eval]' "
            "(or pip install matplotlib)")
    if not args.folder:
        image_report.image_folder(None)  # says a folder or a clip is needed
    transcode._check_source(args.folder, "")
    check_writable_folder(transcode.local_path(args.out), create=True)
    if args.folder and transcode.kind_of(args.folder, must_exist=True) == "video":
        from edgesdk.eval import video_report

        from edgesdk.codecs.video import preset_options

        with open_codec(args) as codec:
            report = video_report.evaluate_clip(args.folder, codec, frame_count=args.frames,
                                                keyframe_interval=args.keyframe_interval, qualities=args.qualities,
                                                encoder_options=preset_options(args.preset))
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

    from edgesdk.codecs.model import SAMPLE_IMAGE, load_image
    from edgesdk.eval.bench import format_timings, format_video_timings, panning_frames, stage_timings, video_timings

    if args.repeats < 1 or args.video_frames < 2:
        from edgesdk.errors import InvalidArgumentError

        raise InvalidArgumentError("--repeats must be at least 1 and --video-frames at least 2")
    sizes = [_size(size) for size in args.sizes]
    source = load_image(args.image or SAMPLE_IMAGE)
    clip = _clip_frames(args.video, args.video_frames) if args.video else None
    with open_codec(args) as codec:
        if args.what in ("image", "all"):
            for width, height in sizes:
                image = source if source.shape[:2] == (height, width) else \
                    np.asarray(Image.fromarray(source).resize((width, height), Image.Resampling.LANCZOS))
                timings = stage_timings(codec, image, repeats=args.repeats)
                print(json.dumps({"kind": "image", **timings}) if args.json else format_timings(timings))
        if args.what in ("video", "all"):
            if clip is not None:
                runs = [(clip, args.video)]
            else:
                runs = [(panning_frames(source, w, h, args.video_frames), "the sample photograph panning")
                        for w, h in sizes]
            for frames, label in runs:
                timings = video_timings(codec, frames, keyframe_interval=args.keyframe_interval,
                                        b_frames=args.b_frames)
                print(json.dumps({"kind": "video", "source": label, **timings}) if args.json
                      else format_video_timings(timings, label))
    return 0


def _clip_frames(path: str, count: int) -> list:
    from edgesdk.media import open_source

    frames = []
    with open_source(path) as source:
        for frame in source:
            frames.append(frame.pixels)
            if len(frames) == count:
                break
    if len(frames) < 2:
        from edgesdk.errors import InvalidArgumentError

        raise InvalidArgumentError(f"{path}: fewer than 2 frames to benchmark")
    return frames


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
    evaluate.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET,
                          help="video: our encoder preset (default: %(default)s)")
    add_codec_options(evaluate, quality=False)
    add_refine_option(evaluate)
    evaluate.set_defaults(run=_eval)

    bench = commands.add_parser("bench", help="images: milliseconds per stage and edgesdk's overhead over bare "
                                "inference; video: fps of a real video encode and decode")
    bench.add_argument("what", nargs="?", choices=("image", "video", "all"), default="all",
                       help="what to measure (default: %(default)s)")
    bench.add_argument("--sizes", nargs="+", default=["768x512", "cif", "720p"], help="WIDTHxHEIGHT, cif, 720p, 1080p")
    bench.add_argument("--video", help="video clip to benchmark (default: the sample photograph panning, at each size)")
    bench.add_argument("--video-frames", type=int, default=8, help="video: frames to encode (default: %(default)s)")
    bench.add_argument("--keyframe-interval", type=int, default=32, help="video: frames per GOP")
    bench.add_argument("--b-frames", type=int, default=2, help="video: B frames between anchors")
    bench.add_argument("--image", help="image to scale to each size (default: the sample photograph)")
    bench.add_argument("--repeats", type=int, default=5, help="runs per stage; medians are reported")
    bench.add_argument("--json", action="store_true")
    add_codec_options(bench)
    bench.set_defaults(run=_bench)
