"""Transformation identifiers on integer latents (docs/latent-edit.md): each maps (ŷ·16, ẑ,
width, height) to new ones, structurally and exactly, in integers.

ŷ is handled as ``q = 16·ŷ`` (int64: ŷ is a multiple of 1/16), ẑ as int32. The latent grid
is 16 pixels, the hyper-latent grid 64: operations that move ẑ cells need positions on the
64-pixel grid, so that each ẑ cell keeps describing the latent cells it was coded with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from edgesdk.errors import InvalidArgumentError

LATENT = 16
HYPER = 64


@dataclass(frozen=True)
class Latents:
    """A frame's integers: ``q`` int64 [M, h, w] (16·ŷ), ``z`` int32 [N, h/4, w/4], visible size."""

    q: np.ndarray
    z: np.ndarray
    width: int
    height: int


@dataclass(frozen=True)
class Transform:
    """One transformation identifier with its integer parameters."""

    name: str
    params: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.name == "contrast" and len(self.params) == 1 and self.params[0] >= 0:  # recorded in hundredths, written as F
            whole, hundredths = divmod(self.params[0], 100)
            return f"contrast={whole}" + (f".{hundredths:02d}".rstrip("0") if hundredths else "")
        return self.name + ("=" + ",".join(map(str, self.params)) if self.params else "")


LEVELS_RANGE = (-255, 255)  # brightness=D, colour=R,G,B
CONTRAST_RANGE = (50, 200)  # contrast=F, F in hundredths
INT32 = (-(2**31), 2**31 - 1)  # what the TRANSFORMS section records per parameter
# name: (identifier in the bitstream, allowed parameter counts, help)
TRANSFORMS = {
    "hflip": (1, (0,), "mirror left-right (width a multiple of 64)"),
    "rot90": (2, (0, 1), "rotate counter-clockwise by 90°·K, K = 1, 2, 3 (default 1; sides multiples of 64)"),
    "crop": (3, (4,), "X,Y,W,H in pixels: X, Y multiples of 64, W, H multiples of 16, inside the picture"),
    "redact": (4, (4,), "X,Y,W,H in pixels on the 64 grid: the latent and hyper-latent cells become constants"),
    "downscale": (5, (1,), "F = 2 or 4: a thumbnail 1/F the size (padded sides multiples of 64·F)"),
    "brightness": (6, (1,), "D in -255..255: add D levels of luma through the model's brightness latent"),
    "colour": (7, (3,), "R,G,B in -255..255 each: add levels per RGB channel through the model's colour latents"),
    "contrast": (8, (1,), f"F in {CONTRAST_RANGE[0] / 100}..{CONTRAST_RANGE[1] / 100}, two decimals at most: "
                          "scale contrast about mid-grey by F through the model's grey latent"),
}
IDS = {ident: name for name, (ident, _, _) in TRANSFORMS.items()}


def parse_transform(text: str) -> Transform:
    """``NAME`` or ``NAME=P1,P2,…`` (integers; ``contrast=F`` a decimal, kept in hundredths);
    InvalidArgumentError listing the transforms, or saying what the parameters must be."""
    if not isinstance(text, str) or len(text) > 200:
        raise InvalidArgumentError(f"a transform is NAME or NAME=P1,P2,... (text, at most 200 characters), "
                                   f"not {str(text)[:40]!r}")
    match = re.fullmatch(r"\s*([a-z0-9]+)\s*(?:=(.*))?", text, re.DOTALL)
    known = "; ".join(f"{n} ({h})" for n, (_, _, h) in TRANSFORMS.items())
    if match is None or match.group(1) not in TRANSFORMS:
        raise InvalidArgumentError(f"unknown transform {text!r}; transforms are: {known}")
    name, values = match.group(1), match.group(2)
    usage = f"{name} takes {' or '.join(map(str, TRANSFORMS[name][1]))} parameter(s): {TRANSFORMS[name][2]}"
    parts = [p.strip() for p in values.split(",")] if values is not None else []
    if len(parts) not in TRANSFORMS[name][1]:
        raise InvalidArgumentError(usage)
    if name == "contrast":
        if not re.fullmatch(r"\+?\d{1,3}(?:\.\d{0,2})?", parts[0], re.ASCII):
            raise InvalidArgumentError(f"contrast={parts[0]!r}: {usage}")
        whole, _, fraction = parts[0].lstrip("+").partition(".")
        return Transform(name, (int(whole) * 100 + int((fraction + "00")[:2]),))
    if not all(re.fullmatch(r"[-+]?\d{1,10}", p, re.ASCII) for p in parts):
        raise InvalidArgumentError(f"{text.strip()!r}: parameters are integers; {usage}")
    params = tuple(int(p) for p in parts)
    if not all(INT32[0] <= p <= INT32[1] for p in params):
        raise InvalidArgumentError(f"{text.strip()!r}: a parameter is out of range; {usage}")
    return Transform(name, params)


def _require(condition: bool, transform: Transform, message: str) -> None:
    if not condition:
        raise InvalidArgumentError(f"{transform}: {message}")


def _pad_cells(a: np.ndarray, multiple: int) -> np.ndarray:
    """Edge-replicates the last rows/columns up to a multiple of ``multiple`` cells."""
    rows, cols = (-a.shape[1]) % multiple, (-a.shape[2]) % multiple
    return np.pad(a, ((0, 0), (0, rows), (0, cols)), mode="edge") if rows or cols else a


def apply(transform: Transform, latents: Latents) -> Latents:
    """The latents after ``transform`` (checked against the picture's size first)."""
    q, z, width, height = latents.q, latents.z, latents.width, latents.height
    name, params = transform.name, transform.params
    if name == "hflip":
        _require(width % HYPER == 0, transform, f"width {width} is not a multiple of {HYPER}; crop first")
        return Latents(q[:, :, ::-1].copy(), z[:, :, ::-1].copy(), width, height)
    if name == "rot90":
        turns = params[0] if params else 1
        _require(turns in (1, 2, 3), transform, "K must be 1, 2 or 3")
        _require(width % HYPER == 0 and height % HYPER == 0, transform,
                 f"{width}x{height} is not on the {HYPER}-pixel grid; crop first")
        size = (height, width) if turns % 2 else (width, height)
        return Latents(np.rot90(q, turns, (1, 2)).copy(), np.rot90(z, turns, (1, 2)).copy(), *size)
    if name == "crop":
        x, y, w, h = params
        _require(x % HYPER == 0 and y % HYPER == 0, transform, f"X and Y must be multiples of {HYPER}")
        _require(w > 0 and h > 0 and w % LATENT == 0 and h % LATENT == 0, transform,
                 f"W and H must be positive multiples of {LATENT}")
        _require(x + w <= width and y + h <= height, transform, f"the rectangle leaves the {width}x{height} picture")
        cells = q[:, y // LATENT:(y + h) // LATENT, x // LATENT:(x + w) // LATENT]
        hyper = z[:, y // HYPER:-(-(y + h) // HYPER), x // HYPER:-(-(x + w) // HYPER)]
        return Latents(_pad_cells(cells, HYPER // LATENT).copy(), hyper.copy(), w, h)
    if name == "redact":
        x, y, w, h = params
        _require(all(v % HYPER == 0 for v in params) and w > 0 and h > 0, transform,
                 f"X, Y, W, H must be multiples of {HYPER} (W, H > 0)")
        _require(x < width and y < height, transform, f"the rectangle misses the {width}x{height} picture")
        q, z = q.copy(), z.copy()
        q[:, y // LATENT:(y + h) // LATENT, x // LATENT:(x + w) // LATENT] = 0
        z[:, y // HYPER:(y + h) // HYPER, x // HYPER:(x + w) // HYPER] = 0
        return Latents(q, z, width, height)
    if name in ("brightness", "colour"):
        low, high = LEVELS_RANGE
        _require(all(low <= p <= high for p in params), transform,
                 "D must be in -255..255" if name == "brightness" else "R, G and B must each be in -255..255")
        return latents  # the model's constant latents are added by the recoder (edgesdk.edit.recode)
    if name == "contrast":
        _require(CONTRAST_RANGE[0] <= params[0] <= CONTRAST_RANGE[1], transform,
                 f"F must be in {CONTRAST_RANGE[0] / 100}..{CONTRAST_RANGE[1] / 100}")
        return latents  # scaled about the model's grey latent by the recoder
    factor = params[0]
    _require(factor in (2, 4), transform, "F must be 2 or 4")
    _require(q.shape[1] % (4 * factor) == 0 and q.shape[2] % (4 * factor) == 0, transform,
             f"the padded picture must be a multiple of {HYPER * factor} pixels each way")
    return Latents(_mean_pool(q, factor), _mean_pool(z, factor).astype(np.int32),
                   -(-width // factor), -(-height // factor))


def map_name(transform: Transform) -> str | None:
    """The learned channel map that completes a structural transform (docs/latent-edit.md):
    the generator is not mirror- or rotation-equivariant, so moving cells is not enough."""
    if transform.name == "hflip":
        return "hflip"
    if transform.name == "rot90":
        return {1: "rot90", 2: "rot180", 3: "rot270"}[transform.params[0] if transform.params else 1]
    if transform.name == "downscale":
        return f"downscale{transform.params[0]}"
    return None


def _mean_pool(a: np.ndarray, factor: int) -> np.ndarray:
    """Mean of ``factor``×``factor`` cells, rounded half up, in integers."""
    c, h, w = a.shape
    sums = a.astype(np.int64).reshape(c, h // factor, factor, w // factor, factor).sum(axis=(2, 4))
    n = factor * factor
    return (sums + n // 2) // n
