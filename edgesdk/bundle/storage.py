"""Bundle storage: reading a bundle directory or ``.edgesdk`` archive (ZIP, entries
uncompressed) into verified bytes, under the manifest's limits."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from edgesdk.errors import BundleError, BundleIntegrityError, BundleLimitError, SignatureError

from edgesdk.bundle.manifest import (
    BUNDLE_SUFFIX,
    MANIFEST,
    MAX_FILES,
    MAX_MANIFEST_BYTES,
    MAX_TOTAL_BYTES,
    SIGNATURE,
    SIGNATURE_BYTES,
    parse_manifest,
)

_CHUNK = 1 << 20
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# Central directory record: 46 bytes + name (<= 255) + extra fields; 1 KiB per entry is ample.
_MAX_CENTRAL_DIRECTORY_BYTES = (MAX_FILES + 2) * 1024
_MAX_DIRECTORY_ENTRIES = 4 * MAX_FILES
_EOCD = struct.Struct("<4s4H2LH")  # ZIP end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_RECORD = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header, 46 bytes
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes
# What zipfile raises on damaged archives (it has no common base class for them).
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, struct.error, ValueError, NotImplementedError,
               UnicodeDecodeError, RuntimeError, OverflowError)


# --------------------------------------------------------------------------- storage

def read_at_most(read, limit: int) -> bytes:
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

    def _open(self, name: str) -> int:
        """A descriptor of ``name``, each folder on the way opened relative to the one before with
        O_NOFOLLOW: a folder swapped for a link after names() walked is refused, not followed.
        No blocking on a pipe swapped in either."""
        nofollow, nonblock = getattr(os, "O_NOFOLLOW", 0), getattr(os, "O_NONBLOCK", 0)
        flags = os.O_RDONLY | nofollow | nonblock | getattr(os, "O_BINARY", 0)
        parts = name.split("/")
        if os.open not in os.supports_dir_fd or not hasattr(os, "O_DIRECTORY"):
            return os.open(os.path.join(self.root, *parts), flags)
        folder = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | nofollow, dir_fd=folder)
                os.close(folder)
                folder = inner
            return os.open(parts[-1], flags, dir_fd=folder)
        finally:
            os.close(folder)

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
        try:
            descriptor = self._open(name)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise BundleIntegrityError(f"{self.root}: cannot open {name} ({error.strerror or error}); "
                                       f"bundle files must be regular files in real folders (no links)") from error
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise BundleIntegrityError(f"{self.root}: {name} is not a regular file")
            if status.st_nlink != 1:  # a hard link: the same bytes are reachable, and changeable, from outside
                raise BundleIntegrityError(f"{self.root}: {name} has {status.st_nlink} hard links; bundle files "
                                           f"must be their own copies (copy the file instead of linking it)")
            return read_at_most(lambda size: os.read(descriptor, size), limit)
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
            if len(self.entries) != self.declared_entries:
                raise zipfile.BadZipFile(f"zipfile read {len(self.entries)} entries, the end record declares "
                                         f"{self.declared_entries}")
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
        entries, directory_bytes, directory_offset = fields[4], fields[5], fields[6]
        directory_end = size - _EOCD.size
        locator = tail[-_EOCD.size - _ZIP64_LOCATOR.size:-_EOCD.size]
        if locator[:4] == b"PK\x06\x07":  # zipfile then reads the ZIP64 record just before the locator
            record = tail[:_ZIP64_EOCD.size]
            if len(record) != _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
                raise zipfile.BadZipFile("damaged ZIP64 end record")
            zip64 = _ZIP64_EOCD.unpack(record)
            entries, directory_bytes, directory_offset = zip64[7], zip64[8], zip64[9]
            directory_end = size - _EOCD.size - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size
        if entries > MAX_FILES + 2 or directory_bytes > _MAX_CENTRAL_DIRECTORY_BYTES:
            raise BundleLimitError(f"{self.path} declares {entries} entries in {directory_bytes} bytes; "
                                   f"a bundle holds at most {MAX_FILES} files")
        self._check_directory(entries, directory_offset, directory_bytes, directory_end)
        self.declared_entries = entries

    def _check_directory(self, entries: int, offset: int, length: int, end: int) -> None:
        """One strict reading of the central directory, before zipfile parses it: it ends where
        the end record begins, and holds exactly the declared number of records (zipfile would
        otherwise parse as many as fit in the declared bytes, whatever the count says)."""
        if offset + length != end:
            raise zipfile.BadZipFile(f"the central directory ({length} bytes at {offset}) does not end at the "
                                     f"end record ({end})")
        directory, position = self._read_at(offset, end), 0
        for index in range(entries):
            record = directory[position:position + _CENTRAL_RECORD.size]
            if len(record) != _CENTRAL_RECORD.size or record[:4] != b"PK\x01\x02":
                raise zipfile.BadZipFile(f"central directory record {index} of {entries} is missing or damaged")
            name_length, extra_length, comment_length = _CENTRAL_RECORD.unpack(record)[12:15]
            position += _CENTRAL_RECORD.size + name_length + extra_length + comment_length
        if position != length:
            raise zipfile.BadZipFile(f"the central directory holds more or less than the {entries} records its end "
                                     f"record declares ({position} of {length} bytes)")

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

    def _check_local_header(self, info: zipfile.ZipInfo) -> None:
        """The local header must say what the central directory says (method, flags, CRC, sizes):
        readers that trust one or the other would otherwise see different files."""
        header = self._read_at(info.header_offset, info.header_offset + _LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"entry {info.filename!r} has no local header")
        _, _, flags, method, _, _, crc, compressed, uncompressed, _, _ = _LOCAL_HEADER.unpack(header)
        if (method, flags, crc, compressed, uncompressed) != (info.compress_type, info.flag_bits, info.CRC,
                                                              info.compress_size, info.file_size):
            raise BundleIntegrityError(f"{self.path}: entry {info.filename!r}: its local header (method {method}, "
                                       f"flags {flags:#x}, {compressed}/{uncompressed} bytes) differs from the "
                                       f"central directory (method {info.compress_type}, flags "
                                       f"{info.flag_bits:#x}, {info.compress_size}/{info.file_size} bytes)")

    def read(self, name: str, limit: int) -> bytes | None:
        info = self.entries.get(name)
        if info is None:
            return None
        try:
            self._check_local_header(info)
            with self.zip.open(info) as handle:
                return read_at_most(handle.read, limit)
        except _ZIP_ERRORS as error:
            raise BundleIntegrityError(f"{self.path}: cannot read {name} ({error}); the file may be truncated or "
                                       f"damaged") from error


@dataclass(frozen=True)
class Contents:
    """What one pass over a bundle found, all of it checked against the manifest."""

    format: str
    manifest_bytes: bytes
    manifest: dict
    files: dict[str, bytes]
    signature: bytes | None


def verified_file(path: Path, name: str, entry: dict, data: bytes | None) -> bytes:
    """``data`` after checking it against its manifest entry (size, sha256); raises what is wrong."""
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


def load_contents(path: Path) -> Contents:
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
        manifest = parse_manifest(manifest_bytes)
        listed = manifest["files"]
        unlisted = storage.names() - set(listed) - {MANIFEST, SIGNATURE}
        if unlisted:
            raise BundleIntegrityError(f"{path} holds files its manifest does not list: {sorted(unlisted)[:5]}; "
                                       f"a bundle holds exactly its listed files")
        files = {name: verified_file(path, name, entry, storage.read(name, entry["size"]))
                 for name, entry in sorted(listed.items())}
        signature = storage.read(SIGNATURE, SIGNATURE_BYTES)
        if storage.names() - set(listed) - {MANIFEST, SIGNATURE}:  # added while reading (folders)
            raise BundleIntegrityError(f"{path} changed while it was read; open it again")
    if signature is not None and len(signature) != SIGNATURE_BYTES:
        raise SignatureError(f"{path}: {SIGNATURE} is not a {SIGNATURE_BYTES}-byte Ed25519 signature; "
                             f"re-sign it: edgesdk sign {path} --key KEY")
    return Contents(storage.format, manifest_bytes, manifest, files, signature)


