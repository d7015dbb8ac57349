"""Registers the stores and transports that ship with edgesdk (engines imported on open)."""

from __future__ import annotations

from edgesdk.exchange.registry import register_store
from edgesdk.exchange.sqlite_store import open_sqlite_store

register_store(open_sqlite_store, schemes=["sqlite", "file"])

from edgesdk.exchange.registry import register_transport  # noqa: E402
from edgesdk.exchange.nats import open_nats_transport  # noqa: E402

register_transport(open_nats_transport, schemes=["nats"])

from edgesdk.exchange.postgres import open_postgres_store  # noqa: E402

register_store(open_postgres_store, schemes=["postgresql", "postgres"])
