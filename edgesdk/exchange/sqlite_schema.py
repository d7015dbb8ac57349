"""The on-device store's file format: its tables, the upgrade from older schemas, and how a
connection is opened (apsw with sqlite-vec loaded). :class:`edgesdk.exchange.sqlite_store.SQLiteStore`
uses them."""

from __future__ import annotations

from edgesdk.errors import InvalidArgumentError, NotFoundError
from edgesdk.exchange.errors import StoreError
from edgesdk.lazy import require

SCHEMA_VERSION = 2  # 2: encrypted frames (encrypted, sealed_features) and the keys table
EXTRA_HINT = 'the SQLite latent store needs the exchange extra: pip install "edgesdk[exchange]"'

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    frame_index INTEGER NOT NULL,
    group_index INTEGER NOT NULL,   -- frame index of the keyframe this frame needs (itself for keys)
    timestamp REAL NOT NULL,
    model_id TEXT NOT NULL,
    quality INTEGER NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    checksum BLOB NOT NULL,         -- BLAKE2b-128 of data
    transforms TEXT NOT NULL,       -- JSON list of transformation ids
    data BLOB NOT NULL,
    encrypted INTEGER NOT NULL DEFAULT 0,  -- data is an SFrame ciphertext
    sealed_features BLOB,                  -- the feature vector, sealed (never in vectors)
    UNIQUE (stream, frame_index)
);
CREATE INDEX IF NOT EXISTS frames_time ON frames (stream, timestamp);
CREATE INDEX IF NOT EXISTS frames_group ON frames (stream, group_index);
CREATE TABLE IF NOT EXISTS keys (           -- wrapped stream keys of encrypted streams
    stream TEXT NOT NULL, epoch INTEGER NOT NULL, recipient TEXT NOT NULL, wrapped BLOB NOT NULL,
    PRIMARY KEY (stream, epoch, recipient)
);
"""
_UPGRADE_1_TO_2 = ("ALTER TABLE frames ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0",
                   "ALTER TABLE frames ADD COLUMN sealed_features BLOB")


def connect(path: str, readonly: bool = False):
    """An apsw connection to ``path`` with sqlite-vec loaded (read-only or created if missing)."""
    apsw = require("apsw", EXTRA_HINT)
    sqlite_vec = require("sqlite_vec", EXTRA_HINT)
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    try:
        connection = apsw.Connection(path, flags=flags)
    except apsw.CantOpenError:
        raise NotFoundError(f"{path}: cannot open the store (missing folder or file?)") from None
    connection.enable_load_extension(True)
    connection.load_extension(sqlite_vec.loadable_path())
    connection.enable_load_extension(False)
    connection.set_busy_timeout(10_000)
    return connection


def _one(db, sql: str, bindings: tuple = ()):
    row = db.execute(sql, bindings).fetchone()
    return None if row is None else row[0]


def create_or_upgrade(db, path, dimensions: int | None) -> None:
    """Creates the tables of a new store (vectors of ``dimensions``) or upgrades an older schema
    in place; refuses a newer one. Runs inside the caller's transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    version = _one(db, "SELECT value FROM settings WHERE key = 'schema'")
    if version is not None and int(version) == 1:
        for statement in _UPGRADE_1_TO_2:
            db.execute(statement)
        db.execute("UPDATE settings SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
    db.execute(_SCHEMA)
    if version is None:
        dims = int(dimensions or 0)
        if not 0 <= dims <= 8192:
            raise InvalidArgumentError("dimensions must be in [0, 8192]")
        db.execute("INSERT INTO settings VALUES ('schema', ?), ('dimensions', ?)",
                         (str(SCHEMA_VERSION), str(dims)))
        if dims:
            db.execute(
                f"CREATE VIRTUAL TABLE vectors USING vec0(frame_id INTEGER PRIMARY KEY, "
                f"stream TEXT PARTITION KEY, embedding float[{dims}], kind TEXT, quality INTEGER, "
                f"model_id TEXT, timestamp FLOAT)")
    elif int(version) > SCHEMA_VERSION:
        raise StoreError(f"{path}: store schema {version} is newer than this edgesdk reads; upgrade edgesdk")
