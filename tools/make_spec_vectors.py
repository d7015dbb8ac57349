#!/usr/bin/env python3
"""Regenerates the bitstream-spec test vectors in docs/spec/vectors/ (docs/spec/README.md).

Encodes small crops of edgesdk/data/samples/kodim23.png with the shipped model
(edgesdk/data/models/lite.edgesdk, ONNX Runtime fp32) and stores, next to each stream, the
integers it decodes to. The streams depend on the float compressor, so a rerun on another
machine or ONNX Runtime version may give other (equally valid) streams; the integers always
match their own stream. Usage: python tools/make_spec_vectors.py [--out docs/spec/vectors]
[--only NAME ...] (regenerate only these vectors, keeping the others and their index entries)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from edgesdk.bitstream.container import Frame, FrameType, SectionKind
from edgesdk.codecs.image.codec import ImageCodec, LATENT_DOWNSAMPLING
from edgesdk.shapes import PAD_MULTIPLE
from edgesdk.codecs.image.entropy_model import HYPER_DOWNSAMPLING
from edgesdk.codecs.model import load_image
from edgesdk.bitstream.packets import PacketReader
from edgesdk.codecs.video import VideoEncoder, parse_video_frame
from edgesdk.codecs.video.residual import SKIPS_COPIED

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "edgesdk" / "data" / "samples" / "kodim23.png"

# name: (top, left, height, width, quality)
IMAGES = {
    "kodim23_64x64_q1": (200, 300, 64, 64, 1),
    "kodim23_64x64_q4": (200, 300, 64, 64, 4),
    "kodim23_70x45_q1": (180, 250, 45, 70, 1),
    "kodim23_70x45_q4": (180, 250, 45, 70, 4),
}
VIDEO = "kodim23_3frames_70x45_q2"
BACKGROUND_VIDEO = "kodim23_6frames_70x45_q2_background"
SKIP_VIDEO = "kodim23_6frames_70x45_q2_skips_copied"
ALONE_VIDEO = "kodim23_6frames_70x45_q2_interpolation_only"
MOTION_P_VIDEO = "kodim23_6frames_70x45_q2_motion_p"


def keyframe_integers(codec: ImageCodec, data: bytes) -> dict[str, np.ndarray]:
    """z symbols, h_s outputs (table indexes after the clamp, raw fixed-point means) and y symbols."""
    frame = Frame.parse(data)
    model = codec.codec(frame.quality).entropy_model
    padded_h = -frame.height % PAD_MULTIPLE + frame.height
    padded_w = -frame.width % PAD_MULTIPLE + frame.width
    h, w = padded_h // LATENT_DOWNSAMPLING, padded_w // LATENT_DOWNSAMPLING
    z_shape = (model.hyper_channels, h // HYPER_DOWNSAMPLING, w // HYPER_DOWNSAMPLING)
    z_indexes = np.broadcast_to(np.arange(z_shape[0], dtype=np.int32)[:, None, None], z_shape)
    z = model.hyper_tables.decode(frame.section(SectionKind.HYPER_LATENT).data, z_indexes)
    out = model.hyper_synthesis.run(z)
    m = model.latent_channels
    indexes = np.clip(out[:m], 0, model.latent_tables.num_tables - 1).astype(np.int32)
    means = out[m:].astype(np.int32)
    y = model.latent_tables.decode(frame.section(SectionKind.LATENT).data, indexes)
    return {"z": z.astype(np.int32), "hs_output": out.astype(np.int32), "indexes": indexes,
            "means_fixed": means, "y": y.astype(np.int32)}


def write_video_vector(path: Path, codec: ImageCodec, frames: list[np.ndarray], **options) -> dict:
    """Encodes ``frames`` at quality 2 into ``path``.elv, the integers of each frame into
    ``path``.npz; returns the vector's index entry."""
    encoder = VideoEncoder(codec.codec(2), **options)
    for frame in frames:
        encoder.push(frame)
    packets = encoder.pull()
    encoder.flush()
    packets += encoder.pull()
    stream = b"".join(p.to_bytes() for p in packets)
    path.with_suffix(".elv").write_bytes(stream)
    reader = PacketReader()
    payloads = [p.payload for p in reader.feed(stream)]
    arrays: dict[str, np.ndarray] = {}
    summary = []
    for k, payload in enumerate(p for p in payloads if len(p)):
        _, syntax = parse_video_frame(payload, codec.model.entropy_model(2).latent_channels)
        entry = {"decode_order": k, "type": syntax.frame_type.name, "display_index": syntax.display_index,
                 "bytes": len(payload)}
        if bytes(payload[:4]) == b"EDGI":
            entry["compact"] = True
        if syntax.latent_prediction:
            entry["latent_prediction"] = True
        for key in ("background_id", "background_reference"):
            if getattr(syntax, key) is not None:
                entry[key] = getattr(syntax, key)
        if syntax.frame_type == FrameType.KEY:
            for key, value in keyframe_integers(codec, bytes(payload)).items():
                arrays[f"f{k}_{key}"] = value
        else:
            model = Frame.parse(payload).section(SectionKind.RESIDUAL_MODEL)
            if model is None:
                entry["interpolation_only"] = True
            elif model.data[0] & SKIPS_COPIED:
                entry["skips_copied"] = True
            arrays[f"f{k}_residual"] = syntax.residual.astype(np.int32)
            entry["step_sixteenths"] = int(round(syntax.step * 16))
            if syntax.copy_blocks is not None:
                arrays[f"f{k}_copy_blocks"] = syntax.copy_blocks.astype(np.int32)
            if syntax.motion is not None:
                motion = syntax.motion
                if syntax.frame_type == FrameType.P:
                    entry["motion_compensated"] = True
                entry["motion"] = {"mode": int(motion.mode), "block_log2": motion.block_log2,
                                   "fraction_bits": motion.fraction_bits}
                for field in ("past", "future"):
                    if getattr(motion, field) is not None:
                        arrays[f"f{k}_motion_{field}"] = getattr(motion, field).astype(np.int32)
        summary.append(entry)
    np.savez_compressed(path.with_suffix(".npz"), **arrays)
    height, width = frames[0].shape[:2]
    return {"width": width, "height": height, "quality": 2, "frames": summary, "bytes": len(stream),
            "arrays": {k: list(v.shape) for k, v in arrays.items()}}


def moving_patch(image: np.ndarray) -> list[np.ndarray]:
    """6 frames of a still 70x45 window with a bright 12x12 patch moving 3 pixels right per frame."""
    still = np.ascontiguousarray(image[100:145, 400:470])
    frames = []
    for k in range(6):
        frame = still.copy()
        frame[10:22, 5 + 3 * k : 17 + 3 * k] = (250, 240, 40)
        frames.append(frame)
    return frames


def write_skip_vector(out: Path, codec: ImageCodec, image: np.ndarray) -> dict:
    """The moving patch with residuals that leave out copied cells and B frames at twice the step."""
    return write_video_vector(out / SKIP_VIDEO, codec, moving_patch(image), keyframe_interval=6, b_frames=1,
                              skip_copied=True, b_step_ratio=2.0)


def write_alone_vector(out: Path, codec: ImageCodec, image: np.ndarray) -> dict:
    """A still window, K0 P5 B1 … B4: the B frames sent as their interpolation alone (MOTION
    only, compact headers: flag bit 3)."""
    still = [np.ascontiguousarray(image[100:145, 400:470])] * 6
    entry = write_video_vector(out / ALONE_VIDEO, codec, still, keyframe_interval=6, b_frames=4,
                               interpolation_only_b=True, compact_headers=True, try_p_only=False)
    if not any(frame.get("interpolation_only") for frame in entry["frames"]):
        raise SystemExit("the interpolation-only vector has no B frame sent as its interpolation alone")
    return entry


def panning(image: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` frames of a 70x45 window panning 3 pixels right and 2 down per frame (the motion
    grid, 2x3 blocks of 32, differs from the padded frame's 2x4: partial blocks are exercised)."""
    return [np.ascontiguousarray(image[100 + 2 * k : 145 + 2 * k, 400 + 3 * k : 470 + 3 * k]) for k in range(count)]


def write_motion_p_vector(out: Path, codec: ImageCodec, image: np.ndarray) -> dict:
    """The panning window in GOPs of 3 with motion-compensated P frames: K0 (background 0) P2 B1 |
    P3 (from the background, full layout) P5 B4, compact P and B frames (flag bit 4)."""
    entry = write_video_vector(out / MOTION_P_VIDEO, codec, panning(image, 6), keyframe_interval=3, b_frames=1,
                               background=True, scene_change=1.0, compact_headers=True, try_p_only=False,
                               motion_compensated_p=True)
    moved = [(f.get("compact", False), "background_reference" in f) for f in entry["frames"]
             if f.get("motion_compensated")]
    if not ((True, False) in moved and (False, True) in moved):
        raise SystemExit(f"the motion-compensated P vector lacks a compact or a background P frame with motion: {moved}")
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "spec" / "vectors")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="vectors to regenerate (e.g. "
                        f"{MOTION_P_VIDEO}.elv); the others and their index entries are kept")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    image = load_image(SAMPLE)
    codec = ImageCodec("lite", backend="onnxruntime", precision="fp32", threads=2)  # not the default model
    if args.only:
        kept = json.loads((args.out / "index.json").read_text())
        writers = {f"{ALONE_VIDEO}.elv": write_alone_vector, f"{SKIP_VIDEO}.elv": write_skip_vector,
                   f"{MOTION_P_VIDEO}.elv": write_motion_p_vector}
        unknown = sorted(set(args.only) - set(writers))
        if unknown:
            raise SystemExit(f"--only regenerates {', '.join(sorted(writers))}; not {', '.join(unknown)}")
        for name in args.only:
            kept[name] = writers[name](args.out, codec, image)
        (args.out / "index.json").write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
        return
    index = {}
    for name, (top, left, height, width, quality) in IMAGES.items():
        crop = np.ascontiguousarray(image[top : top + height, left : left + width])
        data = codec.encode(crop, quality=quality)
        (args.out / f"{name}.eli").write_bytes(data)
        arrays = keyframe_integers(codec, data)
        np.savez_compressed(args.out / f"{name}.npz", **arrays)
        index[f"{name}.eli"] = {"width": width, "height": height, "quality": quality, "crop_top_left": [top, left],
                                "bytes": len(data), "arrays": {k: list(v.shape) for k, v in arrays.items()}}

    index[f"{VIDEO}.elv"] = write_video_vector(args.out / VIDEO, codec, panning(image, 3), keyframe_interval=8,
                                               b_frames=1)
    # Fixed-environment coding: the moving patch in GOPs of 3: K0 (background 0) P2 B1 | P3 (from
    # the background) P5 B4, P and B frames in compact headers, P frames predicted from their
    # reference's latent.
    index[f"{BACKGROUND_VIDEO}.elv"] = write_video_vector(args.out / BACKGROUND_VIDEO, codec, moving_patch(image),
                                                          keyframe_interval=3, b_frames=1, background=True,
                                                          compact_headers=True, latent_prediction=True)
    index[f"{SKIP_VIDEO}.elv"] = write_skip_vector(args.out, codec, image)
    index[f"{ALONE_VIDEO}.elv"] = write_alone_vector(args.out, codec, image)
    index[f"{MOTION_P_VIDEO}.elv"] = write_motion_p_vector(args.out, codec, image)
    (args.out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    for path in sorted(args.out.iterdir()):
        print(f"{path.stat().st_size:8d}  {path}")


if __name__ == "__main__":
    main()
