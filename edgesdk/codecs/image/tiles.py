"""Running the float transforms of an image tile by tile: a large picture is analysed and
synthesised in overlapping tiles (each with a halo wider than the transforms' receptive
fields), so memory stays bounded and the stitched result matches one whole run to float
noise. Also the conversions between uint8 pixels and the transforms' float tensors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgesdk.limits import Limits

LATENT_DOWNSAMPLING = 16

Analyze = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
Synthesize = Callable[[np.ndarray], np.ndarray]


# Context each tile reads beyond its core, in pixels: more than the receptive fields of the
# compressor (g_a, then h_a at 1/16) and of the generator, so tiles stitch to float noise.
TILE_HALO = 128


def _runs_whole(height: int, width: int, tile: int | None) -> bool:
    """Whether the transforms take the image in one piece: by area, so that a 720p frame or a
    wide strip is not split while no single run exceeds what one tile with its halo costs."""
    return tile is None or height * width <= (tile + TILE_HALO) ** 2


def _check_runs(height: int, width: int, tile: int | None, limits: Limits | None) -> None:
    """LimitExceededError when one transform run (a tile with its halo, or the whole image)
    would exceed ``limits.max_tile_pixels``."""
    if limits is None:
        return
    if _runs_whole(height, width, tile):
        limits.check_tile(height, width)
    else:
        limits.check_tile(min(height, tile + 2 * TILE_HALO), min(width, tile + 2 * TILE_HALO))


def _spans(size: int, core: int, halo: int) -> list[tuple[int, int, int, int]]:
    """(core start, core end, input start, input end) along one axis, all multiples of 64."""
    spans = []
    for start in range(0, size, core):
        end = min(size, start + core)
        spans.append((start, end, max(0, start - halo), min(size, end + halo)))
    return spans


def tiled_analyze(analyze: Analyze, padded: np.ndarray, tile: int | None,
                  limits: Limits | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(y [M, H/16, W/16], z [N, H/64, W/64]) of an edge-padded uint8 image, at most one
    tile (plus halo) converted to float at a time, each run within ``limits.max_tile_pixels``."""
    height, width = padded.shape[:2]
    _check_runs(height, width, tile, limits)
    if _runs_whole(height, width, tile):
        y, z = analyze(to_tensor(padded))
        return np.asarray(y)[0], np.asarray(z)[0]
    y_full = z_full = None
    for r0, r1, in_r0, in_r1 in _spans(height, tile, TILE_HALO):
        for c0, c1, in_c0, in_c1 in _spans(width, tile, TILE_HALO):
            y, z = (np.asarray(t)[0] for t in analyze(to_tensor(padded[in_r0:in_r1, in_c0:in_c1])))
            if y_full is None:
                y_full = np.empty((y.shape[0], height // 16, width // 16), np.float32)
                z_full = np.empty((z.shape[0], height // 64, width // 64), np.float32)
            for full, part, scale in ((y_full, y, 16), (z_full, z, 64)):
                full[:, r0 // scale : r1 // scale, c0 // scale : c1 // scale] = part[
                    :, (r0 - in_r0) // scale : (r1 - in_r0) // scale, (c0 - in_c0) // scale : (c1 - in_c0) // scale]
    return y_full, z_full


def tiled_synthesize(synthesize: Synthesize, y_hat: np.ndarray, tile: int | None,
                     limits: Limits | None = None) -> np.ndarray:
    """The uint8 HxWx3 image of ŷ [M, h, w], tile by tile when it is large."""
    height, width = y_hat.shape[1] * LATENT_DOWNSAMPLING, y_hat.shape[2] * LATENT_DOWNSAMPLING
    _check_runs(height, width, tile, limits)
    if _runs_whole(height, width, tile):
        return to_pixels(synthesize(y_hat[None]))
    image = np.empty((height, width, 3), np.uint8)
    s = LATENT_DOWNSAMPLING
    for r0, r1, in_r0, in_r1 in _spans(height, tile, TILE_HALO):
        for c0, c1, in_c0, in_c1 in _spans(width, tile, TILE_HALO):
            part = to_pixels(synthesize(y_hat[None, :, in_r0 // s : in_r1 // s, in_c0 // s : in_c1 // s]))
            image[r0:r1, c0:c1] = part[r0 - in_r0 : r1 - in_r0, c0 - in_c0 : c1 - in_c0]
    return image


def to_tensor(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 pixels as the 1x3xHxW float32 tensor (0..1) the compressor takes."""
    return pixels.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255.0)


def to_pixels(x: np.ndarray) -> np.ndarray:
    """A 1x3xHxW tensor from the generator as HxWx3 uint8 pixels (rounded, clipped)."""
    x = np.asarray(x)[0]
    return np.clip(np.rint(x.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
