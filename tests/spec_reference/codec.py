"""Image keyframes and video inter frames to their integers (docs/bitstream.md, docs/video.md,
docs/bundle.md), from a bundle read with zipfile + json only."""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile

import numpy as np

from . import cdf, container, ecdf, intnet, rans

KEY, P, B = 0, 1, 2
HYPER_LATENT, LATENT, MOTION, RESIDUAL_MODEL, COPY_BLOCKS, RESIDUAL_ROI = 1, 2, 3, 5, 6, 9
PADDED_WIDTH, PADDED_HEIGHT, RESIDUAL_STEP = 4, 5, 10
INTER_TABLES = 48
INTER_TABLES_SHA256 = "8df682019e80055b6bdc2beec9f0a28a2f1edc8c774beb1e3717766ff50a6dd1"


class Quality:
    """What one quality level of a bundle needs to parse frames."""

    def __init__(self, bundle: zipfile.ZipFile, manifest: dict, quality: int) -> None:
        data = manifest["qualities"][str(quality)]["integer_data"]
        self.hyper_tables, self.hyper_offsets = ecdf.read_tables(bundle.read(data["hyper_tables"]))
        self.latent_tables, self.latent_offsets = ecdf.read_tables(bundle.read(data["latent_tables"]))
        self.hyper_synthesis = intnet.parse(bundle.read(data["hyper_synthesis"]))
        self.latent_channels = data["latent_channels"]
        self.mean_fraction_bits = data["mean_fraction_bits"]
        self.model_id = bytes.fromhex(manifest["qualities"][str(quality)]["model_id"])


def open_bundle(path) -> tuple[zipfile.ZipFile, dict]:
    bundle = zipfile.ZipFile(path)
    return bundle, json.loads(bundle.read("manifest.json"))


def model_id(bundle: zipfile.ZipFile, manifest: dict, quality: int) -> str:
    """docs/bundle.md, "model_id"."""
    digest = hashlib.sha256(json.dumps(manifest["model"]["config"], sort_keys=True).encode("utf-8"))
    digest.update(bytes([quality]))
    level = manifest["qualities"][str(quality)]
    named = [variant["file"] for precisions in level["graphs"].values() for variant in precisions.values()]
    named += [level["integer_data"][key] for key in ("hyper_tables", "hyper_synthesis", "latent_tables")]
    for name in sorted(set(named)):
        if not name.endswith(".onnx") or name.endswith(".fp32.onnx"):
            digest.update(hashlib.sha256(bundle.read(name)).digest())
    return digest.hexdigest()


def latent_size(width: int, height: int) -> tuple[int, int]:
    """(h, w) of the latent: the frame padded up to multiples of 64, divided by 16."""
    return (height + (-height % 64)) // 16, (width + (-width % 64)) // 16


def keyframe(q: Quality, frame: container.Frame, indexes: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """z, h_s output, indexes, raw means and y of a keyframe. ``indexes``: take the latent
    tables' indexes from here instead of running h_s (to check the parse alone)."""
    if frame.model_id != q.model_id:
        raise ValueError("frame made by another model")
    h, w = latent_size(frame.width, frame.height)
    assert frame.param(PADDED_HEIGHT) == 16 * h and frame.param(PADDED_WIDTH) == 16 * w
    n = len(q.hyper_tables)
    z_indexes = np.broadcast_to(np.arange(n)[:, None, None], (n, h // 4, w // 4))
    z = rans.decode(frame.section(HYPER_LATENT), q.hyper_tables, q.hyper_offsets, z_indexes)
    out = {"z": z}
    m = q.latent_channels
    if indexes is None:
        hs = intnet.run(q.hyper_synthesis, z)
        out["hs_output"] = hs
        indexes = np.clip(hs[:m], 0, len(q.latent_tables) - 1)
        out["means_fixed"] = hs[m:]
    out["indexes"] = indexes
    out["y"] = rans.decode(frame.section(LATENT), q.latent_tables, q.latent_offsets, indexes)
    return out


# ------------------------------------------------------------------ video (docs/video.md)


def inter_scales() -> list[float]:
    s = [3277]
    while len(s) < INTER_TABLES:
        s.append((118 * s[-1] + 50) // 100)
    return [v / 65536.0 for v in s]


def inter_tables() -> tuple[list[np.ndarray], list[int], str]:
    """The 48 inter tables, their offsets and their digest (docs/video.md)."""
    built = [cdf.gaussian_cdf(s, 1e-9) for s in inter_scales()]
    rows = [np.array(c, np.int64) for c, _ in built]
    offsets = [o for _, o in built]
    width = max(len(r) for r in rows)
    padded = np.zeros((len(rows), width), "<i4")
    for t, r in enumerate(rows):
        padded[t, : len(r)] = r
    digest = hashlib.sha256(padded.tobytes())
    digest.update(np.array([len(r) for r in rows], "<i4").tobytes())
    digest.update(np.array(offsets, "<i4").tobytes())
    return rows, offsets, digest.hexdigest()


def _undifference(d: np.ndarray) -> np.ndarray:
    d = d.astype(np.int64).copy()
    d[:, 0] = np.cumsum(d[:, 0])
    return np.cumsum(d, axis=1)


def inter_frame(frame: container.Frame, latent_channels: int, tables) -> dict[str, np.ndarray]:
    rows, offsets = tables
    h, w = latent_size(frame.width, frame.height)
    out = {}
    model = frame.section(RESIDUAL_MODEL)
    if frame.frame_type == B and all(frame.section(k) is None for k in (RESIDUAL_MODEL, LATENT, RESIDUAL_ROI, COPY_BLOCKS)):
        # docs/video.md: a B frame with MOTION alone is its interpolation: every cell copied, r = 0
        out["residual"] = np.zeros((latent_channels, h, w), np.int64)
        out["copy_blocks"] = np.ones((h, w), np.int64)
        return out | _motion(frame, rows, offsets)
    layout, base, code_table, offset_table = model[:4]
    tile, skips_copied = layout & 0x7F, bool(layout & 0x80)  # docs/video.md: bit 7 = SKIPS_COPIED
    grid = (-(-h // tile), -(-w // tile)) if tile else (0, 0)
    m = latent_channels
    idx = np.array([code_table] * m + [offset_table] * (grid[0] * grid[1]))
    values = rans.decode(model[4:], rows, offsets, idx).astype(np.int64)
    codes, tile_offsets = values[:m], values[m:].reshape(grid)
    channel = np.where(codes == 0, 0, np.where(codes > 0, codes - 1, codes) + base)
    spatial = np.zeros((h, w), np.int64)
    if tile:
        spatial = np.repeat(np.repeat(tile_offsets, tile, 0), tile, 1)[:h, :w]
    indexes = np.clip(channel[:, None, None] + spatial[None], 0, INTER_TABLES - 1)
    stream = frame.section(LATENT)
    region = frame.section(RESIDUAL_ROI)
    if region is not None:  # docs/roi.md, "Inter frames": levels, map, then the residual
        count = region[0]
        levels = [struct.unpack_from("<Hb", region, 1 + 3 * k) for k in range(count)]
        table, = region[1 + 3 * count: 2 + 3 * count]
        (length,) = struct.unpack_from("<I", region, 2 + 3 * count)
        start = 6 + 3 * count
        level_map = _undifference(rans.decode(region[start: start + length], rows, offsets, np.full((h, w), table)))
        shifts = np.array([d for _, d in levels])[level_map]
        indexes = np.clip(indexes + shifts[None], 0, INTER_TABLES - 1)
        stream = region[start + length:]
        out["region_map"] = level_map
        out["region_step_sixteenths"] = np.array([c for c, _ in levels])
    copy = frame.section(COPY_BLOCKS)
    if copy is not None:
        out["copy_blocks"] = _undifference(rans.decode(copy[1:], rows, offsets, np.full((h, w), copy[0])))
    if skips_copied:  # only the elements of cells not copied, in C order
        if copy is None:
            raise ValueError("SKIPS_COPIED without a COPY_BLOCKS section")
        kept = out["copy_blocks"] == 0
        out["residual"] = np.zeros((m, h, w), np.int64)
        out["residual"][:, kept] = rans.decode(stream, rows, offsets, indexes[:, kept])
    else:
        out["residual"] = rans.decode(stream, rows, offsets, indexes)
    return out | _motion(frame, rows, offsets)


def _motion(frame: container.Frame, rows, offsets) -> dict[str, np.ndarray]:
    out = {}
    motion = frame.section(MOTION)
    if motion is not None:
        mode, block_log2, fraction_bits = motion[:3]
        if frame.frame_type != B and (mode != 1 or frame.param(16) is not None):
            # docs/video.md: a P frame's motion is forward only, never with LATENT_PREDICTION
            raise ValueError("P-frame motion with a mode other than forward, or with latent prediction")
        fields = {0: ("past", "future"), 1: ("past",), 2: ("future",), 3: ()}[mode]
        if fields:
            size = 1 << block_log2
            by, bx = -(-frame.height // size), -(-frame.width // size)  # unpadded frame, partial blocks
            tabs = list(motion[3: 3 + 2 * len(fields)])
            idx = np.broadcast_to(np.array(tabs)[:, None, None], (len(tabs), by, bx))
            v = rans.decode(motion[3 + 2 * len(fields):], rows, offsets, idx)
            for k, name in enumerate(fields):
                out[f"motion_{name}"] = np.stack([_undifference(v[2 * k]), _undifference(v[2 * k + 1])], -1)
    return out
