"""Search codes in the PostgreSQL fleet store (docs/latent-search.md, "Storage"): the
components are the elements of the pgvector ``embedding`` column, named in the store's
settings table (key ``feature_names``, as in SQLite). Predicates run on the server as
``(embedding::real[])[i] OP value`` with the value bound; an example orders by pgvector's
``<->`` with the index off (exact), the candidates near the k-th ranked again in float64
(edgesdk.exchange.store_base.rank), ties by storing order."""

from __future__ import annotations

import numpy as np

from edgesdk.exchange.store_base import check_conditions, rank


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form of a float32 vector (each value written so it reads back exactly)."""
    return "[" + ",".join(map(repr, np.asarray(vector, np.float32).tolist())) + "]"


def _where(conditions, dimensions: int, stream: str | None) -> tuple[str, list]:
    clauses, bindings = ["embedding IS NOT NULL"], []
    for component, op, value in check_conditions(conditions, dimensions):
        # the subscript is a checked integer (1-based in SQL); the value is a bound parameter,
        # a float8 that the float4 element is widened to compare with, as SQLite compares
        clauses.append(f"(embedding::real[])[{component + 1}] {op} %s::float8")
        bindings.append(value)
    if stream is not None:
        clauses.append("stream = %s")
        bindings.append(stream)
    return " AND ".join(clauses), bindings


def _arrays(rows: list, dimensions: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    streams = [row[0] for row in rows]
    indexes = np.array([row[1] for row in rows], np.int64)
    return streams, indexes, np.array([row[2] for row in rows], np.float32).reshape(len(rows), dimensions)


def select(store, conditions, stream: str | None, limit: int | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(streams, frame indexes, vectors float32 [n, dimensions]) of the frames of ``store``
    whose components satisfy every condition, in storing order (at most ``limit``)."""
    where, bindings = _where(conditions, store.dimensions, stream)
    tail = ""
    if limit is not None:
        tail = " LIMIT %s"
        bindings.append(int(limit))
    rows = store._fetch_and_rollback(
        f"SELECT stream, frame_index, embedding::real[] FROM {store.table} WHERE {where} ORDER BY id{tail}",
        tuple(bindings))
    return _arrays(rows, store.dimensions)


def nearest(store, example: np.ndarray, k: int, conditions, stream: str | None) -> tuple:
    """(streams, frame indexes, vectors, distances) of the ``k`` frames of ``store`` nearest
    ``example`` among those satisfying every condition, nearest first. One statement on the
    server, exact (a sequential scan, not HNSW): the frames within float32 rounding of the k-th
    distance by ``<->``, ranked here by store_base.rank (as SQLite ranks)."""
    where, bindings = _where(conditions, store.dimensions, stream)
    literal = vector_literal(example)
    scale = 1.0 + 4.0 * store.dimensions * 2.0**-24  # store_base.tolerance, in SQL
    with store._lock, store._db.transaction():
        store._db.execute("SET LOCAL enable_indexscan = off")
        rows = store._db.execute(
            f"WITH c AS MATERIALIZED (SELECT id, embedding <-> %s::vector AS d FROM {store.table} WHERE {where}), "
            "kth AS (SELECT max(d) AS d FROM (SELECT d FROM c ORDER BY d LIMIT %s) s) "
            f"SELECT t.id, t.stream, t.frame_index, t.embedding::real[] FROM c JOIN {store.table} t ON t.id = c.id, "
            "kth WHERE c.d <= kth.d * %s + 1e-6", (literal, *bindings, int(k), scale)).fetchall()
    keys = np.array([row[0] for row in rows], np.int64)
    streams, indexes, codes = _arrays([row[1:] for row in rows], store.dimensions)
    order, distances = rank(keys, codes, example, k)
    return [streams[r] for r in order], indexes[order], codes[order], distances
