"""Codec families, keyed by the manifest's ``model.family`` (docs/architecture.md, "Adding a
codec family").

A family is a function ``build(image_codec, quality) -> codec`` that returns the low-level
codec of one quality level of a model: an object with ``encode(pixels) -> bytes``,
``decode(data) -> pixels`` and ``decode_latent(data) -> (frame, latent)``, whose transforms
call ``image_codec.runner(quality, graph)``. :class:`~edgesdk.ImageCodec` opens a bundle,
looks its family up here and builds codecs with it.

- ``image/``: the hyperprior image codec (family ``hyperprior-image``) and its entropy model;
- ``video/``: frame syntax, encoder, decoder, motion, residual, copied blocks, ``.elv`` files,
  built on an image codec's latents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgesdk.errors import InvalidArgumentError, UnsupportedVersionError

FamilyBuilder = Callable[[Any, int], Any]  # (ImageCodec, quality) -> codec of that quality

_FAMILIES: dict[str, FamilyBuilder] = {}


def register_codec_family(family: str, build: FamilyBuilder) -> None:
    """Makes bundles whose manifest says ``model.family == family`` open, with ``build``
    making each quality level's codec. Registering a family again replaces it."""
    if not family or not isinstance(family, str):
        raise InvalidArgumentError(f"a codec family must be a non-empty string, not {family!r}")
    _FAMILIES[family] = build


def codec_family(family: str) -> FamilyBuilder:
    """The builder registered for ``family``; UnsupportedVersionError when none is."""
    _builtin()
    if family not in _FAMILIES:
        raise UnsupportedVersionError(f"bundle holds a {family!r} model; this edgesdk runs "
                                      f"{', '.join(map(repr, sorted(_FAMILIES)))}")
    return _FAMILIES[family]


def codec_families() -> tuple[str, ...]:
    """The registered family names."""
    _builtin()
    return tuple(sorted(_FAMILIES))


def _builtin() -> None:
    import edgesdk.codecs.image  # noqa: F401 - registers hyperprior-image
