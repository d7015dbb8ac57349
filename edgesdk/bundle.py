"""Model bundles (docs/bundle.md): a manifest that pins every file by sha256, optionally signed
with Ed25519, stored as a directory or as one ``.edgesdk`` file (ZIP, entries uncompressed).

``Bundle.open`` verifies everything before it returns: sizes, hashes, names, the schema
and, when configured, the signature. The verified bytes are kept in memory, so nothing
read later can differ from what was checked (bundles are tens of MB at most).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import struct
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from edgesdk.errors import (
    BundleError,
    BundleIntegrityError,
    DependencyError,
    InvalidArgumentError,
    LimitExceededError,
    SignatureError,
    UnsupportedVersionError,
)

SCHEMA = "edgesdk.bundle"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
BUNDLE_SUFFIX = ".edgesdk"
MAX_MANIFEST_BYTES = 4 << 20
MAX_FILE_BYTES = 512 << 20
MAX_TOTAL_BYTES = 2 << 30
MAX_FILES = 4096
KEY_PREFIX = "ed25519"
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# What zipfile raises on damaged archives (it has no common base class for them).
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, struct.error, ValueError, NotImplementedError,
               UnicodeDecodeError, RuntimeError)


# --------------------------------------------------------------------------- names, manifest

def check_name(name: str) -> str:
    """A file name a bundle may hold: relative, forward slashes, no ``..``, not the manifest."""
    path = PurePosixPath(name)
    if (not isinstance(name, str) or not name or "\\" in name or "\0" in name or path.is_absolute()
            or any(part in ("", ".", "..") for part in name.split("/")) or name.startswith(("manifest.",))
            or len(name) > 255):
        raise BundleIntegrityError(f"bundle file name {name!r} is not allowed (relative, '/'-separated, "
                                   f"no '..', not manifest.*)")
    return name


def _serialize(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def _parse_manifest(data: bytes) -> dict:
    if len(data) > MAX_MANIFEST_BYTES:
        raise LimitExceededError(f"manifest.json is {len(data)} bytes; the limit is {MAX_MANIFEST_BYTES}")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleIntegrityError(f"manifest.json is not valid UTF-8 JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise BundleIntegrityError(f"manifest.json is not an edgesdk bundle manifest (schema must be {SCHEMA!r})")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise BundleIntegrityError(f"manifest.json has an invalid schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise UnsupportedVersionError(f"bundle schema version {version} is newer than this edgesdk reads "
                                      f"({SCHEMA_VERSION}); upgrade edgesdk")
    files = manifest.get("files")
    if not isinstance(files, dict) or len(files) > MAX_FILES:
        raise BundleIntegrityError(f"manifest.json needs a 'files' object of at most {MAX_FILES} entries")
    total = 0
    for name, entry in files.items():
        check_name(name)
        if not (isinstance(entry, dict) and isinstance(entry.get("size"), int) and isinstance(entry.get("sha256"), str)
                and len(entry["sha256"]) == 64):
            raise BundleIntegrityError(f"manifest entry for {name!r} needs an integer size and a sha256")
        if not 0 <= entry["size"] <= MAX_FILE_BYTES:
            raise LimitExceededError(f"{name}: declared size {entry['size']} exceeds {MAX_FILE_BYTES} bytes")
        total += entry["size"]
    if total > MAX_TOTAL_BYTES:
        raise LimitExceededError(f"bundle declares {total} bytes in all; the limit is {MAX_TOTAL_BYTES}")
    return manifest


# --------------------------------------------------------------------------- keys, signatures

def _crypto():
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as error:
        raise DependencyError("bundle signatures need the cryptography package: pip install cryptography") from error
    return ed25519, serialization, InvalidSignature


def generate_signing_key() -> tuple[bytes, str]:
    """(private key as PEM bytes, public key as a one-line ``ed25519 <base64>`` text)."""
    ed25519, serialization, _ = _crypto()
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return pem, public_key_text(private.public_key())


def _raw_public(key) -> bytes:
    _, serialization, _ = _crypto()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key, comment: str = "") -> str:
    text = f"{KEY_PREFIX} {base64.b64encode(_raw_public(key)).decode()}"
    return f"{text} {comment}".strip() + "\n"


def key_fingerprint(key) -> str:
    """``SHA256:`` and the first 16 bytes of the raw key's sha256, hex: short and unambiguous."""
    return "SHA256:" + hashlib.sha256(_raw_public(key)).hexdigest()[:32]


def load_private_key(data: bytes | str | Path):
    """An Ed25519 private key from PEM bytes or a PEM file."""
    ed25519, serialization, _ = _crypto()
    pem = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise InvalidArgumentError(f"not an unencrypted PEM private key: {error}") from error
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InvalidArgumentError("the signing key must be an Ed25519 key")
    return key


def load_public_key(source) -> Any:
    """An Ed25519 public key from: a key object, 32 raw bytes, ``ed25519 <base64> [comment]``
    text, PEM text, or a path to a file holding either text form."""
    ed25519, serialization, _ = _crypto()
    if isinstance(source, ed25519.Ed25519PublicKey):
        return source
    if isinstance(source, (bytes, bytearray)) and len(source) == 32:
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes(source))
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith(("-----", KEY_PREFIX))):
        path = Path(source)
        if not path.is_file():
            raise InvalidArgumentError(f"trusted key file {path} does not exist")
        if path.stat().st_size > 64 << 10:
            raise InvalidArgumentError(f"{path} is too large to be a public key file")
        source = path.read_bytes()
    text = source.decode("utf-8", "replace") if isinstance(source, (bytes, bytearray)) else str(source)
    stripped = text.strip()
    try:
        if stripped.startswith("-----"):
            key = serialization.load_pem_public_key(stripped.encode())
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise InvalidArgumentError("trusted keys must be Ed25519 keys")
            return key
        parts = stripped.split()
        if len(parts) >= 2 and parts[0] == KEY_PREFIX:
            raw = base64.b64decode(parts[1], validate=True)
            if len(raw) == 32:
                return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError) as error:
        raise InvalidArgumentError(f"cannot read public key: {error}") from error
    raise InvalidArgumentError(f"not a public key (expected '{KEY_PREFIX} <base64 of 32 bytes>' or PEM)")


def configured_trusted_keys() -> list:
    """Keys from ``EDGESDK_TRUSTED_KEYS`` (key files, os.pathsep-separated) and from
    ``$XDG_CONFIG_HOME/edgesdk/trusted_keys/*.pub`` (default ``~/.config``)."""
    sources: list[Path] = []
    listed = os.environ.get("EDGESDK_TRUSTED_KEYS", "")
    sources += [Path(p) for p in listed.split(os.pathsep) if p]
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    folder = config_home / "edgesdk" / "trusted_keys"
    if folder.is_dir():
        sources += sorted(folder.glob("*.pub"))
    return [load_public_key(path) for path in sources]


def _signature_required(require_signature: bool | None) -> bool:
    if require_signature is not None:
        return require_signature
    return os.environ.get("EDGESDK_REQUIRE_SIGNATURE", "") not in ("", "0", "false", "no")


# --------------------------------------------------------------------------- storage

class _Directory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, name: str, limit: int) -> bytes | None:
        path = self.root / name
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            raise BundleIntegrityError(f"{name} in {self.root} is not a regular file (links are refused)")
        if info.st_size > limit:
            raise BundleIntegrityError(f"{name} is {info.st_size} bytes, more than the {limit} expected")
        with open(path, "rb") as handle:
            return handle.read(limit + 1)

    def names(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if not p.is_dir()}


class _Archive:
    def __init__(self, path: Path) -> None:
        try:
            self.zip = zipfile.ZipFile(path)
        except _ZIP_ERRORS as error:
            raise BundleIntegrityError(f"{path} is not a complete .edgesdk archive ({error}); "
                                       f"it may be truncated") from error
        self.path = path
        self.entries: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.infolist():
            if info.filename in self.entries:
                raise BundleIntegrityError(f"{path}: entry {info.filename!r} appears twice")
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise BundleIntegrityError(f"{path}: entry {info.filename!r} is compressed or encrypted; "
                                           f"bundle entries are stored as they are")
            self.entries[info.filename] = info

    def read(self, name: str, limit: int) -> bytes | None:
        info = self.entries.get(name)
        if info is None:
            return None
        if info.file_size > limit:
            raise BundleIntegrityError(f"{name} is {info.file_size} bytes, more than the {limit} expected")
        try:
            with self.zip.open(info) as handle:
                return handle.read(limit + 1)
        except _ZIP_ERRORS as error:
            raise BundleIntegrityError(f"{self.path}: cannot read {name} ({error}); the file may be truncated") \
                from error

    def names(self) -> set[str]:
        return set(self.entries)


# --------------------------------------------------------------------------- bundle

class Bundle:
    """A verified bundle. Use :meth:`open`; the constructor is internal."""

    def __init__(self, path: Path, manifest_bytes: bytes, manifest: dict, files: dict[str, bytes],
                 signed_by: str | None) -> None:
        self.path = path
        self.manifest_bytes = manifest_bytes
        self.manifest = manifest
        self._files = files
        self.signed_by = signed_by
        self.bundle_id = hashlib.sha256(manifest_bytes).hexdigest()

    @classmethod
    def open(cls, path: str | Path, trusted_keys: Iterable | None = None,
             require_signature: bool | None = None) -> Bundle:
        """Opens and verifies a bundle directory or ``.edgesdk`` file (see the module doc)."""
        path = Path(path)
        if path.is_dir():
            storage: _Directory | _Archive = _Directory(path)
        elif path.is_file():
            storage = _Archive(path)
        else:
            raise BundleError(f"{path}: no such bundle (a folder or a {BUNDLE_SUFFIX} file)")
        manifest_bytes = storage.read(MANIFEST, MAX_MANIFEST_BYTES)
        if manifest_bytes is None:
            raise BundleIntegrityError(f"{path} has no {MANIFEST}")
        manifest = _parse_manifest(manifest_bytes)
        listed = manifest["files"]
        unlisted = storage.names() - set(listed) - {MANIFEST, SIGNATURE}
        if unlisted:
            raise BundleIntegrityError(f"{path} holds files its manifest does not list: {sorted(unlisted)[:5]}")
        files = {}
        for name, entry in listed.items():
            data = storage.read(name, entry["size"])
            if data is None:
                raise BundleIntegrityError(f"{path}: {name} is missing")
            if len(data) != entry["size"]:
                raise BundleIntegrityError(f"{path}: {name} is {len(data)} bytes, the manifest says {entry['size']}")
            digest = hashlib.sha256(data).hexdigest()
            if digest != entry["sha256"]:
                raise BundleIntegrityError(f"{path}: {name} has sha256 {digest[:12]}…, the manifest says "
                                           f"{entry['sha256'][:12]}…; the bundle was changed or damaged")
            files[name] = data
        signature = storage.read(SIGNATURE, 1024)
        signed_by = _verify_signature(path, manifest_bytes, signature, trusted_keys,
                                      _signature_required(require_signature))
        return cls(path, manifest_bytes, manifest, files, signed_by)

    def read(self, name: str) -> bytes:
        """A file's verified content."""
        if name not in self._files:
            raise BundleError(f"the bundle has no file {name!r}")
        return self._files[name]

    def names(self) -> list[str]:
        return sorted(self._files)

    def describe(self) -> dict:
        return {"path": str(self.path), "bundle_id": self.bundle_id, "files": len(self._files),
                "bytes": sum(len(d) for d in self._files.values()), "signed_by": self.signed_by}

    def __repr__(self) -> str:
        return f"Bundle({str(self.path)!r}, id={self.bundle_id[:12]}, files={len(self._files)})"


def _verify_signature(path: Path, manifest_bytes: bytes, signature: bytes | None, trusted_keys: Iterable | None,
                      required: bool) -> str | None:
    keys = [load_public_key(k) for k in trusted_keys or ()]
    if signature is None:
        if required:
            raise SignatureError(f"{path} is not signed and a signature is required "
                                 f"(sign it: edgesdk sign {path} --key KEY)")
        return None
    if not keys:
        keys = configured_trusted_keys()
    if not keys:
        if required:
            raise SignatureError("a signature is required but no trusted keys are configured "
                                 "(pass trusted_keys, set EDGESDK_TRUSTED_KEYS or add ~/.config/edgesdk/trusted_keys/*.pub)")
        return None  # signed, but nothing to check against: treated as unsigned
    _, _, invalid_signature = _crypto()
    for key in keys:
        try:
            key.verify(signature, manifest_bytes)
        except invalid_signature:
            continue
        return key_fingerprint(key)
    raise SignatureError(f"{path}: the manifest signature does not verify with any trusted key "
                         f"({', '.join(key_fingerprint(k) for k in keys)}); the bundle was changed or signed by "
                         f"someone else")


def write_bundle(destination: str | Path, manifest: Mapping[str, Any], files: Mapping[str, bytes],
                 signing_key=None, overwrite: bool = False) -> Path:
    """Writes a bundle: a ``.edgesdk`` file when ``destination`` ends so, else a directory.
    Fills ``schema``, ``schema_version`` and ``files``; signs when ``signing_key`` is given
    (an Ed25519 private key object, PEM bytes or a PEM file path)."""
    destination = Path(destination)
    body = {k: v for k, v in manifest.items() if k not in ("schema", "schema_version", "files")}
    body.update(schema=SCHEMA, schema_version=SCHEMA_VERSION,
                files={check_name(name): {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                       for name, data in sorted(files.items())})
    manifest_bytes = _serialize(body)
    entries = {MANIFEST: manifest_bytes, **{name: bytes(files[name]) for name in sorted(files)}}
    if signing_key is not None:
        key = signing_key if hasattr(signing_key, "sign") else load_private_key(signing_key)
        entries[SIGNATURE] = key.sign(manifest_bytes)
    if destination.exists() and not overwrite and (destination.is_file() or any(destination.iterdir())):
        raise InvalidArgumentError(f"{destination} exists; pass overwrite=True (--overwrite) to replace it")
    if destination.suffix == BUNDLE_SUFFIX:
        _write_archive(destination, entries)
    else:
        for name, data in entries.items():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return destination


def _write_archive(destination: Path, entries: Mapping[str, bytes]) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():  # fixed order and times: the same bundle gives the same bytes
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    os.replace(temporary, destination)


def sign_bundle(path: str | Path, private_key) -> str:
    """Adds (or replaces) the manifest signature of a bundle; returns the key's fingerprint."""
    path = Path(path)
    key = private_key if hasattr(private_key, "sign") else load_private_key(private_key)
    bundle = Bundle.open(path, require_signature=False)
    signature = key.sign(bundle.manifest_bytes)
    if path.is_dir():
        (path / SIGNATURE).write_bytes(signature)
    else:
        entries = {MANIFEST: bundle.manifest_bytes, **{n: bundle.read(n) for n in bundle.names()}, SIGNATURE: signature}
        _write_archive(path, entries)
    return key_fingerprint(key.public_key())
