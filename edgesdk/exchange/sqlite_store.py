"""The on-device latent store: one SQLite file in WAL mode, opened with apsw, with
sqlite-vec for vector search (docs/exchange.md).

* ``put``/``put_many`` commit with ``synchronous=FULL``: when they return, the frames
  survive a crash or power loss (acknowledged means durable).
* Each frame's bytes are stored with a BLAKE2b-128 checksum, verified on every read;
  :meth:`SQLiteStore.check` also runs ``PRAGMA integrity_check``.
* Retention (:meth:`SQLiteStore.gc`) drops whole groups (a keyframe and the frames after
  it up to the next keyframe) from the oldest, so no kept frame loses its reference; the
  newest group of each stream is always kept.
* Feature vectors go to a ``vec0`` table partitioned by stream with metadata columns, so
  filtered k-NN is exact (vec0 scans; no approximate index). Named vectors (search codes) are
  also plain columns of table ``codes`` for predicates (edgesdk.exchange.code_index).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgesdk.errors import InvalidArgumentError, NotFoundError
from edgesdk.exchange import code_index, sqlite_schema
from edgesdk.exchange.errors import (
    DuplicateFrameError,
    FrameChecksumError,
    StoreCorruptedError,
    StoreError,
)
from edgesdk.exchange.records import FrameKind, FrameRecord, check_stream_name
from edgesdk.exchange.store_base import (
    MAX_NEAREST,
    StoreBase,
    check_conditions,
    check_example,
    check_names,
    rank,
    tolerance,
)
from edgesdk.lazy import require

from edgesdk.exchange.sqlite_schema import EXTRA_HINT, SCHEMA_VERSION

class SQLiteStore(StoreBase):
    """Latent store in one SQLite file. ``dimensions`` fixes the feature vector length when the
    store is created (0: no vectors); later opens read it from the file."""

    def __init__(self, path: str | os.PathLike, *, dimensions: int | None = None, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise NotFoundError(f"{self.path}: no such store")
        self._lock = threading.RLock()
        self._apsw = require("apsw", EXTRA_HINT)
        try:
            self._db = sqlite_schema.connect(str(self.path), readonly)
            if not readonly:
                mode = self._one("PRAGMA journal_mode=WAL")
                if str(mode).lower() != "wal":
                    raise StoreError(f"{self.path}: SQLite refused WAL mode ({mode})")
                self._db.execute("PRAGMA synchronous=FULL")
                with self._db:
                    sqlite_schema.create_or_upgrade(self._db, self.path, dimensions)
            self.dimensions = int(self._setting("dimensions", "0"))
            if readonly and int(self._setting("schema", "1")) < SCHEMA_VERSION:
                raise StoreError(f"{self.path}: an older store schema; open it once writable to upgrade it")
            self._codes = code_index.exists(self._db)
            if dimensions is not None and dimensions != self.dimensions:
                raise InvalidArgumentError(f"{self.path} holds {self.dimensions}-dimensional vectors, not {dimensions}")
        except self._apsw.NotADBError:
            raise StoreCorruptedError(f"{self.path}: not a SQLite database (damaged header?)") from None
        except self._apsw.CorruptError as error:
            raise StoreCorruptedError(f"{self.path}: damaged: {error}") from None

    # ------------------------------------------------------------------ setup

    def _one(self, sql: str, bindings: tuple = ()) -> Any:
        row = self._db.execute(sql, bindings).fetchone()
        return None if row is None else row[0]

    def _setting(self, key: str, default: str) -> str:
        value = self._one("SELECT value FROM settings WHERE key = ?", (key,))
        return default if value is None else value

    def close(self) -> None:
        """Closes the database; safe to call twice."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ------------------------------------------------------------------ writing

    def put_many(self, records: Iterable[FrameRecord]) -> int:
        """Stores the frames in one transaction; returns how many were new. The same frame
        again is skipped (idempotent retries); different bytes under a stored
        (stream, frame index) raise DuplicateFrameError and store nothing of the batch."""
        records = list(records)
        added = 0
        with self._lock, self._db:
            for record in records:
                added += self._insert(record)
        return added

    def _insert(self, record: FrameRecord) -> int:
        existing = self._db.execute("SELECT checksum FROM frames WHERE stream = ? AND frame_index = ?",
                                    (record.stream, record.frame_index)).fetchone()
        digest = record.digest()
        if existing is not None:
            if bytes(existing[0]) == digest:
                return 0
            raise DuplicateFrameError(f"stream {record.stream} frame {record.frame_index} is stored with other bytes")
        if record.kind.is_key:
            group = record.frame_index
        else:
            group = self._one("SELECT group_index FROM frames WHERE stream = ? AND frame_index < ? "
                              "ORDER BY frame_index DESC LIMIT 1", (record.stream, record.frame_index))
            group = record.frame_index if group is None else group  # no keyframe before it: its own group
        self._db.execute(
            "INSERT INTO frames (stream, frame_index, group_index, timestamp, model_id, quality, kind, size, "
            "checksum, transforms, data, encrypted, sealed_features) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.stream, record.frame_index, group, record.timestamp, record.model_id, record.quality,
             record.kind.value, record.size, digest, json.dumps(list(record.transforms)), record.data,
             int(record.encrypted), record.sealed_features))
        frame_id = self._db.last_insert_rowid()
        if record.features is not None:
            if record.features.shape != (self.dimensions,):
                raise InvalidArgumentError(
                    f"features have {record.features.size} values; this store holds {self.dimensions}")
            self._db.execute("INSERT INTO vectors (frame_id, stream, embedding, kind, quality, model_id, timestamp) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (frame_id, record.stream, record.features.tobytes(), record.kind.value,
                              record.quality, record.model_id, float(record.timestamp)))
            if self._codes:
                code_index.insert(self._db, frame_id, record.features)
        return 1

    # ------------------------------------------------------------------ reading

    _COLUMNS = ("id, stream, frame_index, timestamp, data, kind, model_id, quality, transforms, checksum, encrypted, "
                "sealed_features")

    def _record(self, row: tuple, features: bool = False) -> FrameRecord:
        frame_id, stream, index, timestamp, data, kind, model_id, quality, transforms, checksum, encrypted, sealed = row
        record = FrameRecord(stream, index, timestamp, bytes(data), FrameKind(kind), model_id, quality,
                             self._features(frame_id) if features else None, tuple(json.loads(transforms)),
                             bool(encrypted), None if sealed is None else bytes(sealed))
        if record.digest() != bytes(checksum):
            raise FrameChecksumError(f"{self.path}: stream {stream} frame {index}: bytes do not match their "
                                     "checksum (damaged on disk)")
        return record

    def _features(self, frame_id: int) -> np.ndarray | None:
        if not self.dimensions:
            return None
        blob = self._one("SELECT embedding FROM vectors WHERE frame_id = ?", (frame_id,))
        return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()

    def get(self, stream: str, start: float | None = None, end: float | None = None, *,
            features: bool = False, from_keyframe: bool = False) -> Iterator[FrameRecord]:
        """Frames of ``stream`` with ``start <= timestamp < end`` (either open), by frame index,
        each checked against its checksum (FrameChecksumError if damaged). ``from_keyframe``
        also returns the frames from the keyframe the first one needs, so the result decodes."""
        check_stream_name(stream)
        bounds = (stream, -float("inf") if start is None else float(start), float("inf") if end is None else float(end))
        with self._lock:
            first = self._db.execute("SELECT MIN(frame_index), MIN(group_index) FROM frames WHERE stream = ? AND "
                                     "timestamp >= ? AND timestamp < ?", bounds).fetchone()
            if first[0] is None:
                return
            low = min(first) if from_keyframe else first[0]
            rows = self._db.execute(
                f"SELECT {self._COLUMNS} FROM frames WHERE stream = ? AND frame_index >= ? AND "
                "(frame_index < ? OR timestamp >= ?) AND timestamp < ? ORDER BY frame_index",
                (stream, low, first[0], bounds[1], bounds[2])).fetchall()
        for row in rows:
            yield self._record(row, features)

    def get_frame(self, stream: str, frame_index: int, *, features: bool = False) -> FrameRecord:
        """One frame by index, checked against its checksum; NotFoundError if absent.
        ``features`` also loads its feature vector."""
        with self._lock:
            row = self._db.execute(f"SELECT {self._COLUMNS} FROM frames WHERE stream = ? AND frame_index = ?",
                                   (stream, frame_index)).fetchone()
        if row is None:
            raise NotFoundError(f"stream {stream} has no frame {frame_index} in {self.path}")
        return self._record(row, features)

    def streams(self) -> list[dict[str, Any]]:
        """One summary per stream (name, frames, bytes, first/last frame index and time,
        keyframes, encrypted frames), by name."""
        with self._lock:
            rows = self._db.execute(
                "SELECT stream, COUNT(*), SUM(size), MIN(frame_index), MAX(frame_index), MIN(timestamp), "
                "MAX(timestamp), SUM(kind = 'key'), SUM(encrypted) FROM frames GROUP BY stream "
                "ORDER BY stream").fetchall()
        keys = ("stream", "frames", "bytes", "first_frame", "last_frame", "first_time", "last_time", "keyframes",
                "encrypted")
        return [dict(zip(keys, row)) for row in rows]

    def frame_indexes(self, stream: str) -> list[int]:
        """The frame indexes stored for ``stream``, ascending (empty if it has none)."""
        with self._lock:
            return [row[0] for row in self._db.execute(
                "SELECT frame_index FROM frames WHERE stream = ? ORDER BY frame_index", (stream,))]

    # ------------------------------------------------------------------ keys of encrypted streams

    def put_keys(self, stream: str, epoch: int, wrapped: dict[str, bytes]) -> None:
        """Keeps the wrapped keys of ``stream``'s ``epoch`` (one per recipient; a recipient's
        newer wrap replaces its older one), so the store's owner can hand them with the frames."""
        check_stream_name(stream)
        with self._lock, self._db:
            for recipient, blob in wrapped.items():
                self._db.execute("INSERT OR REPLACE INTO keys VALUES (?, ?, ?, ?)",
                                 (stream, int(epoch), recipient, blob))

    def key_epochs(self, stream: str) -> list[int]:
        """The epochs of ``stream`` whose wrapped keys are kept, ascending (empty: a clear stream)."""
        with self._lock:
            return [row[0] for row in self._db.execute(
                "SELECT DISTINCT epoch FROM keys WHERE stream = ? ORDER BY epoch", (stream,))]

    def keys_of(self, stream: str, epoch: int) -> dict[str, bytes] | None:
        """{recipient: wrapped key} kept for ``stream``'s ``epoch``, None if none are."""
        with self._lock:
            rows = self._db.execute("SELECT recipient, wrapped FROM keys WHERE stream = ? AND epoch = ?",
                                    (stream, int(epoch))).fetchall()
        return {recipient: bytes(blob) for recipient, blob in rows} or None

    # ------------------------------------------------------------------ search

    def search(self, vector: np.ndarray, k: int, *, stream: str | None = None, kind: str | None = None,
               quality: int | None = None, model_id: str | None = None) -> list[tuple[str, int, float]]:
        """The ``k`` frames whose features are nearest (L2) to ``vector``, among those matching
        every filter given: [(stream, frame index, distance)], nearest first. Exact."""
        if not self.dimensions:
            raise StoreError(f"{self.path} was created without feature vectors (dimensions=0)")
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if query.shape != (self.dimensions,):
            raise InvalidArgumentError(f"query has {query.size} values; the store holds {self.dimensions}")
        if not 1 <= k <= 4096:
            raise InvalidArgumentError("k must be in [1, 4096]")
        clauses, bindings = ["embedding MATCH ?", "k = ?"], [query.tobytes(), int(k)]
        for column, value in (("stream", stream), ("kind", kind), ("quality", quality), ("model_id", model_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                bindings.append(value)
        sql = ("SELECT f.stream, f.frame_index, v.distance FROM (SELECT frame_id, distance FROM vectors WHERE "
               + " AND ".join(clauses) + ") v JOIN frames f ON f.id = v.frame_id ORDER BY v.distance, f.id")
        with self._lock:
            return [(s, i, float(d)) for s, i, d in self._db.execute(sql, tuple(bindings))]

    @property
    def label(self) -> str:
        """The store's path, as messages name it."""
        return str(self.path)

    def set_feature_names(self, names: Iterable[str]) -> None:
        """Names the components of the stored vectors (one name each), which makes them
        queryable one by one (:meth:`select_codes`)."""
        names = check_names(names, self.dimensions)
        with self._lock, self._db:
            code_index.create(self._db, names)
            self._codes = True

    def _need_codes(self) -> None:
        if not self._codes:
            raise StoreError(f"{self.path} has no named feature components (store put --features names them)")

    def select_codes(self, conditions: Iterable[tuple[int, str, float]] = (), *, stream: str | None = None,
                     limit: int | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Frames whose vector components satisfy every (component, ``<``/``<=``/``>``/``>=``,
        value): (stream of each, frame index of each, vectors float32 [n, dimensions]), in
        storing order. Needs named components (:meth:`set_feature_names`)."""
        self._need_codes()
        with self._lock:
            return code_index.select(self._db, list(conditions), self.dimensions,
                                     None if stream is None else check_stream_name(stream), limit)

    def nearest_codes(self, example: np.ndarray, k: int, conditions: Iterable[tuple[int, str, float]] = (), *,
                      stream: str | None = None) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The ``k`` frames nearest (L2) ``example`` among those :meth:`select_codes` selects:
        (streams, frame indexes, vectors, distances), nearest first, ties in storing order
        (store_base.rank). Exact: with conditions, the selection ranked here; without, vec0's
        k-NN, widened past the k-th until no frame within float32 rounding of it is left out."""
        self._need_codes()
        example = check_example(example, self.dimensions, k)
        conditions = check_conditions(conditions, self.dimensions)
        if conditions:
            streams, indexes, codes = self.select_codes(conditions, stream=stream)
            keys = np.arange(len(codes))
        else:
            wanted = k
            while True:
                found = self.search(example, wanted, stream=stream)
                if len(found) < wanted or wanted == MAX_NEAREST or \
                        found[-1][2] > found[k - 1][2] + tolerance(found[k - 1][2], self.dimensions):
                    break
                wanted = min(2 * wanted, MAX_NEAREST)
            streams, indexes = [s for s, _, _ in found], np.array([i for _, i, _ in found], np.int64)
            with self._lock:
                keys, codes = code_index.codes_of(self._db, list(zip(streams, indexes.tolist())), self.dimensions)
        order, distances = rank(keys, codes, example, k)
        return [streams[r] for r in order], indexes[order], codes[order], distances

    # ------------------------------------------------------------------ retention and checks

    def gc(self, *, max_age: float | None = None, max_bytes: int | None = None,
           now: float | None = None) -> dict[str, int]:
        """Drops whole groups, oldest first, while a group is older than ``max_age`` seconds
        (its newest frame) or the store holds more than ``max_bytes`` of frames. The newest
        group of each stream stays. Returns {"groups": n, "frames": n, "bytes": n} dropped."""
        now = time.time() if now is None else now
        dropped = {"groups": 0, "frames": 0, "bytes": 0}
        with self._lock, self._db:
            groups = self._db.execute(
                "SELECT stream, group_index, MAX(timestamp), SUM(size), COUNT(*) FROM frames "
                "GROUP BY stream, group_index ORDER BY MIN(timestamp), stream, group_index").fetchall()
            newest = {row[0]: row[1] for row in self._db.execute(
                "SELECT stream, MAX(group_index) FROM frames GROUP BY stream")}
            total = sum(row[3] for row in groups)
            for stream, group, last_time, size, count in groups:
                too_old = max_age is not None and now - last_time > max_age
                too_big = max_bytes is not None and total > max_bytes
                if not (too_old or too_big) or newest[stream] == group:
                    continue
                if self.dimensions:
                    self._db.execute("DELETE FROM vectors WHERE frame_id IN (SELECT id FROM frames WHERE "
                                     "stream = ? AND group_index = ?)", (stream, group))
                if self._codes:
                    self._db.execute("DELETE FROM codes WHERE frame_id IN (SELECT id FROM frames WHERE "
                                     "stream = ? AND group_index = ?)", (stream, group))
                self._db.execute("DELETE FROM frames WHERE stream = ? AND group_index = ?", (stream, group))
                total -= size
                dropped["groups"] += 1
                dropped["frames"] += count
                dropped["bytes"] += size
        if dropped["frames"]:
            with self._lock:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    def check(self, *, frames: bool = True) -> int:
        """``PRAGMA integrity_check`` and (``frames``) every frame's checksum; returns the
        number of frames checked. Raises StoreCorruptedError / FrameChecksumError."""
        with self._lock:
            try:
                result = [row[0] for row in self._db.execute("PRAGMA integrity_check")]
            except (self._apsw.CorruptError, self._apsw.NotADBError) as error:
                raise StoreCorruptedError(f"{self.path}: integrity_check failed: {error}") from None
            if result != ["ok"]:
                raise StoreCorruptedError(f"{self.path}: integrity_check: {'; '.join(result[:5])}")
            if not frames:
                return 0
            try:
                rows = self._db.execute(f"SELECT {self._COLUMNS} FROM frames ORDER BY id").fetchall()
            except (self._apsw.CorruptError, self._apsw.NotADBError) as error:
                raise StoreCorruptedError(f"{self.path}: damaged: {error}") from None
        for row in rows:
            self._record(row)
        return len(rows)


def open_sqlite_store(uri: str, options: dict) -> SQLiteStore:
    """Opener for ``sqlite:///absolute/path.db`` and bare paths."""
    from edgesdk.exchange.registry import split_uri

    _, parts = split_uri(uri)
    if parts.netloc not in ("", "localhost"):
        raise InvalidArgumentError(f"{uri}: sqlite://{parts.netloc}/ names a host; use sqlite:///absolute/path")
    if not parts.path:
        raise InvalidArgumentError(f"{uri}: no path")
    return SQLiteStore(parts.path, **options)
