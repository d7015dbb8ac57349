"""What several command groups share: the codec options and the codec they open."""

from __future__ import annotations

import argparse


def open_codec(args: argparse.Namespace):
    """The ImageCodec the command's options ask for."""
    from edgesdk.codecs.image.codec import ImageCodec

    return ImageCodec(args.model, quality=getattr(args, "quality", None), backend=args.backend,
                      precision=args.precision, generator_precision=args.generator_precision, device=args.device)


def add_codec_options(parser: argparse.ArgumentParser, quality: bool = True) -> None:
    """Adds the model, quality, backend and precision options to a command."""
    from edgesdk.runtime.backends import BACKENDS, PRECISIONS

    parser.add_argument("--model", help="bundle (folder or .edgesdk file); default: the shipped model")
    if quality:
        parser.add_argument("--quality", "-q", type=int, help="quality level of the model (default: its middle one)")
    parser.add_argument("--backend", choices=BACKENDS, help="default: the device profile's, else onnxruntime")
    parser.add_argument("--precision", choices=PRECISIONS, help="default: the device profile's, else fp32")
    parser.add_argument("--generator-precision", choices=PRECISIONS,
                        help="the generator's alone (e.g. int8 after edgesdk quantize); default: --precision")
    parser.add_argument("--device", help="device profile (see: edgesdk devices) for default backend and precisions")
