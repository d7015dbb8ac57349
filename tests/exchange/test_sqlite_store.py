"""The on-device latent store (edgesdk.exchange.sqlite_store): byte-exact time-range reads,
idempotent puts, retention by whole groups, crash safety, damage detection, exact filtered
vector search."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("apsw")
pytest.importorskip("sqlite_vec")

import edgesdk
from edgesdk.errors import InvalidArgumentError, UnsupportedFormatError
from edgesdk.exchange import (
    DuplicateFrameError,
    FrameChecksumError,
    FrameKind,
    FrameRecord,
    StoreCorruptedError,
    open_store,
    register_store,
    store_schemes,
)
from edgesdk.exchange.sqlite_store import SQLiteStore

from exchange_helpers import decode_packets

HERE = Path(__file__).resolve().parent


def records_of(packets, stream="cam0", t0=1000.0, fps=25.0):
    return [FrameRecord.from_packet(stream, p, t0 + i / fps) for i, p in enumerate(packets)]


def test_wal_mode_and_uri_forms(tmp_path):
    with open_store(str(tmp_path / "a.db")) as store:
        assert isinstance(store, SQLiteStore)
        assert store._one("PRAGMA journal_mode") == "wal"
        assert store._one("PRAGMA synchronous") == 2  # FULL: a returned put is on disk
    with open_store(f"sqlite://{tmp_path}/b.db") as store:
        assert store.path == tmp_path / "b.db"
    with pytest.raises(InvalidArgumentError):
        open_store("sqlite://somehost/x.db")
    with pytest.raises(UnsupportedFormatError):
        open_store("nosuch://x")
    assert "sqlite" in store_schemes()


def test_register_store_by_scheme(tmp_path):
    opened = []

    def opener(uri, options):
        opened.append((uri, options))
        return SQLiteStore(tmp_path / "custom.db")

    register_store(opener, schemes=["teststore"])
    open_store("teststore://anything", dimensions=None).close()
    assert opened == [("teststore://anything", {"dimensions": None})]
    with pytest.raises(InvalidArgumentError):
        register_store(lambda uri, options: None, schemes=["teststore"])
    with pytest.raises(InvalidArgumentError):
        register_store(opener, schemes=["Bad Scheme"])


def test_metadata_from_real_packets(video_packets):
    _, packets = video_packets
    records = records_of(packets)
    kinds = [r.kind for r in records]
    assert kinds[0] is FrameKind.KEY and {FrameKind.P, FrameKind.B} & set(kinds)  # the encoder picks P or B
    assert kinds.count(FrameKind.KEY) == 3
    assert kinds[-1] is FrameKind.OTHER  # the end-of-stream packet
    assert [r.frame_index for r in records] == list(range(len(packets)))
    assert len(records[0].model_id) == 64 and records[0].quality == 1
    assert records[0].message_id == f"cam0.0.{records[0].model_id[:16]}"


def test_time_range_reads_back_byte_exact_and_decodes(tmp_path, codec, video_packets):
    frames, packets = video_packets
    records = records_of(packets)
    with open_store(str(tmp_path / "s.db")) as store:
        assert store.put_many(records) == len(records)
    with open_store(str(tmp_path / "s.db")) as store:  # reopened: it was on disk
        back = list(store.get("cam0"))
        assert [r.data for r in back] == packets
        assert [r.metadata() for r in back] == [r.metadata() for r in records]
        assert np.array_equal(np.stack(decode_packets(codec, [r.data for r in back])),
                              np.stack(decode_packets(codec, packets)))
        # a time range: frames 5..8 by timestamp; from_keyframe extends it to the group's keyframe
        t = [r.timestamp for r in records]
        assert [r.frame_index for r in store.get("cam0", t[5], t[9])] == [5, 6, 7, 8]
        whole = list(store.get("cam0", t[5], t[9], from_keyframe=True))
        assert whole[0].kind is FrameKind.KEY and whole[-1].frame_index == 8
        assert len(decode_packets(codec, [r.data for r in whole])) >= 4
        assert list(store.get("cam0", 0, 1)) == []
        assert store.streams()[0]["frames"] == len(packets)


def test_puts_are_idempotent_and_conflicts_store_nothing(tmp_path):
    with open_store(str(tmp_path / "s.db")) as store:
        a = FrameRecord("cam", 0, 1.0, b"abc", kind="key")
        assert store.put(a) is True
        assert store.put(a) is False  # a retry of the same frame
        other = FrameRecord("cam", 0, 1.0, b"abd", kind="key")
        with pytest.raises(DuplicateFrameError):
            store.put_many([FrameRecord("cam", 1, 2.0, b"x"), other])
        assert store.frame_indexes("cam") == [0]  # the batch was all or nothing
        assert isinstance(DuplicateFrameError("x"), edgesdk.Error)


def synthetic(store, stream, count, gop, t0=0.0, size=100):
    store.put_many(FrameRecord(stream, i, t0 + i, bytes([i % 256]) * size, kind="key" if i % gop == 0 else "P")
                   for i in range(count))


def test_retention_drops_whole_groups_from_the_oldest(tmp_path):
    with open_store(str(tmp_path / "s.db")) as store:
        synthetic(store, "a", 20, gop=5)  # groups 0,5,10,15; 100 bytes a frame
        synthetic(store, "b", 7, gop=5, t0=100.0)
        assert store.gc(max_bytes=10**9) == {"groups": 0, "frames": 0, "bytes": 0}
        dropped = store.gc(max_bytes=1500)  # 2700 stored: the three oldest groups of a go
        assert dropped == {"groups": 3, "frames": 15, "bytes": 1500}
        assert store.frame_indexes("a") == list(range(15, 20))
        assert store.frame_indexes("b") == list(range(7))
        for stream in ("a", "b"):  # every kept frame still has its keyframe
            kept = list(store.get(stream))
            assert kept[0].kind is FrameKind.KEY
        # by age: b's first group (newest frame at t=104) is older than 50 s at t=160
        assert store.gc(max_age=50, now=160.0)["frames"] == 5
        assert store.frame_indexes("b") == [5, 6]
        # the newest group of each stream stays whatever the limits
        store.gc(max_bytes=0, max_age=0, now=10**6)
        assert store.frame_indexes("a") == list(range(15, 20)) and store.frame_indexes("b") == [5, 6]


def test_retention_then_decode_the_remaining_stream(tmp_path, codec, video_packets):
    _, packets = video_packets
    with open_store(str(tmp_path / "s.db")) as store:
        store.put_many(records_of(packets))
        total = sum(len(p) for p in packets)
        assert store.gc(max_bytes=total - 1)["groups"] >= 1
        kept = [r.data for r in store.get("cam0")]
        assert kept[0] == packets[len(packets) - len(kept)]
        assert len(decode_packets(codec, kept)) > 0  # starts at a keyframe: decodes


def test_writer_killed_mid_batch_keeps_every_acknowledged_frame(tmp_path):
    path = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, str(HERE / "_store_writer.py"), str(path), "100000", "50"],
                               stdout=subprocess.PIPE, text=True, env=env)
    acknowledged = -1
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # bounded: at most 60 s and 40 batches
            line = process.stdout.readline()
            assert line, "the writer died before it was killed"
            acknowledged = int(line)
            if acknowledged >= 40 * 50 - 1:
                break
        time.sleep(0.01)  # let it get inside the next transaction
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    assert acknowledged >= 40 * 50 - 1
    with open_store(str(path)) as store:
        store.check()  # integrity_check ok and every checksum holds
        indexes = store.frame_indexes("cam")
        assert indexes[: acknowledged + 1] == list(range(acknowledged + 1))
        assert len(indexes) % 50 == 0  # no half batch: all or nothing
        frame = store.get_frame("cam", acknowledged, features=True)
        assert frame.data == acknowledged.to_bytes(8, "little") * 512
        assert frame.features.tolist() == [float(acknowledged % 7)] * 8


def flip_bit_at(path: Path, needle: bytes) -> None:
    content = bytearray(path.read_bytes())
    at = content.find(needle)
    assert at >= 0
    content[at + len(needle) // 2] ^= 0x10
    path.write_bytes(bytes(content))


def test_a_flipped_bit_in_a_frame_is_detected(tmp_path):
    path = tmp_path / "s.db"
    payload = bytes(range(256)) * 8
    with open_store(str(path)) as store:
        store.put_many([FrameRecord("cam", 0, 1.0, b"k" * 100, kind="key"), FrameRecord("cam", 1, 2.0, payload)])
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    flip_bit_at(path, payload)
    with open_store(str(path)) as store:
        assert store.get_frame("cam", 0).data == b"k" * 100
        with pytest.raises(FrameChecksumError, match="frame 1"):
            list(store.get("cam"))
        with pytest.raises(FrameChecksumError):
            store.check()


def test_damaged_btree_fails_integrity_check(tmp_path):
    path = tmp_path / "s.db"
    with open_store(str(path)) as store:
        synthetic(store, "cam", 300, gop=10, size=300)
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = store._one("PRAGMA page_size")
        pages = store._one("PRAGMA page_count")
    content = bytearray(path.read_bytes())
    damaged = 0
    for page in range(2, pages):  # scribble over interior b-tree pages' headers
        offset = (page - 1) * page_size
        if content[offset] in (0x05, 0x02):  # interior table / index page
            content[offset + 3: offset + 8] = b"\xff\xff\xff\xff\xff"
            damaged += 1
    assert damaged
    path.write_bytes(bytes(content))
    with pytest.raises((StoreCorruptedError, FrameChecksumError)):
        with open_store(str(path)) as store:
            store.check()
    assert issubclass(StoreCorruptedError, edgesdk.errors.CorruptedError)


def test_filtered_knn_equals_brute_force(tmp_path):
    rng = np.random.default_rng(3)
    dims, count = 16, 600
    vectors = rng.normal(size=(count, dims)).astype(np.float32)
    streams = [f"cam{i % 3}" for i in range(count)]
    kinds = ["key" if i % 5 == 0 else "P" for i in range(count)]
    qualities = [i % 4 for i in range(count)]
    with open_store(str(tmp_path / "v.db"), dimensions=dims) as store:
        store.put_many(FrameRecord(streams[i], i, float(i), b"x%d" % i, kind=kinds[i], quality=qualities[i],
                                   features=vectors[i]) for i in range(count))
        for trial in range(12):
            query = rng.normal(size=dims).astype(np.float32)
            filters = [{}, {"stream": "cam1"}, {"kind": "key"}, {"stream": "cam2", "quality": 3},
                       {"stream": "cam0", "kind": "P", "quality": 1}][trial % 5]
            k = [1, 5, 10, 40][trial % 4]
            keep = [i for i in range(count) if all(
                {"stream": streams[i], "kind": kinds[i], "quality": qualities[i]}[key] == value
                for key, value in filters.items())]
            distances = np.linalg.norm(vectors[keep] - query, axis=1)
            expected = [keep[j] for j in np.argsort(distances, kind="stable")[:k]]
            found = store.search(query, k, **filters)
            assert [index for _, index, _ in found] == expected, filters
            assert np.allclose([d for *_, d in found], np.sort(distances)[:k], rtol=1e-5)
        with pytest.raises(InvalidArgumentError):
            store.search(np.zeros(3), 1)
        assert store.get_frame("cam0", 0, features=True).features.tolist() == vectors[0].tolist()
