"""The integer entropy path of a hyperprior codec: latents to bits and back.

Everything that decides how bits are parsed happens here in integers: the hyper-latent ẑ
is coded with one integer CDF table per channel, the integer hyper-synthesis computes each
latent element's table index (and fixed-point mean) from ẑ, and the latent symbols are
coded with those tables. Floats enter only on the encoder (rounding y − mean, decided once
and sent) and leave only on the decoder (symbol + mean, handed to the generator), so any
backend or precision may produce y and consume ŷ (docs/architecture.md: everything below the runners is integer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgesdk.bitstream.entropy import CdfTables
from edgesdk.errors import BundleIntegrityError, InvalidArgumentError
from edgesdk.bitstream.intnet import IntNetwork
from edgesdk.codecs.image.roi import QuantMap, decode_section, encode_section

HYPER_DOWNSAMPLING = 4  # the hyper-latent is 4x smaller than the latent in each dimension


@dataclass(frozen=True)
class LatentParameters:
    """What the integer hyper-synthesis decides for every latent element."""

    indexes: np.ndarray  # int32 [M, h, w], CDF table of each element
    means: np.ndarray | None  # float64 [M, h, w], exact (fixed point / 2^bits), or None


def _check_latent_shape(latent_shape: tuple[int, int]) -> None:
    """InvalidArgumentError unless a latent of (h, w) cells sits on the hyper-latent's grid."""
    h, w = latent_shape
    if h % HYPER_DOWNSAMPLING or w % HYPER_DOWNSAMPLING or h <= 0 or w <= 0:
        raise InvalidArgumentError(f"latent size {h}x{w} is not a positive multiple of {HYPER_DOWNSAMPLING}")


class HyperpriorEntropyModel:
    """The integer data of a hyperprior codec, as a bundle ships it.

    ``hyper_tables`` has one table per hyper-latent channel; ``latent_tables`` one per
    scale of the Gaussian conditional; ``hyper_synthesis`` maps ẑ [N, h/4, w/4] to
    [M, h, w] table indexes, followed by M fixed-point means when ``mean_fraction_bits``
    is not None.
    """

    def __init__(
        self,
        hyper_tables: CdfTables,
        hyper_synthesis: IntNetwork,
        latent_tables: CdfTables,
        latent_channels: int,
        mean_fraction_bits: int | None,
    ) -> None:
        if hyper_synthesis.input_channels != hyper_tables.num_tables:
            raise InvalidArgumentError(
                f"hyper-synthesis takes {hyper_synthesis.input_channels} channels but there are "
                f"{hyper_tables.num_tables} hyper-latent tables"
            )
        if mean_fraction_bits is not None and not 0 <= mean_fraction_bits <= 30:
            raise InvalidArgumentError("mean_fraction_bits must be in 0..30")
        self.hyper_tables = hyper_tables
        self.hyper_synthesis = hyper_synthesis
        self.latent_tables = latent_tables
        self.latent_channels = latent_channels
        self.mean_fraction_bits = mean_fraction_bits
        # The network's output geometry, checked once here (at load) on a one-cell hyper-latent.
        self.parameters(np.zeros((self.hyper_channels, 1, 1), np.int32))

    @property
    def hyper_channels(self) -> int:
        """Channels of the hyper-latent z."""
        return self.hyper_tables.num_tables

    def parameters(self, z_hat: np.ndarray) -> LatentParameters:
        """Table indexes and means of the latent, from the integer hyper-latent alone."""
        out = self.hyper_synthesis.run(z_hat)
        m = self.latent_channels
        expected = 2 * m if self.mean_fraction_bits is not None else m
        z_hat = np.asarray(z_hat)
        shape = (expected, z_hat.shape[-2] * HYPER_DOWNSAMPLING, z_hat.shape[-1] * HYPER_DOWNSAMPLING)
        if out.ndim != 3 or tuple(out.shape) != shape:
            # A bundle's network that upsamples 2x instead of 4x would decode a smaller picture.
            raise BundleIntegrityError(f"the bundle's integer hyper-synthesis gives {tuple(out.shape)} for a hyper-latent "
                                 f"of {tuple(z_hat.shape)}, expected {shape}; the bundle's network is not this codec's")
        indexes = np.clip(out[:m], 0, self.latent_tables.num_tables - 1)
        means = None
        if self.mean_fraction_bits is not None:
            means = out[m:].astype(np.float64) / float(1 << self.mean_fraction_bits)  # exact
        return LatentParameters(indexes.astype(np.int32), means)

    def encode(self, y: np.ndarray, z: np.ndarray, shown: tuple[int, int] | None = None) -> tuple[bytes, bytes]:
        """Codes a latent y [M, h, w] and hyper-latent z [N, h/4, w/4] (floats from any backend);
        ``shown``: the latent rows and columns worth coding (beyond them, symbol 0: the mean).

        Returns (hyper-latent stream, latent stream).
        """
        z_hat, params, symbols = self._quantize(y, z, shown=shown)
        hyper_data = self.hyper_tables.encode(z_hat, self._channel_indexes(z_hat.shape))
        return hyper_data, self.latent_tables.encode(symbols, params.indexes)

    def quantize(self, y: np.ndarray, z: np.ndarray, shown: tuple[int, int] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(ŷ float64 [M, h, w], ẑ int32): exactly what a decoder parses from ``encode(y, z, shown)``,
        without coding it (edits at the input, docs/latent-edit.md)."""
        z_hat, params, symbols = self._quantize(y, z, shown=shown)
        y_hat = symbols.astype(np.float64)
        return (y_hat if params.means is None else y_hat + params.means), z_hat

    def _quantize(self, y: np.ndarray, z: np.ndarray, steps: np.ndarray | None = None,
                  shown: tuple[int, int] | None = None) -> tuple[np.ndarray, LatentParameters, np.ndarray]:
        """(ẑ, the parameters it gives, the latent symbols) of floats y, z; ``steps`` ([h, w]
        quantizer steps of a region-of-interest map) divide y - mean before rounding; symbols
        beyond the ``shown`` rows and columns are 0 (cells over padding alone: any value decodes)."""
        y = np.asarray(y)
        z = np.asarray(z)
        self._check_shapes(y.shape, z.shape)
        z_hat = np.rint(z).astype(np.int32)
        params = self.parameters(z_hat)
        centred = y.astype(np.float64) - params.means if params.means is not None else y
        if steps is not None:
            centred = centred / steps[None]
        symbols = np.rint(centred).astype(np.int32)
        if shown is not None:
            symbols[:, shown[0]:, :] = 0
            symbols[:, :, shown[1]:] = 0
        return z_hat, params, symbols

    def encode_roi(self, y: np.ndarray, z: np.ndarray, qmap: QuantMap, shown: tuple[int, int] | None = None
                   ) -> tuple[bytes, bytes]:
        """As :meth:`encode` with a region-of-interest quantizer map (edgesdk.codecs.image.roi):
        returns (hyper-latent stream, ``ROI_LATENT`` payload)."""
        if qmap.levels.shape != np.shape(y)[1:]:
            raise InvalidArgumentError(f"ROI map {qmap.levels.shape} does not match the latent {np.shape(y)[1:]}")
        z_hat, params, symbols = self._quantize(y, z, qmap.steps(), shown)
        hyper_data = self.hyper_tables.encode(z_hat, self._channel_indexes(z_hat.shape))
        indexes = qmap.indexes(params.indexes, self.latent_tables.num_tables)
        return hyper_data, encode_section(qmap, self.latent_tables.encode(symbols, indexes))

    def decode_roi(self, hyper_data: bytes, section: bytes, latent_shape: tuple[int, int]) -> np.ndarray:
        """ŷ [M, h, w] (float32) of a frame whose latent travels in a ``ROI_LATENT`` section:
        ``mean + step · symbol`` (exact in float64, then float32)."""
        _check_latent_shape(latent_shape)
        qmap, latent_data = decode_section(section, tuple(latent_shape))
        params = self.parameters(self.decode_hyper(hyper_data, latent_shape))
        symbols = self.latent_tables.decode(latent_data, qmap.indexes(params.indexes, self.latent_tables.num_tables))
        y_hat = symbols * qmap.steps()[None]
        if params.means is not None:
            y_hat = y_hat + params.means
        return y_hat.astype(np.float32)

    def decode(self, hyper_data: bytes, latent_data: bytes, latent_shape: tuple[int, int]) -> np.ndarray:
        """ŷ [M, h, w] (float32) for the generator, from the two streams and the latent size (h, w)."""
        _check_latent_shape(latent_shape)
        z_hat = self.decode_hyper(hyper_data, latent_shape)
        params = self.parameters(z_hat)
        symbols = self.latent_tables.decode(latent_data, params.indexes)
        y_hat = symbols if params.means is None else symbols + params.means
        return y_hat.astype(np.float32)

    def decode_hyper(self, hyper_data: bytes, latent_shape: tuple[int, int]) -> np.ndarray:
        """ẑ (int32 [N, h/4, w/4]) of a hyper-latent stream, for a latent of (h, w) cells."""
        h, w = latent_shape
        z_shape = (self.hyper_channels, h // HYPER_DOWNSAMPLING, w // HYPER_DOWNSAMPLING)
        return self.hyper_tables.decode(hyper_data, self._channel_indexes(z_shape))

    def _check_shapes(self, y_shape: tuple[int, ...], z_shape: tuple[int, ...]) -> None:
        ok = (
            len(y_shape) == 3
            and y_shape[0] == self.latent_channels
            and y_shape[1] % HYPER_DOWNSAMPLING == 0
            and y_shape[2] % HYPER_DOWNSAMPLING == 0
            and tuple(z_shape)
            == (self.hyper_channels, y_shape[1] // HYPER_DOWNSAMPLING, y_shape[2] // HYPER_DOWNSAMPLING)
        )
        if not ok:
            raise InvalidArgumentError(
                f"expected y [{self.latent_channels}, h, w] with h, w multiples of {HYPER_DOWNSAMPLING} and "
                f"z [{self.hyper_channels}, h/4, w/4]; got y {tuple(y_shape)}, z {tuple(z_shape)}"
            )

    @staticmethod
    def _channel_indexes(shape: tuple[int, ...]) -> np.ndarray:
        """Table index of every hyper-latent element: its channel."""
        return np.broadcast_to(np.arange(shape[0], dtype=np.int32)[:, None, None], shape)
