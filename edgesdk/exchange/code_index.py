"""Named feature vectors of the SQLite store as plain columns (docs/latent-search.md,
"Storage"): table ``codes`` holds one REAL column per named component beside the ``vec0``
vectors, so predicates on components run as SQL over a plain table (vec0 answers k-NN, not
per-component comparisons). Created when the store's components are named; kept in step by
put and gc."""

from __future__ import annotations

import json

import numpy as np

from edgesdk.exchange.store_base import check_conditions


def create(db, names: list[str]) -> None:
    """Records the names and creates ``codes`` (filled from vectors already stored)."""
    db.execute("INSERT OR REPLACE INTO settings VALUES ('feature_names', ?)", (json.dumps(names),))
    columns = ", ".join(f"c{k} REAL NOT NULL" for k in range(len(names)))
    db.execute(f"CREATE TABLE IF NOT EXISTS codes (frame_id INTEGER PRIMARY KEY, {columns})")
    rows = db.execute("SELECT frame_id, embedding FROM vectors WHERE frame_id NOT IN (SELECT frame_id FROM codes)"
                      ).fetchall()
    for frame_id, blob in rows:
        insert(db, frame_id, np.frombuffer(blob, np.float32))


def exists(db) -> bool:
    """Whether the store has a ``codes`` table."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'codes'").fetchone() is not None


def insert(db, frame_id: int, vector: np.ndarray) -> None:
    """The row of one frame's vector."""
    values = [float(v) for v in vector]
    db.execute(f"INSERT INTO codes VALUES (?{', ?' * len(values)})", (frame_id, *values))


def select(db, conditions: list[tuple[int, str, float]], dimensions: int, stream: str | None,
           limit: int | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(streams, frame indexes, vectors float32 [n, dimensions]) of the frames whose components
    satisfy every (component, operator, value), in storing order."""
    clauses, bindings = [], []
    for component, op, value in check_conditions(conditions, dimensions):
        clauses.append(f"c.c{component} {op} ?")
        bindings.append(value)  # float32-rounded: compared as the stored float32 values compare
    if stream is not None:
        clauses.append("f.stream = ?")
        bindings.append(stream)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    columns = ", ".join(f"c.c{k}" for k in range(dimensions))
    rows = db.execute(f"SELECT f.stream, f.frame_index, {columns} FROM codes c JOIN frames f ON f.id = c.frame_id "
                      f"{where} ORDER BY c.frame_id{tail}", tuple(bindings)).fetchall()
    return _arrays(rows, dimensions)


def codes_of(db, keys: list[tuple[str, int]], dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    """(frame ids, code rows float32 [len(keys), dimensions]) of frames given as (stream, frame index)."""
    columns = ", ".join(f"c.c{k}" for k in range(dimensions))
    rows = [db.execute(f"SELECT c.frame_id, {columns} FROM codes c JOIN frames f ON f.id = c.frame_id WHERE "
                       "f.stream = ? AND f.frame_index = ?", key).fetchone() for key in keys]
    return (np.array([row[0] for row in rows], np.int64),
            np.array([row[1:] for row in rows], np.float32).reshape(len(keys), dimensions))


def _arrays(rows: list, dimensions: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    streams = [row[0] for row in rows]
    indexes = np.array([row[1] for row in rows], np.int64)
    vectors = np.array([row[2:] for row in rows], np.float32).reshape(len(rows), dimensions)
    return streams, indexes, vectors
