"""Search feature identifiers: a small integer network (EINT, docs/integer-network.md) from a
frame's parsed latent ŷ to a search code, one number per component (docs/latent-search.md).

The network runs per latent cell in the C++ core, bit-identically on every device; each
component is then pooled over the frame's visible cells in integers (the floor of the mean,
or the maximum) and clamped, so the integer code is the same everywhere. The float code is
``integer · scale + offset`` in float32 (IEEE: also the same everywhere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgesdk.bitstream.intnet import IntNetwork
from edgesdk.errors import BundleIntegrityError, InvalidArgumentError

IDENTIFIER_INPUT_SCALE = 4  # the network reads round(4·ŷ): ŷ in steps of 1/4
INPUT_LIMIT = 127
LATENT_DOWNSAMPLING = 16
POOLINGS = ("mean", "max")


def latent_input(y_hat: np.ndarray, height: int, width: int) -> np.ndarray:
    """The identifier's input for ŷ [M, h, w] of a ``height`` × ``width`` frame: the latent
    cells that cover visible pixels, as int8 ``clip(floor(4·ŷ + 1/2), -127, 127)`` (exact:
    ŷ is a multiple of 1/16, so 4·ŷ + 1/2 is computed without rounding in float32)."""
    y_hat = np.asarray(y_hat, dtype=np.float32)
    if y_hat.ndim != 3:
        raise InvalidArgumentError(f"expected ŷ [M, h, w], got shape {y_hat.shape}")
    rows, cols = -(-int(height) // LATENT_DOWNSAMPLING), -(-int(width) // LATENT_DOWNSAMPLING)
    if not (0 < rows <= y_hat.shape[1] and 0 < cols <= y_hat.shape[2]):
        raise InvalidArgumentError(f"a {width}x{height} frame does not fit a latent of {y_hat.shape[1:]} cells")
    scaled = np.floor(y_hat[:, :rows, :cols] * np.float32(IDENTIFIER_INPUT_SCALE) + np.float32(0.5))
    return np.clip(scaled, -INPUT_LIMIT, INPUT_LIMIT).astype(np.int8)


@dataclass(frozen=True)
class Component:
    """One number of the code: its name, how cells pool, its integer clamp and dequantization."""

    name: str
    pooling: str
    scale: float
    offset: float = 0.0
    low: int = -(2**31)
    high: int = 2**31 - 1

    @classmethod
    def from_manifest(cls, entry: object, where: str) -> Component:
        """A component from its manifest object; BundleIntegrityError naming ``where`` if malformed."""
        if not isinstance(entry, dict):
            raise BundleIntegrityError(f"{where} must be an object")
        name, pooling = entry.get("name"), entry.get("pooling")
        numbers = [entry.get(key, default) for key, default in (("scale", None), ("offset", 0.0))]
        limits = [entry.get(key, default) for key, default in (("low", cls.low), ("high", cls.high))]
        ok = (isinstance(name, str) and name.isidentifier() and pooling in POOLINGS
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in numbers)
              and all(isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31 for v in limits)
              and limits[0] <= limits[1])
        if not ok:
            raise BundleIntegrityError(f"{where}: needs a name (identifier), pooling in {POOLINGS}, a finite "
                                       f"scale and offset, and integer low <= high")
        return cls(name, pooling, float(numbers[0]), float(numbers[1]), int(limits[0]), int(limits[1]))

    def to_manifest(self) -> dict:
        """The manifest object of this component."""
        return {"name": self.name, "pooling": self.pooling, "scale": self.scale, "offset": self.offset,
                "low": self.low, "high": self.high}


class FeatureIdentifier:
    """A search feature identifier: ``code(ŷ, height, width)`` → float32 [K]."""

    def __init__(self, network: IntNetwork | bytes, components: list[Component]) -> None:
        self.network = network if isinstance(network, IntNetwork) else IntNetwork(network)
        self.components = tuple(components)
        if not self.components or len({c.name for c in self.components}) != len(self.components):
            raise BundleIntegrityError("a feature identifier needs at least one component, each named once")
        probe = self.network.run(np.zeros((self.network.input_channels, 1, 1), np.int32))
        if probe.shape != (len(self.components), 1, 1):
            raise BundleIntegrityError(f"the identifier network gives {probe.shape[0]} channels per cell for "
                                       f"{len(self.components)} components")

    @property
    def names(self) -> tuple[str, ...]:
        """The components' names, in code order."""
        return tuple(c.name for c in self.components)

    @property
    def dimensions(self) -> int:
        """Length of the code."""
        return len(self.components)

    def integer_code(self, y_hat: np.ndarray, height: int, width: int) -> np.ndarray:
        """The integer code (int64 [K]) of ŷ [M, h, w]: bit-identical on every device."""
        x = latent_input(y_hat, height, width)
        if x.shape[0] != self.network.input_channels:
            raise InvalidArgumentError(f"the identifier reads {self.network.input_channels} latent channels, "
                                       f"the frame has {x.shape[0]}")
        cells = self.network.run(x).astype(np.int64).reshape(self.dimensions, -1)
        code = np.empty(self.dimensions, np.int64)
        for k, component in enumerate(self.components):
            pooled = cells[k].max() if component.pooling == "max" else cells[k].sum() // cells.shape[1]
            code[k] = min(max(int(pooled), component.low), component.high)
        return code

    def dequantize(self, integer_code: np.ndarray) -> np.ndarray:
        """float32 ``integer · scale + offset`` per component."""
        scale = np.array([c.scale for c in self.components], np.float32)
        offset = np.array([c.offset for c in self.components], np.float32)
        return np.asarray(integer_code).astype(np.float32) * scale + offset

    def code(self, y_hat: np.ndarray, height: int, width: int) -> np.ndarray:
        """The search code (float32 [K]) of ŷ [M, h, w] of a ``height`` × ``width`` frame."""
        return self.dequantize(self.integer_code(y_hat, height, width))


def identifier_from_manifest(entry: dict, blob: bytes, where: str) -> FeatureIdentifier:
    """The identifier a bundle's ``qualities.<q>.search`` entry describes, its network ``blob``
    read from the (verified) bundle; BundleIntegrityError naming ``where`` when malformed."""
    from edgesdk.errors import BitstreamError

    items = entry.get("components")
    if not isinstance(items, list):
        raise BundleIntegrityError(f"manifest.json: {where}.components must be a list")
    components = [Component.from_manifest(item, f"manifest.json: {where}.components[{i}]")
                  for i, item in enumerate(items)]
    try:
        return FeatureIdentifier(blob, components)
    except (BitstreamError, InvalidArgumentError) as error:
        raise BundleIntegrityError(f"{where}.file: not a usable identifier network: {error}") from None


def attach_identifier(source, destination, quality: int, blob: bytes, entry: dict, *, signing_key=None,
                      overwrite: bool = False, trusted_keys=None):
    """Writes a copy of the bundle ``source`` with a search feature identifier for ``quality``:
    ``blob`` (EINT) as ``q<quality>/search.eint`` and ``entry`` (``components``, ``training``)
    as ``qualities.<quality>.search``. The model ids do not change (frames stay decodable);
    the bundle id does, so the copy is signed with ``signing_key`` or left unsigned."""
    from edgesdk.bundle.extend import add_to_level

    name = f"q{int(quality)}/search.eint"
    search = {**entry, "file": name}
    identifier_from_manifest(search, bytes(blob), f"qualities.{quality}.search")  # refuse a broken one now
    return add_to_level(source, destination, quality, "search", search, {name: bytes(blob)},
                        signing_key=signing_key, overwrite=overwrite, trusted_keys=trusted_keys)
