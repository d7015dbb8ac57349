"""Commands on images and video: encode, decode, info, demo, selfcheck."""

from __future__ import annotations

import argparse
import platform
import time

from edgesdk import __version__
from edgesdk.cli.common import add_codec_options, add_force_option, add_refine_option, open_codec
from edgesdk.codecs.video.presets import DEFAULT_PRESET, LIVE_PRESET, PRESETS


def _selfcheck(args: argparse.Namespace) -> int:
    from edgesdk.bitstream import golden

    start = time.perf_counter()
    for line in golden.verify():
        print(line)
    elapsed = (time.perf_counter() - start) * 1000
    print(f"edgesdk {__version__} on {platform.machine()} ({platform.system()}): "
          f"all golden vectors bit-exact in {elapsed:.0f} ms")
    return 0


def _encode(args: argparse.Namespace) -> int:
    from edgesdk.cli import transcode

    start = time.perf_counter()
    from edgesdk.cli.roi_option import parse_roi

    video = transcode.VideoOptions(args.keyframe_interval, args.b_frames, args.max_frames, args.step, args.preset,
                                   parse_roi(args.roi), args.live_queue)
    if args.live_queue < 1:
        from edgesdk.errors import InvalidArgumentError

        raise InvalidArgumentError(f"--live-queue must be at least 1 frame, not {args.live_queue}")
    if args.max_frames is not None and args.max_frames < 1:
        from edgesdk.errors import InvalidArgumentError

        raise InvalidArgumentError(f"--max-frames must be at least 1, not {args.max_frames}")
    transforms = _transforms(args)
    with open_codec(args) as codec:
        batch = transcode.encode(args.source, args.destination, codec, video, force=args.force, transforms=transforms)
    return report_batch(batch, "encoded", start)


def _transforms(args: argparse.Namespace) -> list | None:
    """The --transform options, parsed before any work (None when there are none)."""
    from edgesdk.edit.recode import parse_transforms

    return parse_transforms(args.transform) if args.transform else None


def _add_transform_option(parser, where: str) -> None:
    """``--transform/-t NAME[=P]``, repeatable, applied in order (docs/latent-edit.md)."""
    parser.add_argument("--transform", "-t", action="append", metavar="NAME[=P]",
                        help=f"images: apply a transformation identifier to the integer latents {where}, in order; "
                             "repeatable; the names and parameters of edgesdk edit (docs/latent-edit.md)")


def report_batch(batch, verb: str, start: float) -> int:
    """Prints what was written and what failed; the exit status: 0, 1 if an input failed,
    3 if a video was decoded with damage."""
    import sys

    for item in batch.written:
        frames = f", {item.frames} frames" if item.frames > 1 else ""
        rate = f", {item.bpp:.3f} bpp" if verb == "encoded" else ""
        print(f"{item.path}: {item.bytes} bytes{rate} ({item.width}x{item.height}{frames})")
    frames = sum(item.frames for item in batch.written)
    elapsed = time.perf_counter() - start
    failed = f"; {len(batch.failed)} input(s) failed" if batch.failed else ""
    rate = frames / elapsed
    speed = f"{rate:.1f} fps" if rate >= 1 or not frames else f"{elapsed / frames:.1f} s per frame"
    print(f"{verb} {frames} frame(s) in {elapsed:.2f} s ({speed}){failed}")
    if batch.failed:
        print(f"edgesdk: error: {len(batch.failed)} of {len(batch.failed) + len(batch.written)} input(s) failed: "
              + ", ".join(str(f.path) for f in batch.failed[:5]) + (" …" if len(batch.failed) > 5 else ""),
              file=sys.stderr)
        return 1
    if batch.damage:
        print(f"edgesdk: warning: {batch.damage}", file=sys.stderr)
        return 3
    return 0


def _decode(args: argparse.Namespace) -> int:
    from edgesdk.cli import transcode

    start = time.perf_counter()
    transforms = _transforms(args)
    with open_codec(args) as codec:
        batch = transcode.decode(args.source, args.destination, codec, force=args.force,
                                 on_damage=args.on_damage, crf=args.crf, transforms=transforms)
    return report_batch(batch, "decoded", start)


def _info(args: argparse.Namespace) -> int:
    import json
    import sys

    from edgesdk.cli.info import describe, format_info

    info = describe(args.source)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(format_info(info))
    if info.get("damage"):
        print(f"edgesdk: warning: {args.source}: damaged: {info['damage']}", file=sys.stderr)
        return 3
    return 0


def _demo(args: argparse.Namespace) -> int:
    from edgesdk.cli.demo import run_demo

    run_demo(args.out, backend=args.backend, image=args.image)
    return 0


def add_commands(commands) -> None:
    """Adds this group's subcommands to the ``edgesdk`` parser's ``commands``."""
    selfcheck = commands.add_parser("selfcheck", help="verify the entropy coder and container against golden vectors")
    selfcheck.set_defaults(run=_selfcheck)

    encode = commands.add_parser("encode", help="encode an image, a folder of images (and its subfolders) or a video to latents")
    encode.add_argument("source", help="image, folder, video file or URI (rtsp://, v4l2://)")
    encode.add_argument("destination", help=".eli (one image), a folder, or .elv (video)")
    add_codec_options(encode)
    add_force_option(encode)
    add_refine_option(encode)
    encode.add_argument("--keyframe-interval", type=int, default=32, help="video: frames per GOP")
    encode.add_argument("--b-frames", type=int, help="video: B frames between anchors (default: the preset's, "
                        "else 2; a value given here wins over the preset's)")
    encode.add_argument("--max-frames", type=int, help="video: stop after this many, at least 1 "
                        "(live sources run until Ctrl-C)")
    encode.add_argument("--step", type=float, default=1.0,
                        help="video: residual step of inter frames, 1/16 to 64 (larger: fewer bits, lower quality)")
    encode.add_argument("--preset", choices=list(PRESETS),
                        help=f"video: encoder preset (docs/video.md, \"Presets\"; default: {DEFAULT_PRESET} for "
                             f"files, {LIVE_PRESET} for live sources)")
    _add_transform_option(encode, "before entropy coding (the frame records it)")
    encode.add_argument("--live-queue", type=int, default=4, metavar="N",
                        help="live sources: at most N frames wait for the encoder; when it falls behind the "
                             "oldest waiting frame is dropped (default: %(default)s; docs/media-io.md)")
    encode.add_argument("--roi", action="append", metavar="X,Y,W,H|faces",
                        help="region of interest, coded finer (the rest coarser) in images and every video frame: "
                             "a rectangle in pixels (repeatable) or 'faces' (needs OpenCV; docs/roi.md)")
    encode.set_defaults(run=_encode)

    decode = commands.add_parser("decode", help="decode latents to images or video")
    decode.add_argument("source", help=".eli, a folder of .eli, or .elv")
    decode.add_argument("destination", help="image file, folder, or video file")
    add_codec_options(decode, quality=False)
    add_force_option(decode)
    decode.add_argument("--on-damage", choices=("skip", "stop"), default="skip",
                        help="video: skip what is damaged and keep every decodable frame (default), or stop at "
                             "the first damage; either way what was lost is reported and the status is 3")
    decode.add_argument("--crf", type=float, help="video: quality of a re-encoded .mp4/.mkv output "
                        "(x264/x265 CRF: lower is better and larger; default 23)")
    _add_transform_option(decode, "before the generator (no stream is written)")
    decode.set_defaults(run=_decode)

    info = commands.add_parser("info", help="inspect a latent image or video")
    info.add_argument("source")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=_info)

    demo = commands.add_parser("demo", help="encode and decode the sample photograph with the shipped model")
    demo.add_argument("--out", default="edgesdk-demo", help="folder for the comparison PNG (default: %(default)s; its demo files are replaced)")
    demo.add_argument("--image", help="another image to use")
    demo.add_argument("--backend", choices=("onnxruntime", "pytorch", "tensorrt"), default="onnxruntime")
    demo.set_defaults(run=_demo)
