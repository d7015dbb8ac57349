"""Edits a frame in latent space: parse to integers, apply transformation identifiers,
re-entropy-code with the model's integer tables, and record what was applied in a
``TRANSFORMS`` section (docs/bitstream.md). No generator and no compressor run.

The re-coded frame is an ordinary image keyframe: every decoder parses it with the same
integer path as any other. Symbols are ``round(ŷ' − mean')`` with the means the integer
hyper-synthesis gives for the edited ẑ (exact where ẑ and ŷ moved together; elsewhere within
1/2 of the edited latent).
"""

from __future__ import annotations

import struct

import numpy as np

from edgesdk.bitstream.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.edit.transforms import IDS, TRANSFORMS, Latents, Transform, apply, map_name, parse_transform
from edgesdk.errors import CorruptedError, InvalidArgumentError
from edgesdk.search.identifier import latent_input
from edgesdk.shapes import padded_size

MAX_RECORDED = 255
_SIZE_KEYS = (Parameter.PADDED_WIDTH, Parameter.PADDED_HEIGHT)


def encode_transforms(transforms: list[Transform]) -> bytes:
    """The TRANSFORMS payload: u8 count, then per transform u8 id, u8 n, n × i32 (little-endian)."""
    if len(transforms) > MAX_RECORDED:
        raise InvalidArgumentError(f"a frame records at most {MAX_RECORDED} transforms")
    out = bytearray([len(transforms)])
    for t in transforms:
        out += struct.pack(f"<BB{len(t.params)}i", TRANSFORMS[t.name][0], len(t.params), *t.params)
    return bytes(out)


def decode_transforms(payload: bytes) -> list[Transform]:
    """The transforms a TRANSFORMS payload records (unknown ids as ``t<id>``); CorruptedError
    when the payload does not hold exactly what it declares."""
    data = bytes(payload)
    if not data:
        raise CorruptedError("empty TRANSFORMS section")
    transforms, offset = [], 1
    for _ in range(data[0]):
        if offset + 2 > len(data) or offset + 2 + 4 * data[offset + 1] > len(data):
            raise CorruptedError("TRANSFORMS section is truncated")
        ident, count = data[offset], data[offset + 1]
        params = struct.unpack_from(f"<{count}i", data, offset + 2)
        transforms.append(Transform(IDS.get(ident, f"t{ident}"), tuple(params)))
        offset += 2 + 4 * count
    if offset != len(data):
        raise CorruptedError("TRANSFORMS section has bytes after its last transform")
    return transforms


def applied_transforms(frame: Frame) -> list[Transform]:
    """What a parsed frame says was applied to its latents (empty when it has no section)."""
    section = frame.section(SectionKind.TRANSFORMS)
    return [] if section is None else decode_transforms(section.data)


def read_latents(image_codec, data: bytes) -> tuple[Frame, Latents]:
    """A keyframe's integers (checked against the model, as a decoder checks them)."""
    frame = Frame.parse(data)
    if frame.frame_type != FrameType.KEY:
        raise InvalidArgumentError("only image frames and keyframes can be edited (P and B frames code a "
                                   "residual against pixels)")
    low = image_codec.codec(frame.quality)
    frame, y_hat = low.decode_latent(data)
    z = low.entropy_model.decode_hyper(frame.section(SectionKind.HYPER_LATENT).data, y_hat.shape[1:])
    q = np.rint(y_hat.astype(np.float64) * 16).astype(np.int64)  # exact: ŷ is a multiple of 1/16
    return frame, Latents(q, z, frame.width, frame.height)


def _map_channels(model, quality: int, transform: Transform, latents: Latents) -> Latents:
    """Applies the learned part of ``transform``: the channel map that completes a geometric
    one, or the constant latent of ``brightness`` (scaled to D levels)."""
    if transform.name == "brightness":
        levels, values = model.edit_offset(quality, "brightness")
        delta = transform.params[0] * values.astype(np.int64)  # rounded half up, in sixteenths:
        return Latents(latents.q + ((2 * delta + levels) // (2 * levels))[:, None, None], latents.z,
                       latents.width, latents.height)
    name = map_name(transform)
    if name is None:
        return latents
    network = model.edit_map(quality, name)
    if network is None:
        raise InvalidArgumentError(f"{transform}: the model has no '{name}' map for quality {quality}; use a bundle "
                                   "with edit maps (docs/latent-edit.md, 'Fitting the maps')")
    size = latents.q.shape[1] * 16, latents.q.shape[2] * 16
    q = network.run(latent_input(latents.q.astype(np.float32) / 16, *size)).astype(np.int64)
    return Latents(q, latents.z, latents.width, latents.height)


def edit_frame(image_codec, data: bytes, transforms: list[Transform | str]) -> bytes:
    """The frame ``data`` with ``transforms`` applied in order, re-coded (docs/latent-edit.md)."""
    transforms = [t if isinstance(t, Transform) else parse_transform(t) for t in transforms]
    if not transforms:
        raise InvalidArgumentError("give at least one transform")
    frame, latents = read_latents(image_codec, data)
    history = applied_transforms(frame)
    for transform in transforms:
        latents = _map_channels(image_codec.model, frame.quality, transform, apply(transform, latents))
    return write_latents(image_codec, frame, latents, history + transforms)


def write_latents(image_codec, frame: Frame, latents: Latents, transforms: list[Transform]) -> bytes:
    """A keyframe like ``frame`` (quality, model, parameters, other sections) holding
    ``latents``, entropy-coded, and a TRANSFORMS section recording ``transforms`` (none: no section)."""
    padded = (latents.q.shape[2] * 16, latents.q.shape[1] * 16)
    if padded != (padded_size(latents.width), padded_size(latents.height)):
        raise InvalidArgumentError(f"{transforms[-1] if transforms else 'latents'}: the result's latent does not pad "
                                   f"a {latents.width}x{latents.height} picture; choose sizes on the 64-pixel grid")
    entropy_model = image_codec.codec(frame.quality).entropy_model
    hyper, latent = entropy_model.encode(latents.q.astype(np.float64) / 16, latents.z)
    parameters = {k: v for k, v in frame.parameters.items() if k not in _SIZE_KEYS}
    parameters.update(zip(_SIZE_KEYS, padded))
    kept = [s for s in frame.sections if s.kind not in (SectionKind.HYPER_LATENT, SectionKind.LATENT,
                                                        SectionKind.ROI_LATENT, SectionKind.TRANSFORMS)]
    record = [Section(SectionKind.TRANSFORMS, encode_transforms(transforms))] if transforms else []
    sections = [Section(SectionKind.HYPER_LATENT, hyper), Section(SectionKind.LATENT, latent), *record,
                *(Section(s.kind, bytes(s.data)) for s in kept)]
    return Frame(width=latents.width, height=latents.height, frame_type=FrameType.KEY, quality=frame.quality,
                 model_id=frame.model_id, parameters=parameters, sections=sections).to_bytes()
