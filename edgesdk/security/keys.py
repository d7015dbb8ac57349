"""Ed25519 keys and the trust configuration (docs/bundle.md): generating, loading and
fingerprinting keys, the trusted-keys folder and environment, and checking a manifest's
signature. ``cryptography`` is imported only when a key or a signature is handled."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from edgesdk.lazy import require
from edgesdk.errors import InvalidArgumentError, SignatureError



KEY_PREFIX = "ed25519"
MAX_KEY_FILE_BYTES = 64 << 10
REQUIRE_SIGNATURE_ENV = "EDGESDK_REQUIRE_SIGNATURE"
TRUSTED_KEYS_ENV = "EDGESDK_TRUSTED_KEYS"

# Ed25519 public keys that are not keys: encodings of y >= p (non-canonical) and the eight
# points of small order (identity, order 2, 4 and 8; the x sign does not change the order).
# A signature "R = identity, S = 0" verifies under the identity key for every message, so such
# a key in a trust configuration would accept any bundle.
_FIELD_PRIME = 2**255 - 19
_ORDER_8_Y = int.from_bytes(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little")
_SMALL_ORDER_Y = frozenset({0, 1, _FIELD_PRIME - 1, _ORDER_8_Y, _FIELD_PRIME - _ORDER_8_Y})

# --------------------------------------------------------------------------- keys, signatures


def check_public_key_bytes(raw: bytes, where: str = "key") -> bytes:
    """``raw`` when it is a usable Ed25519 public key: 32 bytes, a canonical encoding, not a
    point of small order (which would verify forged signatures); InvalidArgumentError otherwise."""
    if len(raw) != 32:
        raise InvalidArgumentError(f"{where}: an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    if y >= _FIELD_PRIME or y in _SMALL_ORDER_Y:
        raise InvalidArgumentError(f"{where} is not a usable Ed25519 public key (a non-canonical or small-order "
                                   f"point, which would accept forged signatures); trust the .pub file that "
                                   f"edgesdk keygen wrote")
    return raw

def crypto():
    """cryptography's ed25519 and serialization modules and its InvalidSignature and
    UnsupportedAlgorithm exceptions, imported on first use."""
    hint = "bundle signatures need the cryptography package: pip install 'cryptography>=42'"
    exceptions = require("cryptography.exceptions", hint)
    serialization = require("cryptography.hazmat.primitives.serialization", hint)
    ed25519 = require("cryptography.hazmat.primitives.asymmetric.ed25519", hint)
    return ed25519, serialization, exceptions.InvalidSignature, exceptions.UnsupportedAlgorithm


def generate_signing_key(comment: str = "") -> tuple[bytes, str]:
    """(private key as unencrypted PKCS#8 PEM bytes, public key as one ``ed25519 <base64> [comment]`` line)."""
    ed25519, serialization, _, _ = crypto()
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return pem, public_key_text(private.public_key(), comment)


def raw_public_key(key) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    _, serialization, _, _ = crypto()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key, comment: str = "") -> str:
    """The key-file line of a public key: ``ed25519 <base64 of the 32 raw bytes> [comment]``."""
    if "\n" in comment or "\r" in comment:
        raise InvalidArgumentError("a key comment must be one line")
    text = f"{KEY_PREFIX} {base64.b64encode(raw_public_key(load_public_key(key))).decode()}"
    return f"{text} {comment}".strip() + "\n"


def key_fingerprint(key) -> str:
    """``SHA256:`` and the first 16 bytes of the raw public key's sha256, hex. ``key``: anything
    :func:`load_public_key` takes, or an Ed25519 private key (its public half)."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    return "SHA256:" + hashlib.sha256(raw_public_key(load_public_key(key))).hexdigest()[:32]


def _read_key_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidArgumentError(f"cannot read key file {path}: {error.strerror or error}") from error
    if len(data) > MAX_KEY_FILE_BYTES:
        raise InvalidArgumentError(f"{path} is larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")
    return data


def _check_not_world_writable(path: Path) -> None:
    """A trust file or folder anyone may write to is anyone's trust: refused (POSIX)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise InvalidArgumentError(f"cannot read key file {path}: {error.strerror or error}") from error
    if os.name == "posix" and mode & 0o002:
        raise InvalidArgumentError(f"{path} is writable by every user, so anyone could add a trusted key; "
                                   f"chmod o-w {path}")


def _is_key_text(source: Any) -> bool:
    """Whether a str is key text rather than a path (no key file path has a line break)."""
    return isinstance(source, str) and ("\n" in source or not source.strip()
                                        or source.lstrip().startswith(("-----BEGIN", KEY_PREFIX + " ")))


def load_private_key(source):
    """An Ed25519 private key from a key object, PEM bytes or text, or a PEM file path."""
    ed25519, serialization, _, unsupported = crypto()
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
    try:
        key = _load_public_key(source)
    except (ValueError, TypeError) as error:
        if isinstance(error, InvalidArgumentError):
            raise
        raise InvalidArgumentError(f"cannot read the public key ({error})") from error
    check_public_key_bytes(raw_public_key(key), "the trusted key" if not isinstance(source, (str, os.PathLike))
                           or _is_key_text(source) else str(source))
    return key


def _load_public_key(source):
    ed25519, serialization, _, unsupported = crypto()
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
    sources = _configured_key_files()
    for path in sources:
        _check_not_world_writable(path)
    if sources and trusted_keys_folder().is_dir():
        _check_not_world_writable(trusted_keys_folder())
    return [load_public_key(path) for path in sources]


def _configured_key_files() -> list[Path]:
    """The key files the device's configuration names (the environment and the folder)."""
    sources = [Path(p) for p in os.environ.get(TRUSTED_KEYS_ENV, "").split(os.pathsep) if p]
    folder = trusted_keys_folder()
    if folder.is_dir():
        sources += sorted(folder.glob("*.pub"))
    return sources


def trust_configured(trusted_keys: Any = None) -> bool:
    """Whether any trusted key is configured or given (without loading or checking them):
    then a signature is required (docs/bundle.md, policy)."""
    if trusted_keys is not None and not isinstance(trusted_keys, (str, bytes, bytearray, os.PathLike)) \
            and not hasattr(trusted_keys, "verify"):
        trusted_keys = list(trusted_keys)
        given = bool(trusted_keys)
    else:
        given = trusted_keys is not None
    return given or bool(_configured_key_files())


def signature_required(require_signature: bool | None) -> bool:
    """The argument can require a signature; the environment can too, and an argument cannot
    lift a requirement the device's environment sets."""
    return bool(require_signature) or os.environ.get(REQUIRE_SIGNATURE_ENV, "").strip().lower() not in (
        "", "0", "false", "no", "off")


def resolve_trusted_keys(trusted_keys: Any) -> list:
    """The given trusted keys plus the configured ones, as key objects."""
    if trusted_keys is None:
        given = []
    elif isinstance(trusted_keys, (str, bytes, bytearray, os.PathLike)) or hasattr(trusted_keys, "verify"):
        given = [trusted_keys]
    else:
        given = list(trusted_keys)
    unique = {}
    for key in [*map(load_public_key, given), *configured_trusted_keys()]:
        unique.setdefault(raw_public_key(key), key)
    return list(unique.values())


def check_signature(path: Path, manifest_bytes: bytes, signature: bytes | None, trusted_keys: Any,
                     required: bool) -> str | None:
    """The signer's fingerprint, None when nothing was checked; raises what policy refuses.
    A configured (or given) trusted key means a signature is required: trusting a key and
    accepting bundles nobody signed would make the key decorative."""
    if trusted_keys is not None and not isinstance(trusted_keys, (str, bytes, bytearray, os.PathLike)) \
            and not hasattr(trusted_keys, "verify"):
        trusted_keys = list(trusted_keys)  # iterated twice below
    configured = trust_configured(trusted_keys)
    keys = resolve_trusted_keys(trusted_keys) if configured else []  # validated even for unsigned bundles
    if signature is None:
        if required or configured:
            reason = (f"a signature is required (require_signature or {REQUIRE_SIGNATURE_ENV})" if required else
                      f"trusted keys are configured ({', '.join(key_fingerprint(k) for k in keys)}), which "
                      f"requires a signature")
            raise SignatureError(f"{path} is not signed and {reason}; sign it: edgesdk sign {path} --key KEY")
        return None
    if not keys:
        if required:
            raise SignatureError(f"{path} is signed, but a signature is required and no trusted keys are configured "
                                 f"(pass trusted_keys, set {TRUSTED_KEYS_ENV} or add *.pub files to "
                                 f"{trusted_keys_folder()})")
        return None  # signed, but nothing to check against: treated as unsigned
    invalid_signature = crypto()[2]
    for key in keys:
        try:
            key.verify(signature, manifest_bytes)
        except invalid_signature:
            continue
        return key_fingerprint(key)
    raise SignatureError(f"{path}: the manifest signature does not verify with any trusted key "
                         f"({', '.join(key_fingerprint(k) for k in keys)}); the manifest was changed after signing, "
                         f"or someone else signed it")


