"""Commands on bundles: keygen, sign, verify, and (with the export extra) export and quantize."""

from __future__ import annotations

import argparse
from pathlib import Path


def _keygen(args: argparse.Namespace) -> int:
    import os

    from edgesdk.security import generate_signing_key

    if args.x25519:
        from edgesdk.security.recipients import generate_recipient_key, load_recipient_public_key, recipient_id

        public_path = generate_recipient_key(args.private_key, args.comment or args.private_key.name.split(".")[0])
        print(f"wrote {args.private_key} (a decoder's private key: keep it on the viewer) and {public_path} "
              f"(give it to cameras: publish --encrypt {public_path}); recipient "
              f"{recipient_id(load_recipient_public_key(public_path))}")
        return 0

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


def export_extra(command: str):
    """edgesdk_export, or a DependencyError that says how to install it."""
    from edgesdk.lazy import require

    hint = f'edgesdk {command} needs the export extra: pip install "edgesdk[export]"'
    require("edgesdk_export.bundle_export", hint)
    return require("edgesdk_export.int8", hint) and require("edgesdk_export", hint)


def _export(args: argparse.Namespace) -> int:
    export = export_extra("export")
    signing_key = args.sign_key.read_bytes() if args.sign_key else None
    path = export.bundle_export.export_bundle(args.checkpoints, args.out, precisions=args.precisions,
                                              signing_key=signing_key, overwrite=args.overwrite)
    if args.int8_calibration:
        path = export.int8.add_int8_generators(path, path, args.int8_calibration, signing_key=signing_key,
                                               overwrite=True)
    print(f"wrote {path}")
    return 0


def _quantize(args: argparse.Namespace) -> int:
    export = export_extra("quantize")
    signing_key = args.sign_key.read_bytes() if args.sign_key else None
    path = export.int8.add_int8_generators(args.bundle, args.out, args.calibration, count=args.images,
                                           signing_key=signing_key, overwrite=args.overwrite)
    print(f"wrote {path}")
    return 0


def add_commands(commands) -> None:
    """Adds this group's subcommands to the ``edgesdk`` parser's ``commands``."""
    keygen = commands.add_parser("keygen", help="make an Ed25519 key pair for signing bundles")
    keygen.add_argument("private_key", type=Path, help="where to write the private key (PEM); PATH.pub gets the public")
    keygen.add_argument("--x25519", action="store_true",
                        help="a decoder's key pair for encrypted latents (default: Ed25519 for signing bundles)")
    keygen.add_argument("--comment", help="--x25519: a label written in PATH.pub (default: the file name's stem)")
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
