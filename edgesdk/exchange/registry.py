"""Stores and transports by URI scheme: the protocols they implement and their registries.

``register_store(opener, schemes=["sqlite"])`` makes ``open_store("sqlite:///x.db")`` call
``opener(uri, options)``; transports likewise. The built-in ones (``sqlite``,
``postgresql``, ``nats``) are registered on first use, so importing this module imports no
engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Callable, Protocol, runtime_checkable
from urllib.parse import SplitResult, urlsplit

from edgesdk.errors import InvalidArgumentError, UnsupportedFormatError
from edgesdk.exchange.records import FrameRecord

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@runtime_checkable
class LatentStore(Protocol):
    """What every latent store offers. Frames are keyed by (stream, frame index)."""

    def put(self, record: FrameRecord) -> bool:
        """Stores one frame durably; True if new, False if this exact frame was already there."""

    def put_many(self, records: Iterable[FrameRecord]) -> int:
        """Stores frames in one transaction (all or none); returns how many were new."""

    def get(self, stream: str, start: float | None = None, end: float | None = None) -> Iterator[FrameRecord]:
        """Frames of ``stream`` with ``start <= timestamp < end``, by frame index, checksums verified."""

    def streams(self) -> list[dict[str, Any]]:
        """One summary per stream: name, frames, bytes, first/last frame index and time."""

    def close(self) -> None:
        """Releases the store (its connection or file)."""


@runtime_checkable
class Transport(Protocol):
    """What every transport offers: publish frames with idempotent ids, subscribe to a stream."""

    def publish(self, record: FrameRecord) -> None:
        """Returns once the broker has durably acknowledged the frame (safe to retry)."""

    def subscribe(self, stream: str, *, start_frame: int | None = None,
                  timeout: float | None = None) -> Iterator[FrameRecord]:
        """Frames of ``stream`` as they arrive (from ``start_frame``, or only new ones)."""

    def close(self) -> None:
        """Closes the connection to the broker."""


StoreOpener = Callable[[str, dict], LatentStore]
TransportOpener = Callable[[str, dict], Transport]

_stores: dict[str, StoreOpener] = {}
_transports: dict[str, TransportOpener] = {}
_builtins_loaded = False


def _register(table: dict, opener, schemes: Iterable[str], replace: bool) -> None:
    schemes = list(schemes)
    if not schemes:
        raise InvalidArgumentError("give at least one URI scheme")
    for scheme in schemes:
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
            raise InvalidArgumentError(f"scheme {scheme!r} must look like 'sqlite' (lower case, without '://')")
        if scheme in table and table[scheme] is not opener and not replace:
            raise InvalidArgumentError(f"{scheme!r} already has a handler; pass replace=True to override it")
    for scheme in schemes:
        table[scheme] = opener


def register_store(opener: StoreOpener, *, schemes: Iterable[str], replace: bool = False) -> None:
    """Makes :func:`open_store` use ``opener(uri, options) -> LatentStore`` for these schemes."""
    _register(_stores, opener, schemes, replace)


def register_transport(opener: TransportOpener, *, schemes: Iterable[str], replace: bool = False) -> None:
    """Makes :func:`open_transport` use ``opener(uri, options) -> Transport`` for these schemes."""
    _register(_transports, opener, schemes, replace)


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    from edgesdk.exchange import _builtin  # noqa: F401  (registers sqlite, postgresql, nats)


def split_uri(uri: str) -> tuple[str, SplitResult]:
    """(scheme, parts) of a store or transport URI; a bare path is ``sqlite``."""
    if not isinstance(uri, str) or not uri:
        raise InvalidArgumentError(f"a store or transport URI must be a non-empty string, got {uri!r}")
    match = _SCHEME.match(uri)
    if not match:
        return "sqlite", SplitResult("sqlite", "", uri, "", "")
    return match.group(1).lower(), urlsplit(uri)


def _open(table: dict, kind: str, uri: str, options: dict) -> Any:
    _load_builtins()
    scheme, _ = split_uri(uri)
    opener = table.get(scheme)
    if opener is None:
        raise UnsupportedFormatError(f"{uri}: no {kind} for scheme {scheme!r} (known: {', '.join(sorted(table))})")
    return opener(uri, options)


def open_store(uri: str, **options: Any) -> LatentStore:
    """The store at ``uri`` (``sqlite:///path.db``, or a bare path for SQLite)."""
    return _open(_stores, "store", uri, options)


def open_transport(uri: str, **options: Any) -> Transport:
    """A transport to ``uri`` (``nats://127.0.0.1:4222``)."""
    return _open(_transports, "transport", uri, options)


def store_schemes() -> list[str]:
    """The URI schemes :func:`open_store` knows (built-in ones included), sorted."""
    _load_builtins()
    return sorted(_stores)


def transport_schemes() -> list[str]:
    """The URI schemes :func:`open_transport` knows (built-in ones included), sorted."""
    _load_builtins()
    return sorted(_transports)
