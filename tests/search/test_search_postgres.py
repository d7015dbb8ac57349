"""Latent search in the PostgreSQL fleet store (predicates and examples run on the server)
gives what it gives in the SQLite store: the same frames put into both, the same queries,
the same matches; the same typed errors. A real server: the ``postgres`` fixture of
tests/conftest.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("apsw")
pytest.importorskip("sqlite_vec")
pytest.importorskip("pgserver")
pytest.importorskip("psycopg")

from edgesdk.cli import main
from edgesdk.errors import InvalidArgumentError
from edgesdk.exchange import FrameKind, FrameRecord
from edgesdk.exchange.errors import StoreError
from edgesdk.exchange.postgres import PostgresStore
from edgesdk.exchange.sqlite_store import SQLiteStore
from edgesdk.search.labels import COMPONENTS
from edgesdk.search.store import example_code, frame_code, search

# Components on a coarse grid, so many sit exactly on a query's threshold (< and <= differ),
# and 0.3 / 0.7 are not exact in float32 (the bound is compared as float32, in both stores).
GRID = np.array([0.1, 0.3, 0.5, 0.7, 0.9], np.float32)
QUERIES = ("brightness < 0.3", "brightness <= 0.3", "face", "not face", "face and red >= 0.7",
           "contrast > 0.5, blue < 0.9", "green <= 0.1 and colourfulness > 0.3 and not face")


def _synthetic(count=300):
    rng = np.random.default_rng(3)
    codes = GRID[rng.integers(0, len(GRID), (count, len(COMPONENTS)))]
    return [FrameRecord(f"cam{i % 3}", i, 1000.0 + i, b"f%d" % i, FrameKind.KEY if i % 4 else FrameKind.P,
                        features=codes[i] if i % 4 else None)  # P frames carry no code
            for i in range(count)], codes


@pytest.fixture
def both(tmp_path, postgres, table):
    """A SQLite and a PostgreSQL store holding the same synthetic frames, components named."""
    records, codes = _synthetic()
    with SQLiteStore(tmp_path / "s.db", dimensions=len(COMPONENTS)) as lite, \
            PostgresStore(postgres, dimensions=len(COMPONENTS), table=table) as fleet:
        for store in (lite, fleet):
            store.set_feature_names(COMPONENTS)
            store.put_many(records[:150])
            store.put_many(records[150:])
        yield lite, fleet, codes


def _rows(matches):
    return [(m.stream, m.frame_index, m.code, None if m.distance is None else round(m.distance, 5))
            for m in matches]


@pytest.mark.parametrize("query", QUERIES)
def test_predicates_select_the_same_frames_as_sqlite_and_as_numpy(both, query):
    from edgesdk.search.query import parse_query, select

    lite, fleet, codes = both
    keyed = np.arange(len(codes)) % 4 != 0
    expected = [int(i) for i in np.flatnonzero(keyed)[select(codes[keyed], parse_query(query, COMPONENTS))]]
    fleet_matches = search(fleet, query)
    assert [m.frame_index for m in fleet_matches] == expected and 0 < len(expected) < keyed.sum()
    assert _rows(fleet_matches) == _rows(search(lite, query))
    assert _rows(search(fleet, query, stream="cam1", limit=5)) == _rows(search(lite, query, stream="cam1", limit=5))


@pytest.mark.parametrize("query", [None, "face", "brightness < 0.3 and not face"])
def test_examples_order_the_selection_the_same_way(both, query):
    lite, fleet, codes = both
    example = np.array([0.45, 0.2, 0.6, 0.35, 0.8, 0.5, 0.0], np.float32)
    for stream in (None, "cam2"):
        fleet_matches = search(fleet, query, example, k=12, stream=stream)
        selected = len(search(fleet, query or "brightness > -1", stream=stream))
        assert len(fleet_matches) == min(12, selected) and len(fleet_matches) > 5
        assert _rows(fleet_matches) == _rows(search(lite, query, example, k=12, stream=stream))
        distances = [m.distance for m in fleet_matches]
        assert distances == sorted(distances)
        assert all(d == pytest.approx(np.linalg.norm(codes[m.frame_index] - example), abs=1e-5)
                   for d, m in zip(distances, fleet_matches))
    exact = search(fleet, query, codes[5], k=1)[0]  # a stored code: itself first, at distance 0
    assert (exact.frame_index, exact.distance) == (5, 0.0) or query is not None


def test_shipped_identifier_codes_give_the_same_matches(tmp_path, postgres, table):
    import edgesdk

    rng = np.random.default_rng(11)
    pictures = [np.clip(rng.normal(30 + 45 * i, 40, (48, 64, 3)) * [1.0, 0.9 + 0.05 * i, 1.1 - 0.1 * i], 0, 255)
                .astype(np.uint8) for i in range(5)]
    with edgesdk.ImageCodec("lite", quality=2) as codec:  # the shipped lite model and its identifier
        frames = [codec.encode(p) for p in pictures]
        codes = [frame_code(codec, f) for f in frames]
        like = example_code(codec, pictures[3])
    records = [FrameRecord("cam", i, 1000.0 + i, f, FrameKind.KEY, features=c)
               for i, (f, c) in enumerate(zip(frames, codes))]
    with SQLiteStore(tmp_path / "s.db", dimensions=len(COMPONENTS)) as lite, \
            PostgresStore(postgres, dimensions=len(COMPONENTS), table=table) as fleet:
        for store in (lite, fleet):
            store.set_feature_names(COMPONENTS)
            store.put_many(records)
        middle = float(np.median([c[0] for c in codes]))
        for query in (f"brightness < {middle!r}", f"brightness >= {middle!r}", "not face", "red > 0.2"):
            assert _rows(search(fleet, query)) == _rows(search(lite, query))
        assert len(search(fleet, f"brightness < {middle!r}")) == 2
        assert _rows(search(fleet, example=like, k=3)) == _rows(search(lite, example=like, k=3))
        assert search(fleet, example=like, k=1)[0].frame_index == 3
        both_ways = f"brightness >= {middle!r}"
        assert _rows(search(fleet, both_ways, like, k=2)) == _rows(search(lite, both_ways, like, k=2))


@pytest.mark.parametrize("query, message", [
    ("night", "unknown component 'night'"),
    ("face or brightness < 0.3", "cannot read"),
    ("brightness = 0.3", "cannot read"),
])
def test_bad_queries_are_refused_the_same_way(both, query, message):
    lite, fleet, _ = both
    errors = []
    for store in (lite, fleet):
        with pytest.raises(InvalidArgumentError, match=message) as caught:
            search(store, query)
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and "\n" not in errors[0]


def test_a_store_without_names_says_how_to_name_them(tmp_path, postgres, table):
    with SQLiteStore(tmp_path / "s.db", dimensions=2) as lite, \
            PostgresStore(postgres, dimensions=2, table=table) as fleet:
        errors = []
        for store in (lite, fleet):
            store.put(FrameRecord("cam", 0, 1.0, b"x", FrameKind.KEY, features=[0.1, 0.2]))
            with pytest.raises(InvalidArgumentError, match="holds no named search codes") as caught:
                search(store, "a > 0.5")
            errors.append(str(caught.value).split(" holds ", 1))
            with pytest.raises(StoreError, match="no named feature components"):
                store.select_codes([(0, ">", 0.5)])
        assert errors[0][1] == errors[1][1] and errors[1][0] == f"PostgreSQL table {table}"
        fleet.set_feature_names(["a", "b"])
        assert fleet.feature_names == ("a", "b")
        with pytest.raises(InvalidArgumentError, match="bad condition"):
            fleet.select_codes([(2, ">", 0.5)])
        with pytest.raises(InvalidArgumentError, match="bad condition"):
            fleet.select_codes([(0, "; DROP TABLE x; --", 0.5)])
    with PostgresStore(postgres, table=table, readonly=True) as again:  # the names are kept
        assert again.feature_names == ("a", "b") and again.select_codes([(1, ">", 0.15)])[1].tolist() == [0]


def test_cli_put_features_and_search_a_fleet_store(tmp_path, capsys, postgres_database):
    from PIL import Image

    import edgesdk
    from edgesdk.bitstream.packets import Packet, PacketFlags

    rng = np.random.default_rng(7)
    pictures = [np.clip(rng.normal(40 + 50 * i, 60, (48, 64, 3)), 0, 255).astype(np.uint8) for i in range(4)]
    with edgesdk.ImageCodec("lite", quality=2) as codec:
        frames = [codec.encode(p) for p in pictures]
    source = tmp_path / "frames.elv"
    source.write_bytes(b"".join(Packet(1, i, f, PacketFlags.KEYFRAME).to_bytes() for i, f in enumerate(frames)))
    Image.fromarray(pictures[2]).save(tmp_path / "third.png")
    outputs = {}
    for uri in (str(tmp_path / "s.db"), postgres_database):
        assert main(["store", "put", uri, str(source), "--stream", "cam", "--features", "-q", "2"]) == 0
        capsys.readouterr()
        for args in (["--query", "brightness < 0.5"], ["--like", str(tmp_path / "third.png"), "-k", "2", "-q", "2"],
                     ["--query", "not face", "--like", str(tmp_path / "third.png"), "-k", "3", "-q", "2"]):
            assert main(["search", uri, *args, "--json"]) == 0
            outputs.setdefault(uri, []).append(json.loads(capsys.readouterr().out))
    lite, fleet = outputs.values()
    assert fleet == lite and [m["frame"] for m in fleet[1]][:1] == [2] and fleet[1][0]["distance"] == 0.0
    assert 0 < len(fleet[0]) < 4


def test_cli_search_of_a_database_without_a_store_is_one_line(capsys, postgres_database):
    assert main(["search", postgres_database, "--query", "face"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no store table edgesdk_frames" in err[0]
    assert main(["search", postgres_database, "--query", "face"]) == 1  # nothing was created
