"""What every latent store built here shares: a context manager that closes it, and ``put`` as
a batch of one (the LatentStore protocol, edgesdk/exchange/registry.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from edgesdk.exchange.records import FrameRecord


class StoreBase:
    """Subclasses define ``put_many`` and ``close``."""

    def put_many(self, records: Iterable[FrameRecord]) -> int:  # pragma: no cover - defined by each store
        """Stores the frames in one transaction; returns how many were new."""
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - defined by each store
        """Closes the store; safe to call twice."""
        raise NotImplementedError

    def put(self, record: FrameRecord) -> bool:
        """Stores one frame; True if new, False if the same bytes were already stored
        (DuplicateFrameError if other bytes are)."""
        return self.put_many([record]) == 1

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
