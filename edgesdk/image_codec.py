"""Image coding with a hyperprior model: float transforms from any backend around the
integer entropy path (edgesdk.latent_codec), in a self-describing frame (docs/bitstream.md).

The transforms are plain callables, so the compressor and the generator can run on
different backends, precisions or machines:

* ``analyze(x)``: x float32 [1, 3, H, W] in [0, 1] (H, W multiples of 64) → (y [1, M, H/16, W/16],
  z [1, N, H/64, W/64]), floats;
* ``synthesize(y_hat)``: y_hat float32 [1, M, h, w] → image float [1, 3, 16h, 16w] (about [0, 1]).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgesdk.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.errors import CorruptedError, InvalidArgumentError
from edgesdk.latent_codec import HyperpriorEntropyModel

PAD_MULTIPLE = 64  # compressor /16, hyper-analysis /4 more
LATENT_DOWNSAMPLING = 16

Analyze = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
Synthesize = Callable[[np.ndarray], np.ndarray]


@dataclass
class HyperpriorImageCodec:
    """Encodes HxWx3 uint8 images to frames and back with one model at one quality."""

    entropy_model: HyperpriorEntropyModel
    analyze: Analyze | None = None  # needed to encode
    synthesize: Synthesize | None = None  # needed to decode
    quality: int = 0
    model_id: bytes = bytes(32)

    def encode(self, image: np.ndarray) -> bytes:
        if self.analyze is None:
            raise InvalidArgumentError("this codec has no compressor (analyze) and cannot encode")
        pixels = _check_image(image)
        height, width = pixels.shape[:2]
        padded = _pad(pixels)
        y, z = self.analyze(padded.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
        hyper_data, latent_data = self.entropy_model.encode(np.asarray(y)[0], np.asarray(z)[0])
        frame = Frame(
            width=width,
            height=height,
            frame_type=FrameType.KEY,
            quality=self.quality,
            model_id=self.model_id,
            parameters={
                Parameter.LATENT_CHANNELS: self.entropy_model.latent_channels,
                Parameter.HYPER_CHANNELS: self.entropy_model.hyper_channels,
                Parameter.DOWNSAMPLING: LATENT_DOWNSAMPLING,
                Parameter.PADDED_WIDTH: padded.shape[1],
                Parameter.PADDED_HEIGHT: padded.shape[0],
            },
            sections=(Section(SectionKind.HYPER_LATENT, hyper_data), Section(SectionKind.LATENT, latent_data)),
        )
        return frame.to_bytes()

    def decode(self, data: bytes | bytearray | memoryview) -> np.ndarray:
        if self.synthesize is None:
            raise InvalidArgumentError("this codec has no generator (synthesize) and cannot decode")
        frame, y_hat = self.decode_latent(data)
        x = np.asarray(self.synthesize(y_hat[None]))[0]
        image = np.clip(np.rint(x.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
        return image[: frame.height, : frame.width]

    def decode_latent(self, data: bytes | bytearray | memoryview) -> tuple[Frame, np.ndarray]:
        """Parses a frame down to ŷ [M, h, w] without running the generator."""
        frame = Frame.parse(data)
        if frame.model_id != self.model_id:
            raise CorruptedError(
                f"frame was made by model {frame.model_id.hex()[:16]}…, this codec is {self.model_id.hex()[:16]}…"
            )
        hyper, latent = frame.section(SectionKind.HYPER_LATENT), frame.section(SectionKind.LATENT)
        params = frame.parameters
        padded_h = params.get(Parameter.PADDED_HEIGHT, -1)
        padded_w = params.get(Parameter.PADDED_WIDTH, -1)
        consistent = (
            hyper is not None
            and latent is not None
            and params.get(Parameter.LATENT_CHANNELS) == self.entropy_model.latent_channels
            and params.get(Parameter.HYPER_CHANNELS) == self.entropy_model.hyper_channels
            and padded_h == -frame.height % PAD_MULTIPLE + frame.height
            and padded_w == -frame.width % PAD_MULTIPLE + frame.width
        )
        if not consistent:
            raise CorruptedError("frame parameters do not match this model (channels, padding or sections)")
        latent_shape = (padded_h // LATENT_DOWNSAMPLING, padded_w // LATENT_DOWNSAMPLING)
        return frame, self.entropy_model.decode(hyper.data, latent.data, latent_shape)


def _check_image(image: np.ndarray) -> np.ndarray:
    pixels = np.asarray(image)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise InvalidArgumentError(f"expected an HxWx3 uint8 image, got {pixels.dtype} {pixels.shape}")
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise InvalidArgumentError("image is empty")
    return pixels


def _pad(pixels: np.ndarray) -> np.ndarray:
    """Edge-replicates to multiples of 64 (cheaper to code than zeros)."""
    height, width = pixels.shape[:2]
    return np.pad(pixels, ((0, -height % PAD_MULTIPLE), (0, -width % PAD_MULTIPLE), (0, 0)), mode="edge")
