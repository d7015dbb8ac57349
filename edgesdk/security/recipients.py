"""X25519 key pairs of decoders (recipients of encrypted latents; docs/exchange.md):
generating them, key files, and the recipient id a stream key is wrapped under.

Files: the private key is unencrypted PKCS#8 PEM (mode 0600); the public key is one line
``x25519 <base64 of the 32 raw bytes> [comment]``. A stream key is wrapped for the id
``x25519-<first 8 bytes of sha256(public key), hex>``, so a decoder needs only its private
key to find its wrap, and no two people can claim one name.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from edgesdk.errors import InvalidArgumentError
from edgesdk.lazy import require
from edgesdk.security.keys import _read_key_file

PREFIX = "x25519"
HINT = "encrypted latents need the cryptography package: pip install 'cryptography>=42'"


def _x25519():
    return require("cryptography.hazmat.primitives.asymmetric.x25519", HINT)


def _serialization():
    return require("cryptography.hazmat.primitives.serialization", HINT)


def _raw(public_key) -> bytes:
    serialization = _serialization()
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def recipient_id(public_key) -> str:
    """``x25519-`` and 16 hex digits of the public key's sha256: the name a stream key is
    wrapped under (a private key gives its public half's id)."""
    if hasattr(public_key, "public_key"):
        public_key = public_key.public_key()
    return f"{PREFIX}-{hashlib.sha256(_raw(public_key)).hexdigest()[:16]}"


def generate_recipient_key(path: str | os.PathLike, comment: str = "") -> Path:
    """Writes a new X25519 private key to ``path`` (mode 0600; refused if it exists) and its
    public line to ``path.pub``; returns the public file's path."""
    path = Path(path)
    if "\n" in comment or "\r" in comment:
        raise InvalidArgumentError("a key comment must be one line")
    if path.exists():
        raise InvalidArgumentError(f"{path} exists; refusing to overwrite a key")
    serialization = _serialization()
    private = _x25519().X25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_path = path.with_name(path.name + ".pub")
    line = f"{PREFIX} {base64.b64encode(_raw(private.public_key())).decode()} {comment}".strip()
    public_path.write_text(line + "\n")
    return public_path


def load_recipient_private_key(path: str | os.PathLike):
    """The X25519 private key in a PEM file written by :func:`generate_recipient_key`."""
    serialization = _serialization()
    pem = _read_key_file(Path(path))
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise InvalidArgumentError(f"{path} is not an unencrypted PEM private key ({error}); make one with: "
                                   f"edgesdk keygen --x25519 {path}") from None
    if not isinstance(key, _x25519().X25519PrivateKey):
        raise InvalidArgumentError(f"{path} is not an X25519 key (decoders' keys are; make one with: "
                                   f"edgesdk keygen --x25519 PATH)")
    return key


def load_recipient_public_key(path: str | os.PathLike):
    """The X25519 public key of a ``.pub`` file (``x25519 <base64> [comment]``, ``#`` lines
    are comments)."""
    text = _read_key_file(Path(path)).decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    parts = lines[0].split(maxsplit=2) if len(lines) == 1 else []
    if len(parts) < 2 or parts[0] != PREFIX:
        raise InvalidArgumentError(f"{path} is not a decoder's public key: expected one line '{PREFIX} <base64 of "
                                   f"32 bytes> [comment]' (edgesdk keygen --x25519 writes it)")
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise InvalidArgumentError(f"{path}: the key is not base64") from None
    if len(raw) != 32:
        raise InvalidArgumentError(f"{path}: an X25519 public key is 32 bytes, this one is {len(raw)}")
    return _x25519().X25519PublicKey.from_public_bytes(raw)


def load_recipients(paths) -> dict[str, object]:
    """{recipient id: public key} of ``.pub`` files, or of every ``*.pub`` in a folder given
    among them; InvalidArgumentError when none is found."""
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.pub")) if path.is_dir() else [path]
    if not files:
        raise InvalidArgumentError("no recipient keys: give .pub files (or folders of them) made by "
                                   "edgesdk keygen --x25519")
    keys = {}
    for file in files:
        key = load_recipient_public_key(file)
        keys[recipient_id(key)] = key
    return keys
