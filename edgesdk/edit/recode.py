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
from edgesdk.errors import CorruptedError, EditDataMissingError, InvalidArgumentError
from edgesdk.search.identifier import latent_input
from edgesdk.shapes import padded_size

MAX_RECORDED = 255
COLOUR_LATENTS = ("red", "green", "blue")  # colour=R,G,B: constant latents for +levels in one RGB channel
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


def _half_up(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """numerator / denominator rounded half up, in integers (denominator > 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def _offsets(model, quality: int, transform: Transform, names: tuple[str, ...]) -> tuple[int, list[np.ndarray]]:
    """(common levels, the constant latents ``names`` as int64 sixteenths per channel for those
    levels), or EditDataMissingError naming the transform and what the bundle lacks."""
    try:
        offsets = [model.edit_offset(quality, name) for name in names]
    except EditDataMissingError as error:
        raise EditDataMissingError(f"{transform}: {error}") from None
    common = int(np.lcm.reduce([levels for levels, _ in offsets]))
    return common, [values.astype(np.int64) * (common // levels) for levels, values in offsets]


def _map_channels(model, quality: int, transform: Transform, latents: Latents) -> Latents:
    """Applies the learned part of ``transform``: the channel map that completes a geometric
    one, the constant latents of ``brightness`` and ``colour`` (scaled to the levels asked
    for), or the scaling of ``contrast`` about the grey latent; rounded half up, in integers."""
    q = latents.q
    if transform.name in ("brightness", "colour"):
        names = ("brightness",) if transform.name == "brightness" else COLOUR_LATENTS
        levels, values = _offsets(model, quality, transform, names)
        delta = sum(p * v for p, v in zip(transform.params, values))  # sixteenths · levels
        q = q + _half_up(delta, levels)[:, None, None]
    elif transform.name == "contrast":
        _, (grey,) = _offsets(model, quality, transform, ("grey",))
        grey = grey[:, None, None]
        q = grey + _half_up(transform.params[0] * (q - grey), 100)
    elif (name := map_name(transform)) is not None:
        network = model.edit_map(quality, name)
        if network is None:
            raise EditDataMissingError(f"{transform}: the model has no '{name}' map for quality {quality} "
                                       f"(qualities.{quality}.edit.maps.{name}); the shipped lite model has edit data at "
                                       "quality 2 (encode with --model lite --quality 2), or fit some "
                                       "(docs/latent-edit.md, 'Fitting the maps')")
        size = q.shape[1] * 16, q.shape[2] * 16
        q = network.run(latent_input(q.astype(np.float32) / 16, *size)).astype(np.int64)
    return Latents(q, latents.z, latents.width, latents.height)


def transform_latents(image_codec, quality: int, latents: Latents, transforms: list[Transform]) -> Latents:
    """``latents`` after ``transforms`` in order: structural part, then learned part."""
    for transform in transforms:
        latents = _map_channels(image_codec.model, quality, transform, apply(transform, latents))
    return latents


def parse_transforms(transforms) -> list[Transform]:
    """Transforms given as :class:`Transform` or text (``"crop=0,0,64,64"``), parsed; at least one."""
    if isinstance(transforms, (str, Transform)):
        transforms = [transforms]
    if not isinstance(transforms, (list, tuple)):
        raise InvalidArgumentError(f"transforms are a list of NAME[=P] texts or Transform objects, "
                                   f"not {type(transforms).__name__}")
    # a Transform made by hand is checked like text (name known, parameter count right)
    transforms = [parse_transform(str(t) if isinstance(t, Transform) else t) for t in transforms]
    if not transforms:
        raise InvalidArgumentError("give at least one transform")
    return transforms


def edit_frame(image_codec, data: bytes, transforms: list[Transform | str]) -> bytes:
    """The frame ``data`` with ``transforms`` applied in order, re-coded (docs/latent-edit.md)."""
    transforms = parse_transforms(transforms)
    frame, latents = read_latents(image_codec, data)
    history = applied_transforms(frame)
    latents = transform_latents(image_codec, frame.quality, latents, transforms)
    return write_latents(image_codec, frame, latents, history + transforms)


def stays_grey(transforms: list[Transform]) -> bool:
    """Whether a grey (MONOCHROME) picture stays grey under ``transforms``: not after a
    ``colour`` with unequal levels, which the decoder's grey conversion would otherwise undo."""
    return not any(t.name == "colour" and len(set(t.params)) > 1 for t in transforms)


def check_padding(latents: Latents, transforms: list[Transform]) -> tuple[int, int]:
    """The padded (width, height) of ``latents``; InvalidArgumentError when the latent grid
    does not pad the visible size as an encoder would."""
    padded = (latents.q.shape[2] * 16, latents.q.shape[1] * 16)
    if padded != (padded_size(latents.width), padded_size(latents.height)):
        raise InvalidArgumentError(f"{transforms[-1] if transforms else 'latents'}: the result's latent does not pad "
                                   f"a {latents.width}x{latents.height} picture; choose sizes on the 64-pixel grid")
    return padded


def write_latents(image_codec, frame: Frame, latents: Latents, transforms: list[Transform]) -> bytes:
    """A keyframe like ``frame`` (quality, model, parameters, other sections) holding
    ``latents``, entropy-coded, and a TRANSFORMS section recording ``transforms`` (none: no section)."""
    padded = check_padding(latents, transforms)
    entropy_model = image_codec.codec(frame.quality).entropy_model
    hyper, latent = entropy_model.encode(latents.q.astype(np.float64) / 16, latents.z)
    parameters = {k: v for k, v in frame.parameters.items() if k not in _SIZE_KEYS}
    parameters.update(zip(_SIZE_KEYS, padded))
    if not stays_grey(transforms):
        parameters.pop(Parameter.MONOCHROME, None)  # a grey picture given a colour cast is no longer grey
    kept = [s for s in frame.sections if s.kind not in (SectionKind.HYPER_LATENT, SectionKind.LATENT,
                                                        SectionKind.ROI_LATENT, SectionKind.TRANSFORMS)]
    record = [Section(SectionKind.TRANSFORMS, encode_transforms(transforms))] if transforms else []
    sections = [Section(SectionKind.HYPER_LATENT, hyper), Section(SectionKind.LATENT, latent), *record,
                *(Section(s.kind, bytes(s.data)) for s in kept)]
    return Frame(width=latents.width, height=latents.height, frame_type=FrameType.KEY, quality=frame.quality,
                 model_id=frame.model_id, parameters=parameters, sections=sections).to_bytes()
