"""Exchange: latent stores and transports, registered by URI scheme (docs/exchange.md).

A *store* keeps frames (the exact packet bytes) with their metadata; a *transport* moves
them between devices. Both are opened from a URI whose scheme picks the implementation::

    from edgesdk.exchange import open_store
    with open_store("sqlite:///var/lib/cam/latents.db") as store:   # or a bare path
        store.put(FrameRecord.from_packet("cam0", packet_bytes, timestamp=time.time()))

Add one with :func:`register_store` / :func:`register_transport` (docs/architecture.md,
"Adding a store or a transport"). Each implementation imports its engine lazily, so this
package imports without the ``exchange`` extra.
"""

from __future__ import annotations

from edgesdk.exchange.errors import (
    AuthenticationError,
    DecryptionError,
    DuplicateFrameError,
    FrameChecksumError,
    NotAuthorisedError,
    ReplayError,
    StoreCorruptedError,
    StoreError,
    TransportError,
    TransportUnavailableError,
)
from edgesdk.exchange.records import FrameKind, FrameRecord
from edgesdk.exchange.registry import (
    LatentStore,
    Transport,
    open_store,
    open_transport,
    register_store,
    register_transport,
    split_uri,
    store_schemes,
    transport_schemes,
)

__all__ = [
    "AuthenticationError", "DecryptionError", "DuplicateFrameError", "FrameChecksumError", "FrameKind",
    "FrameRecord", "LatentStore", "NotAuthorisedError", "ReplayError", "StoreCorruptedError", "StoreError",
    "Transport", "TransportError", "TransportUnavailableError", "open_store", "open_transport",
    "register_store", "register_transport", "split_uri", "store_schemes", "transport_schemes",
]
