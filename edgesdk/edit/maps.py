"""Learned channel maps of the geometric edits in a bundle (docs/latent-edit.md): files
``q<q>/edit/<name>.eint`` named by ``qualities.<q>.edit.maps``."""

from __future__ import annotations

import json
from pathlib import Path

SHIPPED_MAPS = Path(__file__).resolve().parents[1] / "data" / "models" / "lite.edit-q2"  # the shipped lite model's, quality 2


def attach_edit_maps(source, destination, quality: int, folder=SHIPPED_MAPS, *, signing_key=None,
                     overwrite: bool = False) -> Path:
    """Writes a copy of bundle ``source`` with the maps of ``folder`` (``<name>.eint`` files
    and ``edit.json``, as ``edgesdk_export.edit_fit`` writes them) for ``quality``."""
    from edgesdk.bundle.extend import add_to_level

    folder = Path(folder)
    facts = json.loads((folder / "edit.json").read_text())
    names = {name: f"q{int(quality)}/edit/{name}.eint" for name in facts["maps"]}
    files = {file: (folder / f"{name}.eint").read_bytes() for name, file in names.items()}
    entry = {"maps": names, "offsets": facts.get("offsets", {}), "training": facts["training"]}
    return add_to_level(source, destination, quality, "edit", entry, files,
                        signing_key=signing_key, overwrite=overwrite)
