"""Exchange figures (docs/exchange.md): frames/s into the SQLite latent store against an
fsync'd append-only file (the same durability, no index) in the same process; SFrame
seal+open per frame (with and without sealing a 64-d feature vector); filtered k-NN query
time, and k-NN over sealed vectors by a key holder against the same vectors in clear;
camera->viewer latency at 25 fps CIF through JetStream (real CIF packets of the shipped model)
against core NATS pub/sub (no persistence) on the same server, plus the codec's encode and
decode time per CIF frame.

Fleet: 1,000 simulated cameras publish to JetStream; the ingest consumer (ack after commit)
moves them into PostgreSQL + pgvector: drain rate of a backlog, and lag (publish to commit)
p50/p99 under a live load of 1 frame/s per camera; baseline: put_many straight into
PostgreSQL from the same process.

    python benchmarks/bench_exchange.py [--frames 2000] [--frame-bytes 1500] [--latency-frames 250]
                                        [--cameras 1000] [--fleet-seconds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from edgesdk.exchange import FrameRecord, open_store
from edgesdk.security.encryption import StreamDecryptor, StreamEncryptor, generate_decoder_key


def records(count: int, size: int, dims: int, rng) -> list[FrameRecord]:
    return [FrameRecord("cam0", i, 1000.0 + i / 25, rng.bytes(size), kind="key" if i % 32 == 0 else "P",
                        quality=i % 4, features=rng.normal(size=dims) if dims else None) for i in range(count)]


def bench_store(folder: Path, items: list[FrameRecord], batch: int, dims: int) -> float:
    path = folder / f"store-{batch}-{dims}.db"
    with open_store(str(path), dimensions=dims) as store:
        start = time.perf_counter()
        for at in range(0, len(items), batch):
            store.put_many(items[at:at + batch])
        return len(items) / (time.perf_counter() - start)


def bench_append(folder: Path, items: list[FrameRecord], batch: int) -> float:
    with open(folder / f"append-{batch}.bin", "ab") as handle:
        start = time.perf_counter()
        for at in range(0, len(items), batch):
            for item in items[at:at + batch]:
                handle.write(item.data)
            handle.flush()
            os.fsync(handle.fileno())
        return len(items) / (time.perf_counter() - start)


def bench_crypto(items: list[FrameRecord], seal_features: bool = True) -> tuple[float, float]:
    camera = StreamEncryptor("cam0", seal_features=seal_features)
    key = generate_decoder_key()
    camera.authorise("viewer", key.public_key())
    viewer = StreamDecryptor("viewer", key)
    viewer.accept_keys("cam0", 0, camera.wrapped_keys())
    start = time.perf_counter()
    sealed = [camera.encrypt_record(item) for item in items]
    seal_rate = len(items) / (time.perf_counter() - start)
    start = time.perf_counter()
    for item in sealed:
        viewer.decrypt_record(item)
    return seal_rate, len(items) / (time.perf_counter() - start)


def bench_search(folder: Path, rng, count: int = 10_000, dims: int = 64, queries: int = 50) -> dict[str, float]:
    with open_store(str(folder / "search.db"), dimensions=dims) as store:
        store.put_many(FrameRecord(f"cam{i % 10}", i, float(i), b"x", kind="key" if i % 8 == 0 else "P",
                                   features=rng.normal(size=dims)) for i in range(count))
        out = {}
        for label, filters in (("all", {}), ("stream", {"stream": "cam3"}), ("stream+kind", {"stream": "cam3", "kind": "key"})):
            times = []
            for _ in range(queries):
                start = time.perf_counter()
                store.search(rng.normal(size=dims), 10, **filters)
                times.append((time.perf_counter() - start) * 1000)
            out[label] = statistics.median(times)
        return out


def bench_sealed_search(folder: Path, rng, count: int = 1000, dims: int = 64, queries: int = 5) -> dict[str, float]:
    """Median ms of a k=10 query over one stream of ``count`` vectors: sealed, ranked by a key
    holder after decryption (search_decrypted), against the same vectors in clear (vec0)."""
    from edgesdk.exchange.keyring import RecordDecryptor, RecordEncryptor, search_decrypted
    from edgesdk.security.recipients import recipient_id

    key = generate_decoder_key()
    items = [FrameRecord("cam0", i, float(i), b"x" * 64, features=rng.normal(size=dims)) for i in range(count)]
    times: dict[str, list[float]] = {"sealed": [], "clear": []}
    with open_store(str(folder / "sealed.db"), dimensions=dims) as store:
        writer = RecordEncryptor("cam0", {recipient_id(key): key.public_key()}, store.put_keys)
        store.put_many(writer.encrypt(item) for item in items)
        store.put_many(item.with_stream("clear") for item in items)
        reader = RecordDecryptor(key, store.keys_of, check_replay=False)
        for _ in range(queries):
            query = rng.normal(size=dims)
            start = time.perf_counter()
            search_decrypted(store.get("cam0"), reader, query, 10)
            times["sealed"].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            store.search(query, 10, stream="clear")
            times["clear"].append((time.perf_counter() - start) * 1000)
    return {label: statistics.median(values) for label, values in times.items()}


def cif_packets(count: int) -> tuple[list[bytes], float, float]:
    """Packets of ``count`` CIF frames (P frames, keyframe every 25) and the median encode and
    decode milliseconds per frame."""
    import edgesdk
    from edgesdk.codecs.model import SAMPLE_IMAGE, load_image
    from edgesdk.codecs.video import VideoDecoder, VideoEncoder

    picture = load_image(SAMPLE_IMAGE)[:288, :352]
    packets, encode_ms, decode_ms = [], [], []
    with edgesdk.ImageCodec("lite", quality=1) as codec:  # the figures in docs/exchange.md
        encoder = VideoEncoder(codec, keyframe_interval=25, b_frames=0)
        decoder = VideoDecoder(codec.codec())
        for i in range(count):
            start = time.perf_counter()
            encoder.push(np.roll(picture, 2 * i, axis=1))
            out = [p.to_bytes() for p in encoder.pull()]
            middle = time.perf_counter()
            for packet in out:
                decoder.push(packet)
            decoder.pull()
            end = time.perf_counter()
            encode_ms.append((middle - start) * 1000)
            decode_ms.append((end - middle) * 1000)
            packets += out
    return packets, statistics.median(encode_ms), statistics.median(decode_ms)


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)), "n": len(values)}


def bench_latency(packets: list[bytes], frames: int, fps: float = 25.0) -> dict[str, dict[str, float]]:
    """Capture-to-receive milliseconds at ``fps``: JetStream (publish acknowledged, ordered
    consumer) and core NATS (fire and forget), same server, same packets."""
    import asyncio
    import threading

    import nats

    from edgesdk.exchange.nats import NatsTransport
    from edgesdk.exchange.nats_server import LocalNatsServer

    results = {}
    with LocalNatsServer() as server:
        # JetStream through edgesdk's transport
        arrivals: dict[int, float] = {}
        with NatsTransport(server.uri) as viewer, NatsTransport(server.uri) as camera:
            stream = viewer.subscribe("latency", timeout=frames / fps + 20, max_frames=frames)

            def watch():
                for record in stream:
                    arrivals[record.frame_index] = time.time() - record.timestamp

            thread = threading.Thread(target=watch)
            thread.start()
            time.sleep(0.5)
            start = time.perf_counter()
            for i in range(frames):
                delay = start + i / fps - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                data = packets[i % len(packets)]
                camera.publish(FrameRecord("latency", i, time.time(), data, kind="key" if i % 25 == 0 else "P"))
            thread.join(30)
        results["jetstream_ms"] = percentiles([v * 1000 for v in arrivals.values()])

        # baseline: core NATS publish/subscribe on the same server (no persistence, no acks)
        async def core() -> list[float]:
            received: list[float] = []
            done = asyncio.Event()
            sub_nc = await nats.connect(server.uri)
            pub_nc = await nats.connect(server.uri)

            async def handler(message):
                received.append(time.time() - float(message.headers["T"]))
                if len(received) == frames:
                    done.set()

            await sub_nc.subscribe("core.latency", cb=handler)
            await sub_nc.flush()
            start = time.perf_counter()
            for i in range(frames):
                delay = start + i / fps - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await pub_nc.publish("core.latency", packets[i % len(packets)], headers={"T": repr(time.time())})
            await pub_nc.flush()
            try:
                await asyncio.wait_for(done.wait(), 10)
            finally:
                await sub_nc.close()
                await pub_nc.close()
            return received

        results["core_nats_ms"] = percentiles([v * 1000 for v in asyncio.run(core())])
    return results


def bench_fleet(cameras: int, seconds: float, frame_bytes: int, dims: int = 64) -> dict[str, object]:
    import asyncio
    import threading

    import nats
    import pgserver

    from edgesdk.exchange.nats import NatsTransport
    from edgesdk.exchange.nats_messages import message_headers, subject_of
    from edgesdk.exchange.nats_server import LocalNatsServer
    from edgesdk.exchange.postgres import PostgresStore, ingest

    rng = np.random.default_rng(7)
    payload = rng.bytes(frame_bytes)
    vectors = rng.normal(size=(64, dims)).astype(np.float32)

    def frames(rounds: range, stamp: bool):
        for r in rounds:
            for c in range(cameras):
                yield FrameRecord(f"cam{c:04d}", r, time.time() if stamp else 1000.0 + r, payload,
                                  kind="key" if r % 25 == 0 else "P", features=vectors[(r + c) % 64])

    async def publish(server_uri: str, records, rate: float | None) -> None:
        nc = await nats.connect(server_uri)
        js = nc.jetstream(timeout=10)
        pending: list = []
        start = time.perf_counter()
        for n, record in enumerate(records):
            if rate:
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                record = FrameRecord(record.stream, record.frame_index, time.time(), record.data, record.kind,
                                     features=record.features)
            pending.append(asyncio.ensure_future(js.publish(subject_of(record.stream), record.data,
                                                            headers=message_headers(record, 0, 1))))
            if len(pending) >= 256:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        await nc.close()

    out: dict[str, object] = {"cameras": cameras}
    with tempfile.TemporaryDirectory() as name, LocalNatsServer(Path(name) / "hub") as hub:
        server = pgserver.get_server(Path(name) / "pg", cleanup_mode="stop")
        try:
            uri = server.get_uri()
            backlog = list(frames(range(5), stamp=False))
            # baseline: straight into PostgreSQL, batches of 500
            with PostgresStore(uri, dimensions=dims, table="baseline") as store:
                start = time.perf_counter()
                for at in range(0, len(backlog), 500):
                    store.put_many(backlog[at:at + 500])
                out["postgres_direct_fps"] = len(backlog) / (time.perf_counter() - start)
            # backlog drain through JetStream
            NatsTransport(hub.uri).close()  # creates the JetStream stream
            asyncio.run(publish(hub.uri, backlog, None))
            with PostgresStore(uri, dimensions=dims, table="fleet") as store, NatsTransport(hub.uri) as consumer:
                start = time.perf_counter()
                done = ingest(consumer, store, durable="drain", batch=500, idle_timeout=2.0, timeout=300)
                out["ingest_drain_fps"] = done / (time.perf_counter() - start - 2.0)
                out["ingest_drain_frames"] = done
            # live: every camera at 1 frame/s for `seconds`, consumer running alongside
            lags: list[float] = []
            with PostgresStore(uri, dimensions=dims, table="live") as store, NatsTransport(hub.uri) as consumer:
                consumer.purge()  # the live consumer sees only live frames
                live = list(frames(range(100, 100 + int(seconds)), stamp=True))

                def on_batch(records):
                    now = time.time()
                    lags.extend((now - r.timestamp) * 1000 for r in records)

                # one long-lived consumer, as a fleet would run it
                thread = threading.Thread(target=ingest, args=(consumer, store), kwargs=dict(
                    durable="live", batch=500, idle_timeout=None, timeout=seconds + 60, max_frames=len(live),
                    on_batch=on_batch))
                thread.start()
                start = time.perf_counter()
                asyncio.run(publish(hub.uri, live, rate=float(cameras)))
                out["live_published_fps"] = len(live) / (time.perf_counter() - start)
                thread.join(seconds + 90)
                elapsed = time.perf_counter() - start
            out["live_offered_fps"] = float(cameras)
            out["live_ingested"] = len(lags)
            out["live_ingested_fps"] = len(lags) / elapsed
            out["live_lag_ms"] = percentiles(lags) if lags else {}
        finally:
            server.cleanup()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--frame-bytes", type=int, default=1500, help="about a CIF latent frame at 0.1 bpp")
    parser.add_argument("--latency-frames", type=int, default=250, help="frames at 25 fps (0: skip)")
    parser.add_argument("--cameras", type=int, default=1000, help="simulated cameras for the fleet figures (0: skip)")
    parser.add_argument("--fleet-seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    results: dict[str, object] = {"frames": args.frames, "frame_bytes": args.frame_bytes}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for batch in (1, 25):
            items = records(args.frames, args.frame_bytes, 0, rng)
            results[f"store_fps_batch{batch}"] = bench_store(folder, items, batch, 0)
            results[f"append_fsync_fps_batch{batch}"] = bench_append(folder, items, batch)
        items = records(args.frames, args.frame_bytes, 64, rng)
        results["store_fps_batch25_with_64d_vectors"] = bench_store(folder, items, 25, 64)
        results["sframe_seal_fps"], results["sframe_open_fps"] = bench_crypto(items, seal_features=False)
        results["sframe_with_vector_seal_fps"], results["sframe_with_vector_open_fps"] = bench_crypto(items)
        results["knn10_ms_of_1000x64_sealed_vs_clear"] = bench_sealed_search(folder, rng)
        results["knn10_ms_of_10000x64"] = bench_search(folder, rng)
    if args.latency_frames:
        packets, encode_ms, decode_ms = cif_packets(25)
        results["cif_packet_bytes_median"] = float(np.median([len(p) for p in packets]))
        results["cif_encode_ms"], results["cif_decode_ms"] = encode_ms, decode_ms
        results.update(bench_latency(packets, args.latency_frames))
    if args.cameras:
        results["fleet"] = bench_fleet(args.cameras, args.fleet_seconds, args.frame_bytes)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.frames} frames of {args.frame_bytes} bytes, durable on return (fsync / synchronous=FULL)")
    for batch in (1, 25):
        print(f"  batch {batch:2}: SQLite store {results[f'store_fps_batch{batch}']:9.0f} frames/s   "
              f"baseline append+fsync {results[f'append_fsync_fps_batch{batch}']:9.0f} frames/s")
    print(f"  batch 25 with 64-d feature vectors: {results['store_fps_batch25_with_64d_vectors']:.0f} frames/s")
    print(f"SFrame AES-128-GCM: seal {results['sframe_seal_fps']:.0f} frames/s, open {results['sframe_open_fps']:.0f} frames/s")
    print(f"  with the 64-d vector sealed too: seal {results['sframe_with_vector_seal_fps']:.0f} frames/s, "
          f"open {results['sframe_with_vector_open_fps']:.0f} frames/s")
    sealed = results["knn10_ms_of_1000x64_sealed_vs_clear"]
    print(f"k-NN (k=10) over one stream of 1,000 64-d vectors, median ms: sealed (decrypt and rank) "
          f"{sealed['sealed']:.1f}, baseline clear (vec0) {sealed['clear']:.2f}: "
          f"x{sealed['sealed'] / sealed['clear']:.0f}")
    knn = results["knn10_ms_of_10000x64"]
    print("k-NN (k=10) over 10,000 64-d vectors, median ms: " + ", ".join(f"{k} {v:.2f}" for k, v in knn.items()))
    if args.latency_frames:
        js, core = results["jetstream_ms"], results["core_nats_ms"]
        print(f"camera->viewer at 25 fps, CIF packets (median {results['cif_packet_bytes_median']:.0f} bytes), "
              f"{js['n']} frames:")
        print(f"  JetStream (acknowledged, file store, sync always): p50 {js['p50']:.2f} ms  p99 {js['p99']:.2f} ms")
        print(f"  baseline core NATS pub/sub (no persistence):       p50 {core['p50']:.2f} ms  p99 {core['p99']:.2f} ms")
        print(f"  codec per CIF frame on this machine: encode {results['cif_encode_ms']:.0f} ms, "
              f"decode {results['cif_decode_ms']:.0f} ms (add them for glass-to-glass)")
    if args.cameras:
        fleet = results["fleet"]
        print(f"fleet, {fleet['cameras']} cameras, {args.frame_bytes}-byte frames with 64-d vectors, PostgreSQL + HNSW:")
        print(f"  baseline put_many straight into PostgreSQL: {fleet['postgres_direct_fps']:.0f} frames/s")
        print(f"  JetStream -> ingest (ack after commit), backlog of {fleet['ingest_drain_frames']}: "
              f"{fleet['ingest_drain_fps']:.0f} frames/s")
        lag = fleet["live_lag_ms"]
        print(f"  live, {fleet['live_offered_fps']:.0f} frames/s offered ({fleet['live_published_fps']:.0f} published): "
              f"{fleet['live_ingested_fps']:.0f} frames/s "
              f"ingested, lag publish->commit p50 {lag.get('p50', float('nan')):.0f} ms "
              f"p99 {lag.get('p99', float('nan')):.0f} ms")


if __name__ == "__main__":
    main()
