"""Fleet store in PostgreSQL with pgvector (``postgresql://…``; docs/exchange.md).

The same model as the SQLite store — frames keyed by (stream, frame index), exact bytes with
a BLAKE2b-128 checksum verified on read, metadata columns — in one table, with the feature
vector in a pgvector column under an HNSW index (L2). ``put_many`` is one transaction with
``ON CONFLICT DO NOTHING``: a redelivered frame is stored once.

:func:`ingest` is the consumer from JetStream: it fetches a batch, commits it here, and only
then acknowledges the messages, so a crash between commit and ack redelivers frames that
the conflict rule absorbs (exactly once in the store, nothing lost).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from edgesdk.errors import InvalidArgumentError, NotFoundError
from edgesdk.exchange.errors import DuplicateFrameError, FrameChecksumError, StoreError
from edgesdk.exchange.records import FrameKind, FrameRecord, check_stream_name
from edgesdk.exchange import postgres_codes
from edgesdk.exchange.store_base import StoreBase, check_example, check_names
from edgesdk.lazy import require

EXTRA_HINT = 'the PostgreSQL fleet store needs the exchange extra: pip install "edgesdk[exchange]"'


class PostgresStore(StoreBase):
    """Fleet latent store. ``dimensions`` fixes the vector length when the table is created
    (0: no vectors). ``table`` lets several stores share a database. ``readonly`` opens an
    existing table without writing (NotFoundError if there is none)."""

    def __init__(self, dsn: str, *, dimensions: int | None = None, table: str = "edgesdk_frames",
                 hnsw_m: int = 16, hnsw_ef_construction: int = 64, readonly: bool = False) -> None:
        self._psycopg = require("psycopg", EXTRA_HINT)
        if not table.replace("_", "").isalnum():
            raise InvalidArgumentError(f"table name {table!r} must be letters, digits and _")
        self.table = table
        self._lock = threading.RLock()  # one connection, used by several threads (ingest, queries)
        try:
            self._db = self._psycopg.connect(dsn, autocommit=False)
        except self._psycopg.OperationalError as error:
            raise NotFoundError(f"cannot connect to PostgreSQL: {error}") from None
        if readonly:
            self._db.read_only = True
            if self._fetch_and_rollback("SELECT to_regclass(%s)", (f"{table}_settings",))[0][0] is None:
                self.close()
                raise NotFoundError(f"this database has no store table {table}")
            self.dimensions = int(self._setting("dimensions", "0"))
        else:
            self._create_or_upgrade(dimensions, hnsw_m, hnsw_ef_construction)
        if dimensions is not None and dimensions != self.dimensions:
            raise InvalidArgumentError(f"table {table} holds {self.dimensions}-dimensional vectors, not {dimensions}")

    def _create_or_upgrade(self, dimensions: int | None, hnsw_m: int, hnsw_ef_construction: int) -> None:
        table = self.table
        with self._db.transaction():
            self._db.execute("CREATE EXTENSION IF NOT EXISTS vector")
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {table}_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = self._db.execute(f"SELECT value FROM {table}_settings WHERE key = 'dimensions'").fetchone()
            if row is None:
                dims = int(dimensions or 0)
                if not 0 <= dims <= 2000:
                    raise InvalidArgumentError("dimensions must be in [0, 2000] (pgvector's HNSW limit)")
                vector = f", embedding vector({dims})" if dims else ""
                self._db.execute(f"""CREATE TABLE {table} (
                    id BIGSERIAL PRIMARY KEY, stream TEXT NOT NULL, frame_index BIGINT NOT NULL,
                    timestamp DOUBLE PRECISION NOT NULL, model_id TEXT NOT NULL, quality INTEGER NOT NULL,
                    kind TEXT NOT NULL, size INTEGER NOT NULL, checksum BYTEA NOT NULL, transforms JSONB NOT NULL,
                    data BYTEA NOT NULL{vector}, encrypted BOOLEAN NOT NULL DEFAULT false, sealed_features BYTEA,
                    UNIQUE (stream, frame_index))""")
                self._db.execute(f"CREATE INDEX {table}_time ON {table} (stream, timestamp)")
                if dims:
                    self._db.execute(f"CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding vector_l2_ops) "
                                     f"WITH (m = {int(hnsw_m)}, ef_construction = {int(hnsw_ef_construction)})")
                self._db.execute(f"INSERT INTO {table}_settings VALUES ('dimensions', %s)", (str(dims),))
                self.dimensions = dims
            else:
                self.dimensions = int(row[0])
                for column in ("encrypted BOOLEAN NOT NULL DEFAULT false", "sealed_features BYTEA"):  # older tables
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")

    @property
    def label(self) -> str:
        """How messages name this store: its table (the connection string may hold a password)."""
        return f"PostgreSQL table {self.table}"

    def _setting(self, key: str, default: str) -> str:
        rows = self._fetch_and_rollback(f"SELECT value FROM {self.table}_settings WHERE key = %s", (key,))
        return rows[0][0] if rows else default

    def close(self) -> None:
        """Closes the database connection; safe to call twice."""
        if self._db is not None and not self._db.closed:
            self._db.close()

    # ------------------------------------------------------------------ writing

    def put_many(self, records: Iterable[FrameRecord]) -> int:
        """One transaction; returns how many frames were new. A frame already stored with the
        same bytes is skipped; with other bytes, DuplicateFrameError and nothing is stored."""
        records = list(records)
        if not records:
            return 0
        rows = []
        for r in records:
            if r.features is not None and r.features.shape != (self.dimensions,):
                raise InvalidArgumentError(f"features have {r.features.size} values; this store holds {self.dimensions}")
            row = [r.stream, r.frame_index, r.timestamp, r.model_id, r.quality, r.kind.value, r.size, r.digest(),
                   json.dumps(list(r.transforms)), r.data, r.encrypted, r.sealed_features]
            if self.dimensions:
                row.append(None if r.features is None else postgres_codes.vector_literal(r.features))
            rows.append(row)
        columns = ("stream, frame_index, timestamp, model_id, quality, kind, size, checksum, transforms, data, "
                   "encrypted, sealed_features")
        if self.dimensions:
            columns += ", embedding"
        placeholders = ", ".join(["%s"] * len(rows[0]))
        with self._lock, self._db.transaction():
            with self._db.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {self.table} ({columns}) VALUES ({placeholders}) "
                                   "ON CONFLICT (stream, frame_index) DO NOTHING RETURNING frame_index", rows,
                                   returning=True)
                added = 0
                while True:
                    added += len(cursor.fetchall())
                    if not cursor.nextset():
                        break
            if added < len(rows):
                self._check_conflicts(records)
        return added

    def _check_conflicts(self, records: list[FrameRecord]) -> None:
        keys = [(r.stream, r.frame_index) for r in records]
        stored = {(s, i): bytes(c) for s, i, c in self._db.execute(
            f"SELECT stream, frame_index, checksum FROM {self.table} WHERE (stream, frame_index) IN "
            f"(SELECT * FROM unnest(%s::text[], %s::bigint[]))",
            ([k[0] for k in keys], [k[1] for k in keys])).fetchall()}
        for record in records:
            if stored.get((record.stream, record.frame_index)) != record.digest():
                raise DuplicateFrameError(f"stream {record.stream} frame {record.frame_index} is stored with other bytes")

    # ------------------------------------------------------------------ reading

    def get(self, stream: str, start: float | None = None, end: float | None = None) -> Iterator[FrameRecord]:
        """Frames of ``stream`` with ``start <= timestamp < end`` (either open), by frame index,
        each checked against its checksum (FrameChecksumError); without feature vectors."""
        check_stream_name(stream)
        with self._lock:
            rows = self._fetch_and_rollback(
                f"SELECT stream, frame_index, timestamp, data, kind, model_id, quality, transforms, checksum, "
                f"encrypted, sealed_features FROM "
                f"{self.table} WHERE stream = %s AND timestamp >= %s AND timestamp < %s ORDER BY frame_index",
                (stream, -float("inf") if start is None else start, float("inf") if end is None else end))
        for stream_, index, timestamp, data, kind, model_id, quality, transforms, checksum, encrypted, sealed in rows:
            record = FrameRecord(stream_, index, timestamp, bytes(data), FrameKind(kind), model_id, quality, None,
                                 tuple(transforms), encrypted, None if sealed is None else bytes(sealed))
            if record.digest() != bytes(checksum):
                raise FrameChecksumError(f"stream {stream_} frame {index}: bytes do not match their checksum")
            yield record

    def _fetch_and_rollback(self, sql: str, bindings: tuple = ()) -> list[tuple]:
        with self._lock:
            rows = self._db.execute(sql, bindings).fetchall()
            self._db.rollback()  # reads leave no transaction open
            return rows

    def streams(self) -> list[dict[str, Any]]:
        """One summary per stream (name, frames, bytes, first/last frame index and time,
        keyframes, encrypted frames), by name."""
        rows = self._fetch_and_rollback(
            f"SELECT stream, COUNT(*), SUM(size), MIN(frame_index), MAX(frame_index), MIN(timestamp), MAX(timestamp), "
            f"SUM((kind = 'key')::int), SUM(encrypted::int) FROM {self.table} GROUP BY stream ORDER BY stream")
        keys = ("stream", "frames", "bytes", "first_frame", "last_frame", "first_time", "last_time", "keyframes",
                "encrypted")
        return [dict(zip(keys, row)) for row in rows]

    def count(self) -> int:
        """Number of frames in this table, all streams together."""
        return int(self._fetch_and_rollback(f"SELECT COUNT(*) FROM {self.table}")[0][0])

    def search(self, vector: np.ndarray, k: int, *, stream: str | None = None, kind: str | None = None,
               quality: int | None = None, model_id: str | None = None, exact: bool = False,
               ef_search: int = 100) -> list[tuple[str, int, float]]:
        """The ``k`` nearest (L2) frames matching every filter: through the HNSW index with
        pgvector's iterative scan (approximate; keeps scanning until k match), or ``exact``
        (sequential scan)."""
        if not self.dimensions:
            raise StoreError("this store was created without feature vectors (dimensions=0)")
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape != (self.dimensions,):
            raise InvalidArgumentError(f"query has {query.size} values; the store holds {self.dimensions}")
        if not 1 <= k <= 1000:
            raise InvalidArgumentError("k must be in [1, 1000]")
        clauses, bindings = ["embedding IS NOT NULL"], []
        for column, value in (("stream", stream), ("kind", kind), ("quality", quality), ("model_id", model_id)):
            if value is not None:
                clauses.append(f"{column} = %s")
                bindings.append(value)
        literal = postgres_codes.vector_literal(query)
        with self._lock, self._db.transaction():
            if exact:
                self._db.execute("SET LOCAL enable_indexscan = off")
            else:
                self._db.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                self._db.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
            rows = self._db.execute(
                f"SELECT stream, frame_index, embedding <-> %s::vector AS d FROM {self.table} WHERE "
                + " AND ".join(clauses) + " ORDER BY embedding <-> %s::vector LIMIT %s",
                (literal, *bindings, literal, k)).fetchall()
        return [(s, int(i), float(d)) for s, i, d in rows]

    # ------------------------------------------------------------------ search codes

    def set_feature_names(self, names: Iterable[str]) -> None:
        """Names the components of the stored vectors (one name each; settings key
        ``feature_names``), which makes them queryable one by one (:meth:`select_codes`)."""
        if not self.dimensions:
            raise StoreError(f"{self.label} was created without feature vectors (dimensions=0)")
        names = check_names(names, self.dimensions)
        with self._lock, self._db.transaction():
            self._db.execute(f"INSERT INTO {self.table}_settings VALUES ('feature_names', %s) ON CONFLICT (key) "
                             "DO UPDATE SET value = EXCLUDED.value", (json.dumps(names),))

    def _need_codes(self) -> None:
        if not self.feature_names:
            raise StoreError(f"{self.label} has no named feature components (store put --features names them)")

    def select_codes(self, conditions: Iterable[tuple[int, str, float]] = (), *, stream: str | None = None,
                     limit: int | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Frames whose vector components satisfy every (component, ``<``/``<=``/``>``/``>=``,
        value), run on the server: (streams, frame indexes, vectors float32 [n, dimensions]),
        in storing order. Needs named components (:meth:`set_feature_names`)."""
        self._need_codes()
        return postgres_codes.select(self, list(conditions), None if stream is None else check_stream_name(stream),
                                     limit)

    def nearest_codes(self, example: np.ndarray, k: int, conditions: Iterable[tuple[int, str, float]] = (), *,
                      stream: str | None = None) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The ``k`` frames nearest (L2) ``example`` among those :meth:`select_codes` selects:
        (streams, frame indexes, vectors, distances), nearest first, ties in storing order;
        exact (one query on the server, the HNSW index not used)."""
        self._need_codes()
        example = check_example(example, self.dimensions, k)
        return postgres_codes.nearest(self, example, k, list(conditions),
                                      None if stream is None else check_stream_name(stream))


def open_postgres_store(uri: str, options: dict) -> PostgresStore:
    """Opener for the ``postgresql`` and ``postgres`` schemes: ``PostgresStore(uri, **options)``
    (the URI is psycopg's connection string)."""
    return PostgresStore(uri, **options)


def ingest(transport, store, *, durable: str = "fleet-ingest", batch: int = 256, max_frames: int | None = None,
           timeout: float = 60.0, idle_timeout: float | None = 2.0, ack_wait: float = 30.0, on_batch=None,
           until=None) -> int:
    """Moves frames from JetStream into ``store``: fetch up to ``batch`` messages, commit them
    in one ``put_many``, then acknowledge them. Returns the number of frames committed.
    Stops after ``max_frames``, ``timeout`` seconds, or ``idle_timeout`` seconds without a
    message, or once ``until()`` is true (checked after each batch). ``max_frames`` counts
    deliveries, redelivered frames included. Frames not acknowledged within ``ack_wait`` seconds (a consumer that died after
    its commit) are delivered again. ``on_batch(records)`` runs after each commit (before the
    acks), for tests."""
    committed = 0
    end = time.monotonic() + timeout
    for records, acknowledge in transport.fetch_batches(durable, batch=batch, idle_timeout=idle_timeout,
                                                        deadline=end, ack_wait=ack_wait):
        store.put_many(records)
        committed += len(records)
        if on_batch is not None:
            on_batch(records)
        acknowledge()
        if max_frames is not None and committed >= max_frames:
            break
        if until is not None and until():
            break
    return committed
