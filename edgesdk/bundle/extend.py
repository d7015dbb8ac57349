"""Adding optional parts to a quality level of an existing bundle (search identifiers,
edit maps: docs/bundle.md) without touching what decodes frames."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from edgesdk.bundle.manifest import quality_level
from edgesdk.errors import InvalidArgumentError


def add_to_level(source: str | os.PathLike, destination: str | os.PathLike, quality: int, key: str, entry: Any,
                 files: dict[str, bytes], *, signing_key=None, overwrite: bool = False, trusted_keys=None) -> Path:
    """Writes a copy of bundle ``source`` with ``qualities.<quality>.<key> = entry`` and
    ``files`` added (replacing same-named ones). Model ids do not change when ``key`` is not
    part of them; the bundle id does, so the copy is signed with ``signing_key`` or unsigned."""
    from edgesdk.bundle import Bundle, write_bundle

    if key in ("graphs", "integer_data", "model_id"):
        raise InvalidArgumentError(f"{key} is part of the codec; re-export the bundle instead")
    bundle = Bundle.open(source, trusted_keys=trusted_keys)
    manifest = copy.deepcopy(bundle.manifest)
    quality_level(manifest, quality)[key] = entry
    contents = {name: bundle.read(name) for name in bundle.names()}
    contents.update(files)
    return write_bundle(destination, manifest, contents, signing_key=signing_key, overwrite=overwrite)
