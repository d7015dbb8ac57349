"""Where transformation identifiers apply (docs/latent-edit.md, "Where transforms apply"):

* at the input: :func:`encode_edited` (``ImageCodec.encode(..., transforms=...)``,
  ``edgesdk encode --transform``) transforms the encoder's integers before entropy coding;
* at a relay: :func:`edgesdk.edit.recode.edit_frame` (``edgesdk edit``) parses a frame,
  transforms its integers and re-codes them;
* at the output: :func:`decode_edited` (``ImageCodec.decode(..., transforms=...)``,
  ``edgesdk decode --transform``) transforms the parsed integers before the generator and
  writes no stream.

All three run the same integer steps on the same integers and round the result the same way
(each element re-rounded to a symbol about the mean its edited ẑ gives), so one chain of
transforms gives the same frame (input, relay) and the same pixels (all three).
"""

from __future__ import annotations

import numpy as np

from edgesdk.bitstream.container import Parameter
from edgesdk.codecs.image.codec import shown_cells
from edgesdk.edit.recode import (applied_transforms, check_padding, parse_transforms, read_latents, stays_grey,
                                 transform_latents, write_latents)
from edgesdk.edit.transforms import Latents


def encode_edited(image_codec, pixels: np.ndarray, transforms, quality: int | None = None) -> bytes:
    """A frame of ``pixels`` whose integers had ``transforms`` applied before entropy coding,
    recording them in its TRANSFORMS section: byte for byte the frame that
    ``edit_frame(image_codec, image_codec.encode(pixels), transforms)`` makes (an empty list:
    the plain frame)."""
    low = image_codec.codec(quality)
    if isinstance(transforms, (list, tuple)) and not transforms:
        return low.encode(pixels)
    transforms = parse_transforms(transforms)
    header, y, z = low.analyze_image(pixels)
    y_hat, z_hat = low.entropy_model.quantize(y, z, shown_cells(header.height, header.width))  # as encode does
    latents = Latents(np.rint(y_hat * 16).astype(np.int64), z_hat, header.width, header.height)  # exact
    latents = transform_latents(image_codec, low.quality, latents, transforms)
    return write_latents(image_codec, header, latents, transforms)


def decode_edited(image_codec, data: bytes, transforms) -> np.ndarray:
    """The HxWx3 uint8 image of keyframe ``data`` with ``transforms`` applied to its parsed
    integers before the generator: the pixels of ``image_codec.decode(edit_frame(...))``
    without writing the edited frame (an empty list: the plain decode)."""
    from edgesdk.codecs.image.codec import to_grey
    from edgesdk.codecs.image.tiles import tiled_synthesize

    if isinstance(transforms, (list, tuple)) and not transforms:
        return image_codec.decode(data)
    transforms = parse_transforms(transforms)
    frame, latents = read_latents(image_codec, data)
    latents = transform_latents(image_codec, frame.quality, latents, transforms)
    check_padding(latents, transforms)
    low = image_codec.codec(frame.quality)
    if low.synthesize is None:
        from edgesdk.errors import InvalidArgumentError

        raise InvalidArgumentError("this codec has no generator (synthesize) and cannot decode")
    y_hat, _ = low.entropy_model.quantize(latents.q.astype(np.float64) / 16, latents.z)  # as re-coding rounds
    image = tiled_synthesize(low.synthesize, y_hat.astype(np.float32), low.tile(), low.limits)
    image = image[:latents.height, :latents.width]
    grey = frame.parameters.get(Parameter.MONOCHROME) == 1 and stays_grey(applied_transforms(frame) + transforms)
    return to_grey(image) if grey else image
