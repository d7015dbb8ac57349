"""Writing and signing bundles: atomic, and the same content always gives the same bytes."""

from __future__ import annotations

import os
import secrets
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgesdk.errors import InvalidArgumentError

from edgesdk.bundle.manifest import BUNDLE_SUFFIX, MANIFEST, SCHEMA, SCHEMA_VERSION, SIGNATURE, check_name, file_table, \
    parse_manifest, serialize_manifest
from edgesdk.bundle.storage import ZIP_TIME, load_contents
from edgesdk.security.keys import key_fingerprint, load_private_key


# --------------------------------------------------------------------------- writing

def write_bundle(destination: str | os.PathLike, manifest: Mapping[str, Any], files: Mapping[str, bytes],
                 signing_key=None, overwrite: bool = False) -> Path:
    """Writes a bundle: one ``.edgesdk`` file when ``destination`` ends so, else a directory.

    Fills ``schema``, ``schema_version`` and ``files`` (sha256, size); signs when
    ``signing_key`` is given (anything :func:`load_private_key` takes). Refuses what
    :meth:`Bundle.open` would refuse, with the same error classes. Writes next to the
    destination, checks the result with the reader, then moves it in place; ``overwrite``
    replaces an existing ``.edgesdk`` file or bundle folder (never a folder without a manifest).
    """
    destination = Path(destination)
    contents = {}
    for name, data in files.items():
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError(f"bundle file {name!r} must be bytes, not {type(data).__name__}")
        contents[check_name(name)] = bytes(data)
    body = {key: value for key, value in manifest.items() if key not in ("schema", "schema_version", "files")}
    body.update(schema=SCHEMA, schema_version=SCHEMA_VERSION,
                files=file_table(contents))
    manifest_bytes = serialize_manifest(body)
    parse_manifest(manifest_bytes)
    signature = load_private_key(signing_key).sign(manifest_bytes) if signing_key is not None else None
    publish(destination, manifest_bytes, contents, signature, destination.suffix == BUNDLE_SUFFIX, overwrite)
    return destination


def _entries(manifest_bytes: bytes, files: Mapping[str, bytes], signature: bytes | None) -> list[tuple[str, bytes]]:
    """The fixed entry order: manifest, files sorted by name, signature."""
    signed = [(SIGNATURE, signature)] if signature is not None else []
    return [(MANIFEST, manifest_bytes), *((name, files[name]) for name in sorted(files)), *signed]


def _check_destination(destination: Path, archive: bool, overwrite: bool) -> None:
    if not destination.exists() and not destination.is_symlink():
        return
    if archive != destination.is_file():
        raise InvalidArgumentError(f"{destination} exists and is not a {'file' if archive else 'folder'}")
    if not archive and not any(destination.iterdir()):
        return
    if not overwrite:
        raise InvalidArgumentError(f"{destination} exists; pass overwrite=True (--overwrite) to replace it")
    if not archive and not (destination / MANIFEST).is_file():
        raise InvalidArgumentError(f"{destination} is a folder that is not a bundle (no {MANIFEST}); "
                                   f"refusing to replace it")


def publish(destination: Path, manifest_bytes: bytes, files: Mapping[str, bytes], signature: bytes | None,
             archive: bool, overwrite: bool) -> None:
    """Writes a bundle's files atomically to ``destination`` (an archive or a directory)."""
    _check_destination(destination, archive, overwrite)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.partial")
    entries = _entries(manifest_bytes, files, signature)
    try:
        if archive:
            _write_archive(temporary, entries)
        else:
            _write_directory(temporary, entries)
        load_contents(temporary)
        if archive:
            os.replace(temporary, destination)
        else:
            _swap_directory(temporary, destination)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary)
        elif temporary.exists():
            temporary.unlink()


def _write_archive(path: Path, entries: list[tuple[str, bytes]]) -> None:
    with open(path, "xb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries:  # fixed order, times and attributes: same bundle, same bytes
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def _write_directory(path: Path, entries: list[tuple[str, bytes]]) -> None:
    path.mkdir()
    for name, data in entries:
        target = path.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as handle:
            handle.write(data)


def _swap_directory(new: Path, destination: Path) -> None:
    """Moves ``new`` to ``destination``; an old bundle there is moved aside first, then removed,
    so no file of the old bundle (a stale signature, say) survives into the new one."""
    if not destination.exists():
        os.rename(new, destination)
        return
    old = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.old")
    os.rename(destination, old)
    try:
        os.rename(new, destination)
    except OSError:
        os.rename(old, destination)
        raise
    shutil.rmtree(old)


def sign_bundle(path: str | os.PathLike, private_key) -> str:
    """Adds or replaces a bundle's ``manifest.sig`` after checking its files; returns the key's
    fingerprint. ``private_key``: anything :func:`load_private_key` takes."""
    path = Path(path)
    key = load_private_key(private_key)
    contents = load_contents(path)  # verified content only; trust settings do not matter for signing
    # Rewritten whole from the verified bytes, like write_bundle: atomic, and same content gives same bytes.
    publish(path, contents.manifest_bytes, contents.files, key.sign(contents.manifest_bytes),
             contents.format == "archive", overwrite=True)
    return key_fingerprint(key)

