"""Model bundles (docs/bundle.md): a manifest that pins every file by sha256, optionally signed
with Ed25519, stored as a directory or as one ``.edgesdk`` file (ZIP, entries uncompressed).

``Bundle.open`` verifies everything before it returns: the manifest, names, sizes, hashes,
the archive structure and, when configured, the signature. The verified bytes are kept in
memory, so nothing read later can differ from what was checked (bundles are tens of MB)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from edgesdk.errors import BundleError

from edgesdk.bundle.storage import Contents, load_contents
from edgesdk.security.keys import check_signature, signature_required


# --------------------------------------------------------------------------- bundle

class Bundle:
    """A verified bundle. Use :meth:`open`; the constructor is internal."""

    def __init__(self, path: Path, contents: Contents, signed_by: str | None) -> None:
        self.path = path
        self.format = contents.format  # "directory" or "archive"
        self.manifest_bytes = contents.manifest_bytes
        self.manifest = contents.manifest
        self._files = contents.files
        self.has_signature = contents.signature is not None
        self.signed_by = signed_by
        self.bundle_id = hashlib.sha256(contents.manifest_bytes).hexdigest()

    @classmethod
    def open(cls, path: str | os.PathLike, trusted_keys: Iterable | None = None,
             require_signature: bool | None = None) -> Bundle:
        """Opens and verifies a bundle directory or ``.edgesdk`` file.

        ``trusted_keys`` (key objects, raw 32-byte keys, key text or key file paths) are added
        to the configured ones (:func:`configured_trusted_keys`). Whenever any key is given or
        configured, the bundle must carry a signature that verifies with one of them (a trusted
        key means signatures are required). ``require_signature=True`` or
        ``EDGESDK_REQUIRE_SIGNATURE=1`` refuses bundles without a signature from a trusted key.
        """
        path = Path(path)
        contents = load_contents(path)
        signed_by = check_signature(path, contents.manifest_bytes, contents.signature, trusted_keys,
                                     signature_required(require_signature))
        return cls(path, contents, signed_by)

    def read(self, name: str) -> bytes:
        """A file's content, as verified by :meth:`open` (kept in memory since)."""
        if name not in self._files:
            raise BundleError(f"the bundle has no file {name!r}; it has {self.names()[:8]}")
        return self._files[name]

    def names(self) -> list[str]:
        """The bundle's file names, sorted."""
        return sorted(self._files)

    def describe(self) -> dict:
        """Facts for people and scripts (``edgesdk verify --json`` prints them)."""
        return {"path": str(self.path), "format": self.format, "bundle_id": self.bundle_id,
                "schema_version": self.manifest["schema_version"], "files": len(self._files),
                "bytes": sum(len(d) for d in self._files.values()), "signed": self.has_signature,
                "signed_by": self.signed_by}

    def summary(self) -> str:
        """One line: id, files checked and signer."""
        signer = (f"signed by {self.signed_by}" if self.signed_by else
                  "signed, but no trusted key configured to check it" if self.has_signature else "not signed")
        return (f"{self.path}: OK, bundle id {self.bundle_id}, {len(self._files)} files "
                f"({sum(len(d) for d in self._files.values())} bytes) checked, {signer}")

    def __repr__(self) -> str:
        return (f"Bundle({str(self.path)!r}, id={self.bundle_id[:12]}, files={len(self._files)}, "
                f"signed_by={self.signed_by})")


