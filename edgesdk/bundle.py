"""Model bundles (docs/bundle.md): a manifest that pins every file by sha256, optionally signed
with Ed25519, stored as a directory or as one ``.edgesdk`` file (ZIP, entries uncompressed).

``Bundle.open`` verifies everything before it returns: the manifest, names, sizes, hashes,
the archive structure and, when configured, the signature. The verified bytes are kept in
memory, so nothing read later can differ from what was checked (bundles are tens of MB).
``cryptography`` is imported only when a key or a signature is handled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import struct
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesdk.errors import (
    BundleError,
    BundleIntegrityError,
    BundleLimitError,
    BundleVersionError,
    DependencyError,
    InvalidArgumentError,
    SignatureError,
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
MAX_NAME_LENGTH = 255
SIGNATURE_BYTES = 64
KEY_PREFIX = "ed25519"
MAX_KEY_FILE_BYTES = 64 << 10
REQUIRE_SIGNATURE_ENV = "EDGESDK_REQUIRE_SIGNATURE"
TRUSTED_KEYS_ENV = "EDGESDK_TRUSTED_KEYS"

_NAME_PART = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# Central directory record: 46 bytes + name (<= 255) + extra fields; 1 KiB per entry is ample.
_MAX_CENTRAL_DIRECTORY_BYTES = (MAX_FILES + 2) * 1024
_MAX_DIRECTORY_ENTRIES = 4 * MAX_FILES
_EOCD = struct.Struct("<4s4H2LH")  # ZIP end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
# What zipfile raises on damaged archives (it has no common base class for them).
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, struct.error, ValueError, NotImplementedError,
               UnicodeDecodeError, RuntimeError, OverflowError)


# --------------------------------------------------------------------------- names, manifest

def check_name(name: str) -> str:
    """``name`` if a bundle may hold a file of that name: '/'-separated parts of letters, digits,
    ``. _ + -`` (not starting with a dot), at most 255 characters, not ``manifest.*``."""
    if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH
            and all(_NAME_PART.fullmatch(part) for part in name.split("/")) and not name.startswith("manifest.")):
        raise BundleIntegrityError(f"bundle file name {name!r} is not allowed: use '/'-separated parts of letters, "
                                   f"digits and . _ + - (no leading dot, no '..', no absolute path, not manifest.*), "
                                   f"at most {MAX_NAME_LENGTH} characters")
    return name


def _serialize(manifest: Mapping[str, Any]) -> bytes:
    try:
        text = json.dumps(manifest, sort_keys=True, indent=1, separators=(",", ": "), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidArgumentError(f"the manifest must hold plain JSON values (str keys; str, int, finite float, "
                                   f"bool, None, list, dict): {error}") from error
    return (text + "\n").encode()


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):  # two readers could otherwise see different values
        counts = Counter(key for key, _ in pairs)
        raise ValueError(f"duplicate keys {sorted(key for key, count in counts.items() if count > 1)[:5]}")
    return result


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse_manifest(data: bytes) -> dict:
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleLimitError(f"manifest.json is more than {MAX_MANIFEST_BYTES} bytes, the limit")
    try:
        manifest = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BundleIntegrityError(f"manifest.json is not valid UTF-8 JSON ({str(error)[:200]}); "
                                   f"the bundle is damaged") from error
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise BundleIntegrityError(f"manifest.json is not an edgesdk bundle manifest (schema must be {SCHEMA!r})")
    version = manifest.get("schema_version")
    if type(version) is not int or version < 1:
        raise BundleIntegrityError(f"manifest.json has an invalid schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise BundleVersionError(f"bundle schema version {version} is newer than this edgesdk reads "
                                 f"({SCHEMA_VERSION}); upgrade edgesdk")
    _check_file_entries(manifest.get("files"))
    _check_references(manifest)
    return manifest


def _check_file_entries(files: Any) -> None:
    if not isinstance(files, dict):
        raise BundleIntegrityError("manifest.json needs a 'files' object")
    if len(files) > MAX_FILES:
        raise BundleLimitError(f"manifest.json lists {len(files)} files; the limit is {MAX_FILES}")
    total = 0
    for name, entry in files.items():
        check_name(name)
        if not (isinstance(entry, dict) and type(entry.get("size")) is int and entry["size"] >= 0
                and isinstance(entry.get("sha256"), str) and _SHA256_HEX.fullmatch(entry["sha256"])):
            raise BundleIntegrityError(f"manifest entry for {name!r} needs a size (integer >= 0) and a sha256 "
                                       f"(64 lowercase hex digits)")
        if entry["size"] > MAX_FILE_BYTES:
            raise BundleLimitError(f"{name}: declared size {entry['size']} exceeds the {MAX_FILE_BYTES}-byte limit")
        total += entry["size"]
    if total > MAX_TOTAL_BYTES:
        raise BundleLimitError(f"bundle declares {total} bytes in all; the limit is {MAX_TOTAL_BYTES}")
    # Names that cannot coexist on disk: 'A' and 'a' on case-insensitive systems, 'a' and 'a/b' anywhere.
    folded = Counter(name.casefold() for name in files)
    folders = {name.rsplit("/", depth)[0] for name in folded for depth in range(1, name.count("/") + 1)}
    clashes = sorted({name for name, count in folded.items() if count > 1} | (folders & set(folded)))
    if clashes:
        raise BundleIntegrityError(f"manifest.json lists names that clash on disk (by case, or a file that is "
                                   f"also a folder): {clashes[:5]}")


def _check_references(manifest: dict) -> None:
    """Graph and integer-data file names in ``qualities`` (bundle-spec layout) must be listed files."""
    qualities = manifest.get("qualities")
    for quality, level in (qualities.items() if isinstance(qualities, dict) else ()):
        if not isinstance(level, dict):
            continue
        references = []
        graphs = level.get("graphs")
        for graph, precisions in (graphs.items() if isinstance(graphs, dict) else ()):
            for precision, variant in (precisions.items() if isinstance(precisions, dict) else ()):
                if isinstance(variant, dict) and isinstance(variant.get("file"), str):
                    references.append((f"graphs.{graph}.{precision}.file", variant["file"]))
        data = level.get("integer_data")
        references += [(f"integer_data.{key}", value) for key, value in
                       (data.items() if isinstance(data, dict) else ()) if isinstance(value, str)]
        for where, name in references:
            if name not in manifest["files"]:
                raise BundleIntegrityError(f"manifest.json: qualities.{quality}.{where} names {name!r}, "
                                           f"which the manifest's files do not list")


# --------------------------------------------------------------------------- keys, signatures

def _crypto():
    try:
        from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as error:
        raise DependencyError("bundle signatures need the cryptography package: pip install 'cryptography>=42'") \
            from error
    return ed25519, serialization, InvalidSignature, UnsupportedAlgorithm


def generate_signing_key(comment: str = "") -> tuple[bytes, str]:
    """(private key as unencrypted PKCS#8 PEM bytes, public key as one ``ed25519 <base64> [comment]`` line)."""
    ed25519, serialization, _, _ = _crypto()
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return pem, public_key_text(private.public_key(), comment)


def _raw_public(key) -> bytes:
    _, serialization, _, _ = _crypto()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key, comment: str = "") -> str:
    """The key-file line of a public key: ``ed25519 <base64 of the 32 raw bytes> [comment]``."""
    if "\n" in comment or "\r" in comment:
        raise InvalidArgumentError("a key comment must be one line")
    text = f"{KEY_PREFIX} {base64.b64encode(_raw_public(load_public_key(key))).decode()}"
    return f"{text} {comment}".strip() + "\n"


def key_fingerprint(key) -> str:
    """``SHA256:`` and the first 16 bytes of the raw public key's sha256, hex. ``key``: anything
    :func:`load_public_key` takes, or an Ed25519 private key (its public half)."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    return "SHA256:" + hashlib.sha256(_raw_public(load_public_key(key))).hexdigest()[:32]


def _read_key_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidArgumentError(f"cannot read key file {path}: {error.strerror or error}") from error
    if len(data) > MAX_KEY_FILE_BYTES:
        raise InvalidArgumentError(f"{path} is larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")
    return data


def _is_key_text(source: Any) -> bool:
    """Whether a str is key text rather than a path (no key file path has a line break)."""
    return isinstance(source, str) and ("\n" in source or not source.strip()
                                        or source.lstrip().startswith(("-----BEGIN", KEY_PREFIX + " ")))


def load_private_key(source):
    """An Ed25519 private key from a key object, PEM bytes or text, or a PEM file path."""
    ed25519, serialization, _, unsupported = _crypto()
    if isinstance(source, ed25519.Ed25519PrivateKey):
        return source
    if isinstance(source, (bytes, bytearray)):
        pem, where = bytes(source), "the private key"
    elif _is_key_text(source):
        pem, where = source.encode(), "the private key"
    elif isinstance(source, (str, os.PathLike)):
        pem, where = _read_key_file(Path(source)), str(source)
    else:
        raise InvalidArgumentError(f"a signing key must be an Ed25519 private key, PEM bytes or a PEM file path, "
                                   f"not {type(source).__name__}")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, unsupported) as error:
        raise InvalidArgumentError(f"{where} is not an unencrypted PEM private key ({error}); "
                                   f"make one with: edgesdk keygen PATH") from error
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InvalidArgumentError(f"{where} is not an Ed25519 key; bundles are signed with Ed25519")
    return key


def load_public_key(source):
    """An Ed25519 public key from: a key object, 32 raw bytes, key text (``ed25519 <base64>
    [comment]`` or PEM, as str or bytes), or a path to a file holding key text."""
    ed25519, serialization, _, unsupported = _crypto()
    if isinstance(source, ed25519.Ed25519PublicKey):
        return source
    if isinstance(source, (bytes, bytearray)) and len(source) == 32:
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes(source))
    where = "key text"
    if isinstance(source, (str, os.PathLike)) and not _is_key_text(source):
        where = str(source)
        source = _read_key_file(Path(source))
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8", "replace")
    if not isinstance(source, str):
        raise InvalidArgumentError(f"a trusted key must be an Ed25519 public key, 32 raw bytes, key text or a key "
                                   f"file path, not {type(source).__name__}")
    try:
        if "-----BEGIN" in source:
            return _public_key_from_pem(source, where, ed25519, serialization)
        return _public_key_from_line(source, where, ed25519)
    except InvalidArgumentError:
        raise
    except (ValueError, TypeError, unsupported) as error:
        raise InvalidArgumentError(f"{where}: cannot read the public key ({error})") from error


def _public_key_from_pem(text: str, where: str, ed25519, serialization):
    if "PRIVATE KEY" in text:
        raise InvalidArgumentError(f"{where} holds a private key; trust its public half (the .pub file that "
                                   f"edgesdk keygen wrote) and keep the private key off devices")
    key = serialization.load_pem_public_key(text.strip().encode())
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise InvalidArgumentError(f"{where} is not an Ed25519 public key")
    return key


def _public_key_from_line(text: str, where: str, ed25519):
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    parts = lines[0].split(maxsplit=2) if len(lines) == 1 else []
    if len(parts) < 2 or parts[0] != KEY_PREFIX:
        raise InvalidArgumentError(f"{where} is not a public key: expected one line '{KEY_PREFIX} <base64 of the "
                                   f"32-byte key> [comment]' ('#' lines are comments) or a PEM public key")
    raw = base64.b64decode(parts[1], validate=True)
    if len(raw) != 32:
        raise InvalidArgumentError(f"{where}: an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def trusted_keys_folder() -> Path:
    """``$XDG_CONFIG_HOME/edgesdk/trusted_keys`` (``~/.config`` when unset or relative)."""
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
    return base / "edgesdk" / "trusted_keys"


def configured_trusted_keys() -> list:
    """Keys from ``EDGESDK_TRUSTED_KEYS`` (key files, os.pathsep-separated) and from the
    ``*.pub`` files of :func:`trusted_keys_folder`. A file that does not parse is an error."""
    sources = [Path(p) for p in os.environ.get(TRUSTED_KEYS_ENV, "").split(os.pathsep) if p]
    folder = trusted_keys_folder()
    if folder.is_dir():
        sources += sorted(folder.glob("*.pub"))
    return [load_public_key(path) for path in sources]


def _signature_required(require_signature: bool | None) -> bool:
    """The argument can require a signature; the environment can too, and an argument cannot
    lift a requirement the device's environment sets."""
    return bool(require_signature) or os.environ.get(REQUIRE_SIGNATURE_ENV, "").strip().lower() not in (
        "", "0", "false", "no", "off")


def _trusted_keys(trusted_keys: Any) -> list:
    if trusted_keys is None:
        given = []
    elif isinstance(trusted_keys, (str, bytes, bytearray, os.PathLike)) or hasattr(trusted_keys, "verify"):
        given = [trusted_keys]
    else:
        given = list(trusted_keys)
    unique = {}
    for key in [*map(load_public_key, given), *configured_trusted_keys()]:
        unique.setdefault(_raw_public(key), key)
    return list(unique.values())


def _check_signature(path: Path, manifest_bytes: bytes, signature: bytes | None, trusted_keys: Any,
                     required: bool) -> str | None:
    """The signer's fingerprint, None when nothing was checked; raises what policy refuses."""
    if signature is None:
        if required:
            raise SignatureError(f"{path} is not signed and a signature is required (require_signature or "
                                 f"{REQUIRE_SIGNATURE_ENV}); sign it: edgesdk sign {path} --key KEY")
        return None
    keys = _trusted_keys(trusted_keys)
    if not keys:
        if required:
            raise SignatureError(f"{path} is signed, but a signature is required and no trusted keys are configured "
                                 f"(pass trusted_keys, set {TRUSTED_KEYS_ENV} or add *.pub files to "
                                 f"{trusted_keys_folder()})")
        return None  # signed, but nothing to check against: treated as unsigned
    invalid_signature = _crypto()[2]
    for key in keys:
        try:
            key.verify(signature, manifest_bytes)
        except invalid_signature:
            continue
        return key_fingerprint(key)
    raise SignatureError(f"{path}: the manifest signature does not verify with any trusted key "
                         f"({', '.join(key_fingerprint(k) for k in keys)}); the manifest was changed after signing, "
                         f"or someone else signed it")


# --------------------------------------------------------------------------- storage

def _read_at_most(read, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes, so a caller sees a file that is larger than it should be."""
    chunks, remaining = [], limit + 1
    while remaining > 0:
        chunk = read(min(_CHUNK, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class _Directory:
    """A bundle folder: regular files and folders only; symbolic links anywhere are refused."""

    format = "directory"

    def __init__(self, root: Path) -> None:
        self.root = root

    def __enter__(self) -> _Directory:
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def names(self) -> set[str]:
        found: set[str] = set()
        pending, visited = [("", self.root)], 0
        while pending:
            prefix, folder = pending.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        visited += 1
                        if visited > _MAX_DIRECTORY_ENTRIES:
                            raise BundleLimitError(f"{self.root} holds more than {_MAX_DIRECTORY_ENTRIES} entries")
                        name = prefix + entry.name
                        if entry.is_dir(follow_symlinks=False):
                            pending.append((name + "/", entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            found.add(name)
                        else:
                            raise BundleIntegrityError(f"{self.root}: {name} is not a regular file (symbolic links, "
                                                       f"devices and pipes are refused); copy the real file in")
            except OSError as error:
                raise BundleError(f"cannot list {folder}: {error.strerror or error}") from error
        return found

    def read(self, name: str, limit: int) -> bytes | None:
        path = os.path.join(self.root, *name.split("/"))
        # No link at the last step, no blocking on a pipe swapped in after names() looked.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            descriptor = os.open(path, flags)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise BundleIntegrityError(f"{self.root}: cannot open {name} ({error.strerror or error}); "
                                       f"bundle files must be regular files") from error
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise BundleIntegrityError(f"{self.root}: {name} is not a regular file")
            return _read_at_most(lambda size: os.read(descriptor, size), limit)
        except OSError as error:
            raise BundleError(f"cannot read {path}: {error.strerror or error}") from error
        finally:
            os.close(descriptor)


class _Archive:
    """A ``.edgesdk`` ZIP: no comment, stored entries, each name once; sizes capped before parsing."""

    format = "archive"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, zipfile.ZipInfo] = {}

    def __enter__(self) -> _Archive:
        try:
            self.handle = open(self.path, "rb")
        except OSError as error:
            raise BundleError(f"cannot read {self.path}: {error.strerror or error}") from error
        try:
            self._check_tail()
            self.zip = zipfile.ZipFile(self.handle)
            self._index()
        except _ZIP_ERRORS as error:
            self.handle.close()
            raise BundleIntegrityError(f"{self.path} is not a complete .edgesdk archive ({error}); "
                                       f"it may be truncated or damaged") from error
        except BaseException:
            self.handle.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.zip.close()
        self.handle.close()

    def _check_tail(self) -> None:
        """Bounds the central directory before zipfile reads it (it holds every record in memory)."""
        size = os.fstat(self.handle.fileno()).st_size
        if size > MAX_TOTAL_BYTES + MAX_MANIFEST_BYTES + _MAX_CENTRAL_DIRECTORY_BYTES * 2:
            raise BundleLimitError(f"{self.path} is {size} bytes, more than a bundle may be")
        tail = self._read_at(max(0, size - _EOCD.size - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size), size)
        if len(tail) < _EOCD.size or tail[-_EOCD.size:-_EOCD.size + 4] != b"PK\x05\x06":
            raise zipfile.BadZipFile("no end record at the end of the file (truncated, or an archive comment)")
        fields = _EOCD.unpack(tail[-_EOCD.size:])
        entries, directory_bytes = fields[4], fields[5]
        locator = tail[-_EOCD.size - _ZIP64_LOCATOR.size:-_EOCD.size]
        if locator[:4] == b"PK\x06\x07":  # zipfile then reads the ZIP64 record just before the locator
            record = tail[:_ZIP64_EOCD.size]
            if len(record) != _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
                raise zipfile.BadZipFile("damaged ZIP64 end record")
            zip64 = _ZIP64_EOCD.unpack(record)
            entries, directory_bytes = zip64[7], zip64[8]
        if entries > MAX_FILES + 2 or directory_bytes > _MAX_CENTRAL_DIRECTORY_BYTES:
            raise BundleLimitError(f"{self.path} declares {entries} entries in {directory_bytes} bytes; "
                                   f"a bundle holds at most {MAX_FILES} files")

    def _read_at(self, start: int, end: int) -> bytes:
        self.handle.seek(start)
        return self.handle.read(end - start)

    def _index(self) -> None:
        for info in self.zip.infolist():
            name = info.filename
            if name in self.entries or info.orig_filename != name:
                raise BundleIntegrityError(f"{self.path}: entry {name!r} appears twice (or hides a NUL in its name)")
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise BundleIntegrityError(f"{self.path}: entry {name!r} is compressed or encrypted; bundle entries "
                                           f"are stored as they are (write it with edgesdk.bundle.write_bundle)")
            self.entries[name] = info

    def names(self) -> set[str]:
        return set(self.entries)

    def read(self, name: str, limit: int) -> bytes | None:
        info = self.entries.get(name)
        if info is None:
            return None
        try:
            with self.zip.open(info) as handle:
                return _read_at_most(handle.read, limit)
        except _ZIP_ERRORS as error:
            raise BundleIntegrityError(f"{self.path}: cannot read {name} ({error}); the file may be truncated or "
                                       f"damaged") from error


@dataclass(frozen=True)
class _Contents:
    """What one pass over a bundle found, all of it checked against the manifest."""

    format: str
    manifest_bytes: bytes
    manifest: dict
    files: dict[str, bytes]
    signature: bytes | None


def _verified_file(path: Path, name: str, entry: dict, data: bytes | None) -> bytes:
    if data is None:
        raise BundleIntegrityError(f"{path}: {name} is missing; re-copy or re-export the bundle")
    if len(data) != entry["size"]:
        found = f"more than {entry['size']}" if len(data) > entry["size"] else str(len(data))
        raise BundleIntegrityError(f"{path}: {name} is {found} bytes, the manifest says {entry['size']}; "
                                   f"the file was truncated or replaced")
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise BundleIntegrityError(f"{path}: {name} has sha256 {digest[:12]}…, the manifest says "
                                   f"{entry['sha256'][:12]}…; the bundle was changed or damaged (re-copy or "
                                   f"re-export it)")
    return data


def _load(path: Path) -> _Contents:
    """Reads and verifies everything except the signature's trust (that is policy, see open)."""
    if path.is_dir():
        storage: _Directory | _Archive = _Directory(path)
    elif path.is_file():
        storage = _Archive(path)
    else:
        raise BundleError(f"{path}: no such bundle (a folder or a {BUNDLE_SUFFIX} file)")
    with storage:
        manifest_bytes = storage.read(MANIFEST, MAX_MANIFEST_BYTES)
        if manifest_bytes is None:
            raise BundleIntegrityError(f"{path} has no {MANIFEST}: it is not a bundle, or it is damaged")
        manifest = _parse_manifest(manifest_bytes)
        listed = manifest["files"]
        unlisted = storage.names() - set(listed) - {MANIFEST, SIGNATURE}
        if unlisted:
            raise BundleIntegrityError(f"{path} holds files its manifest does not list: {sorted(unlisted)[:5]}; "
                                       f"a bundle holds exactly its listed files")
        files = {name: _verified_file(path, name, entry, storage.read(name, entry["size"]))
                 for name, entry in sorted(listed.items())}
        signature = storage.read(SIGNATURE, SIGNATURE_BYTES)
    if signature is not None and len(signature) != SIGNATURE_BYTES:
        raise SignatureError(f"{path}: {SIGNATURE} is not a {SIGNATURE_BYTES}-byte Ed25519 signature; "
                             f"re-sign it: edgesdk sign {path} --key KEY")
    return _Contents(storage.format, manifest_bytes, manifest, files, signature)


# --------------------------------------------------------------------------- bundle

class Bundle:
    """A verified bundle. Use :meth:`open`; the constructor is internal."""

    def __init__(self, path: Path, contents: _Contents, signed_by: str | None) -> None:
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
        to the configured ones (:func:`configured_trusted_keys`). A present signature must
        verify with one of them whenever any is configured. ``require_signature=True`` or
        ``EDGESDK_REQUIRE_SIGNATURE=1`` refuses bundles without a signature from a trusted key.
        """
        path = Path(path)
        contents = _load(path)
        signed_by = _check_signature(path, contents.manifest_bytes, contents.signature, trusted_keys,
                                     _signature_required(require_signature))
        return cls(path, contents, signed_by)

    def read(self, name: str) -> bytes:
        """A file's content, as verified by :meth:`open` (kept in memory since)."""
        if name not in self._files:
            raise BundleError(f"the bundle has no file {name!r}; it has {self.names()[:8]}")
        return self._files[name]

    def names(self) -> list[str]:
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
                files={name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                       for name, data in sorted(contents.items())})
    manifest_bytes = _serialize(body)
    _parse_manifest(manifest_bytes)
    signature = load_private_key(signing_key).sign(manifest_bytes) if signing_key is not None else None
    _publish(destination, manifest_bytes, contents, signature, destination.suffix == BUNDLE_SUFFIX, overwrite)
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


def _publish(destination: Path, manifest_bytes: bytes, files: Mapping[str, bytes], signature: bytes | None,
             archive: bool, overwrite: bool) -> None:
    _check_destination(destination, archive, overwrite)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.partial")
    entries = _entries(manifest_bytes, files, signature)
    try:
        if archive:
            _write_archive(temporary, entries)
        else:
            _write_directory(temporary, entries)
        _load(temporary)
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
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
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
    contents = _load(path)  # verified content only; trust settings do not matter for signing
    # Rewritten whole from the verified bytes, like write_bundle: atomic, and same content gives same bytes.
    _publish(path, contents.manifest_bytes, contents.files, key.sign(contents.manifest_bytes),
             contents.format == "archive", overwrite=True)
    return key_fingerprint(key)
