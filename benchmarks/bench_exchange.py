"""Exchange figures (docs/exchange.md): frames/s into the SQLite latent store against an
fsync'd append-only file (the same durability, no index) in the same process; SFrame
seal+open per frame; filtered k-NN query time.

    python benchmarks/bench_exchange.py [--frames 2000] [--frame-bytes 1500] [--json]
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


def bench_crypto(items: list[FrameRecord]) -> tuple[float, float]:
    camera = StreamEncryptor("cam0")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--frame-bytes", type=int, default=1500, help="about a CIF latent frame at 0.1 bpp")
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
        results["sframe_seal_fps"], results["sframe_open_fps"] = bench_crypto(items)
        results["knn10_ms_of_10000x64"] = bench_search(folder, rng)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.frames} frames of {args.frame_bytes} bytes, durable on return (fsync / synchronous=FULL)")
    for batch in (1, 25):
        print(f"  batch {batch:2}: SQLite store {results[f'store_fps_batch{batch}']:9.0f} frames/s   "
              f"baseline append+fsync {results[f'append_fsync_fps_batch{batch}']:9.0f} frames/s")
    print(f"  batch 25 with 64-d feature vectors: {results['store_fps_batch25_with_64d_vectors']:.0f} frames/s")
    print(f"SFrame AES-128-GCM: seal {results['sframe_seal_fps']:.0f} frames/s, open {results['sframe_open_fps']:.0f} frames/s")
    knn = results["knn10_ms_of_10000x64"]
    print("k-NN (k=10) over 10,000 64-d vectors, median ms: " + ", ".join(f"{k} {v:.2f}" for k, v in knn.items()))


if __name__ == "__main__":
    main()
