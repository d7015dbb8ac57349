"""The ``edgesdk`` command line."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from edgesdk import __version__
from edgesdk.errors import Error


def _selfcheck(args: argparse.Namespace) -> int:
    from edgesdk.bitstream import golden

    start = time.perf_counter()
    for line in golden.verify():
        print(line)
    elapsed = (time.perf_counter() - start) * 1000
    print(f"edgesdk {__version__} on {platform.machine()} ({platform.system()}): "
          f"all golden vectors bit-exact in {elapsed:.0f} ms")
    return 0


def _codec(args: argparse.Namespace):
    from edgesdk.codecs.image.codec import ImageCodec

    return ImageCodec(args.model, quality=getattr(args, "quality", None), backend=args.backend,
                      precision=args.precision, generator_precision=args.generator_precision, device=args.device)


def _add_codec_options(parser: argparse.ArgumentParser, quality: bool = True) -> None:
    from edgesdk.runtime.backends import BACKENDS, PRECISIONS

    parser.add_argument("--model", help="bundle (folder or .edgesdk file); default: the shipped model")
    if quality:
        parser.add_argument("--quality", "-q", type=int, help="quality level of the model (default: its middle one)")
    parser.add_argument("--backend", choices=BACKENDS, help="default: the device profile's, else onnxruntime")
    parser.add_argument("--precision", choices=PRECISIONS, help="default: the device profile's, else fp32")
    parser.add_argument("--generator-precision", choices=PRECISIONS,
                        help="the generator's alone (e.g. int8 after edgesdk quantize); default: --precision")
    parser.add_argument("--device", help="device profile (see: edgesdk devices) for default backend and precisions")


def _encode(args: argparse.Namespace) -> int:
    from edgesdk.cli import transcode

    start = time.perf_counter()
    video = transcode.VideoOptions(args.keyframe_interval, args.b_frames, args.max_frames, args.step)
    with _codec(args) as codec:
        written = transcode.encode(args.source, args.destination, codec, video)
    _report(written, "encoded", start)
    return 0


def _report(written, verb: str, start: float) -> None:
    for item in written:
        frames = f", {item.frames} frames" if item.frames > 1 else ""
        rate = f", {item.bpp:.3f} bpp" if verb == "encoded" else ""
        print(f"{item.path}: {item.bytes} bytes{rate} ({item.width}x{item.height}{frames})")
    frames = sum(item.frames for item in written)
    elapsed = time.perf_counter() - start
    print(f"{verb} {frames} frame(s) in {elapsed:.2f} s ({frames / elapsed:.1f} fps)")


def _decode(args: argparse.Namespace) -> int:
    from edgesdk.cli import transcode

    start = time.perf_counter()
    with _codec(args) as codec:
        written = transcode.decode(args.source, args.destination, codec)
    _report(written, "decoded", start)
    return 0


def _info(args: argparse.Namespace) -> int:
    import json

    from edgesdk.cli.info import describe

    info = describe(args.source)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from edgesdk.cli.demo import run_demo

    run_demo(args.out, backend=args.backend, image=args.image)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from edgesdk.eval import image_report

    from edgesdk.cli import transcode
    if args.folder and transcode.kind_of(args.folder, must_exist=True) == "video":
        from edgesdk.eval import video_report

        with _codec(args) as codec:
            report = video_report.evaluate_clip(args.folder, codec, frame_count=args.frames,
                                                keyframe_interval=args.keyframe_interval)
        paths = video_report.write_video_report(report, args.out)
        print(video_report.format_video_table(report))
    else:
        images = image_report.image_folder(args.folder)
        with _codec(args) as codec:
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
    with _codec(args) as codec:
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


def _keygen(args: argparse.Namespace) -> int:
    import os

    from edgesdk.security import generate_signing_key

    private, public = generate_signing_key()
    if args.private_key.exists():
        from edgesdk.errors import InvalidArgumentError

        raise InvalidArgumentError(f"{args.private_key} exists; refusing to overwrite a key")
    descriptor = os.open(args.private_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private)
    public_path = args.private_key.with_name(args.private_key.name + ".pub")
    public_path.write_text(public)
    print(f"wrote {args.private_key} (keep it secret) and {public_path} (give it to devices as a trusted key)")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from edgesdk.bundle import sign_bundle

    print(f"signed {args.bundle} with key {sign_bundle(args.bundle, args.key)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    import json

    from edgesdk.bundle import Bundle

    bundle = Bundle.open(args.bundle, trusted_keys=args.trusted_key or None,
                         require_signature=True if args.require_signature else None)
    print(json.dumps(bundle.describe(), indent=2) if args.json else bundle.summary())
    return 0


def _export_extra(command: str):
    """edgesdk_export, or a DependencyError that says how to install it."""
    from edgesdk.lazy import require

    hint = f'edgesdk {command} needs the export extra: pip install "edgesdk[export]"'
    require("edgesdk_export.bundle_export", hint)
    return require("edgesdk_export.int8", hint) and require("edgesdk_export", hint)


def _export(args: argparse.Namespace) -> int:
    export = _export_extra("export")
    signing_key = args.sign_key.read_bytes() if args.sign_key else None
    path = export.bundle_export.export_bundle(args.checkpoints, args.out, precisions=args.precisions,
                                              signing_key=signing_key, overwrite=args.overwrite)
    if args.int8_calibration:
        path = export.int8.add_int8_generators(path, path, args.int8_calibration, signing_key=signing_key,
                                               overwrite=True)
    print(f"wrote {path}")
    return 0


def _quantize(args: argparse.Namespace) -> int:
    export = _export_extra("quantize")
    signing_key = args.sign_key.read_bytes() if args.sign_key else None
    path = export.int8.add_int8_generators(args.bundle, args.out, args.calibration, count=args.images,
                                           signing_key=signing_key, overwrite=args.overwrite)
    print(f"wrote {path}")
    return 0


def _devices(args: argparse.Namespace) -> int:
    import json

    from edgesdk.runtime.devices import detect_profile, list_profiles, load_profile

    detected = detect_profile()
    profiles = [load_profile(name) for name in list_profiles()]
    if args.json:
        print(json.dumps([{**p.to_json(), "detected": p.name == detected} for p in profiles], indent=2))
        return 0
    for p in profiles:
        mark = "*" if p.name == detected else " "
        print(f"{mark} {p.name:22} {p.default_backend:16} {'/'.join(p.precisions):24} {p.description}")
    print(f"* detected on this host: {detected}")
    return 0


def _build_engine(args: argparse.Namespace) -> int:
    from edgesdk.bundle import Bundle
    from edgesdk.runtime.devices import GRAPHS, detect_profile, load_profile
    from edgesdk.runtime.tensorrt.engine import prepare_engine

    profile = load_profile(args.device or detect_profile())
    bundle = Bundle.open(args.bundle)
    qualities = args.quality or sorted(int(q) for q in bundle.manifest["qualities"])
    print(f"device profile {profile.name}, bundle {bundle.bundle_id[:16]}")
    for quality in qualities:
        for graph in GRAPHS:
            precision = args.generator_precision if graph == "generator" and args.generator_precision else args.precision
            prepared = prepare_engine(bundle, graph, quality, profile, precision=precision,
                                      cache_dir=args.cache_dir, dla_core=args.dla_core, force=args.force)
            for note in prepared.notes:
                print(f"note: {note}")
            action = "cached" if prepared.reused else f"built in {prepared.seconds:.1f} s"
            print(f"q{quality} {graph:10} {prepared.plan.precision:4} {action}: {prepared.path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgesdk", description="Learned image and video codecs on edge devices")
    parser.add_argument("--version", action="version", version=f"edgesdk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    selfcheck = commands.add_parser("selfcheck", help="verify the entropy coder and container against golden vectors")
    selfcheck.set_defaults(run=_selfcheck)

    encode = commands.add_parser("encode", help="encode an image, image folder or video to latents")
    encode.add_argument("source", help="image, folder, video file or URI (rtsp://, v4l2://)")
    encode.add_argument("destination", help=".eli (one image), a folder, or .elv (video)")
    _add_codec_options(encode)
    encode.add_argument("--keyframe-interval", type=int, default=32, help="video: frames per GOP")
    encode.add_argument("--b-frames", type=int, default=2, help="video: B frames between anchors")
    encode.add_argument("--max-frames", type=int, help="video: stop after this many (live sources run until Ctrl-C)")
    encode.add_argument("--step", type=float, default=1.0,
                        help="video: residual step of inter frames, 1/16 to 64 (larger: fewer bits, lower quality)")
    encode.set_defaults(run=_encode)

    decode = commands.add_parser("decode", help="decode latents to images or video")
    decode.add_argument("source", help=".eli, a folder of .eli, or .elv")
    decode.add_argument("destination", help="image file, folder, or video file")
    _add_codec_options(decode, quality=False)
    decode.set_defaults(run=_decode)

    info = commands.add_parser("info", help="inspect a latent image or video")
    info.add_argument("source")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=_info)

    demo = commands.add_parser("demo", help="encode and decode the sample photograph with the shipped model")
    demo.add_argument("--out", default="edgesdk-demo", help="folder for the side-by-side PNG (default: %(default)s)")
    demo.add_argument("--image", help="another image to use")
    demo.add_argument("--backend", choices=("onnxruntime", "pytorch", "tensorrt"), default="onnxruntime")
    demo.set_defaults(run=_demo)

    evaluate = commands.add_parser("eval", help="rate-distortion of a model against JPEG/WebP/AVIF and published curves")
    evaluate.add_argument("folder", nargs="?", help="image folder (e.g. Kodak; required) or a video clip "
                          "(then: against x264, x265, SVT-AV1)")
    evaluate.add_argument("--out", default="edgesdk-eval", help="folder for report.json, table.txt, rd.png")
    evaluate.add_argument("--qualities", type=int, nargs="+", help="default: all of the model's")
    evaluate.add_argument("--anchors", nargs="*", default=["jpeg", "webp", "avif"], choices=["jpeg", "webp", "avif"])
    evaluate.add_argument("--frames", type=int, default=30, help="video: frames from the start of the clip")
    evaluate.add_argument("--keyframe-interval", type=int, default=30, help="video: for ours and the anchors")
    _add_codec_options(evaluate, quality=False)
    evaluate.set_defaults(run=_eval)

    bench = commands.add_parser("bench", help="milliseconds per stage, fps and edgesdk's overhead over bare inference")
    bench.add_argument("--sizes", nargs="+", default=["768x512", "cif", "720p"], help="WIDTHxHEIGHT, cif, 720p, 1080p")
    bench.add_argument("--image", help="image to scale to each size (default: the sample photograph)")
    bench.add_argument("--repeats", type=int, default=5, help="runs per stage; medians are reported")
    bench.add_argument("--json", action="store_true")
    _add_codec_options(bench)
    bench.set_defaults(run=_bench)

    keygen = commands.add_parser("keygen", help="make an Ed25519 key pair for signing bundles")
    keygen.add_argument("private_key", type=Path, help="where to write the private key (PEM); PATH.pub gets the public")
    keygen.set_defaults(run=_keygen)

    sign = commands.add_parser("sign", help="sign a bundle's manifest")
    sign.add_argument("bundle", type=Path)
    sign.add_argument("--key", type=Path, required=True, help="Ed25519 private key (PEM)")
    sign.set_defaults(run=_sign)

    verify = commands.add_parser("verify", help="check a bundle's hashes and signature")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--trusted-key", type=Path, action="append", help="public key file (repeatable)")
    verify.add_argument("--require-signature", action="store_true")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(run=_verify)

    export = commands.add_parser("export", help="checkpoints → bundle (ONNX graphs + integer data + manifest)")
    export.add_argument("checkpoints", nargs="+", type=Path, help="one training checkpoint per quality level")
    export.add_argument("--out", required=True, type=Path, help="bundle folder or .edgesdk file")
    export.add_argument("--precisions", nargs="+", default=["fp32", "fp16"], choices=["fp32", "fp16"])
    export.add_argument("--sign-key", type=Path, help="Ed25519 private key (PEM) to sign the manifest")
    export.add_argument("--overwrite", action="store_true")
    export.add_argument("--int8-calibration", type=Path,
                        help="folder of training photographs: also write INT8 generators calibrated on them")
    export.set_defaults(run=_export)

    quantize = commands.add_parser("quantize", help="add INT8 generators (Q/DQ, calibrated) to a bundle")
    quantize.add_argument("bundle", help="bundle folder or .edgesdk file")
    quantize.add_argument("--calibration", required=True, type=Path,
                          help="folder of photographs to calibrate on (training data, not the evaluation set)")
    quantize.add_argument("--out", required=True, type=Path, help="bundle folder or .edgesdk file to write")
    quantize.add_argument("--images", type=int, default=32, help="random 256x256 crops of this many images")
    quantize.add_argument("--sign-key", type=Path, help="Ed25519 private key (PEM) to sign the manifest")
    quantize.add_argument("--overwrite", action="store_true")
    quantize.set_defaults(run=_quantize)

    devices = commands.add_parser("devices", help="list device profiles and mark the one detected on this host")
    devices.add_argument("--json", action="store_true", help="print the profiles as JSON")
    devices.set_defaults(run=_devices)

    build_engine = commands.add_parser("build-engine", help="build (or reuse) TensorRT engines of a bundle on this GPU")
    build_engine.add_argument("bundle", help="bundle folder or .edgesdk file")
    build_engine.add_argument("--device", help="device profile name or JSON file (default: the detected one)")
    build_engine.add_argument("--precision", choices=["fp32", "fp16", "bf16", "int8", "fp8"],
                              help="default: the profile's per graph")
    build_engine.add_argument("--generator-precision", choices=["fp32", "fp16", "bf16", "int8", "fp8"],
                              help="the generator's alone (int8: the Q/DQ graph of edgesdk quantize); default: --precision")
    build_engine.add_argument("--quality", "-q", type=int, nargs="+", help="default: every quality in the bundle")
    build_engine.add_argument("--dla-core", type=int, help="build for this DLA core (with GPU fallback)")
    build_engine.add_argument("--cache-dir", type=Path, help="engine cache (default: $EDGESDK_CACHE_DIR or "
                              "~/.cache/edgesdk/engines)")
    build_engine.add_argument("--force", action="store_true", help="rebuild even when a cached engine matches")
    build_engine.set_defaults(run=_build_engine)

    from edgesdk.cli import accessory, exchange, store  # exchange commands (docs/exchange.md)
    store.add_parser(commands)
    exchange.add_parsers(commands)
    accessory.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Error as error:
        print(f"edgesdk: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
