"""Codes stored with frames and searched: the Python API and ``edgesdk store put --features`` /
``edgesdk search``."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("apsw")
pytest.importorskip("sqlite_vec")

from edgesdk.cli import main
from edgesdk.search.labels import COMPONENTS


def _frames(codec, count=4):
    """Image frames of noisy pictures of rising brightness (so their codes differ)."""
    rng = np.random.default_rng(7)
    return [codec.encode(np.clip(rng.normal(40 + 50 * i, 60, (48, 80, 3)), 0, 255).astype(np.uint8))
            for i in range(count)]


def test_store_api_predicates_and_examples(tmp_path, search_codec):
    from edgesdk.exchange import FrameKind, FrameRecord
    from edgesdk.exchange.sqlite_store import SQLiteStore
    from edgesdk.search.store import example_code, frame_code, search

    frames = _frames(search_codec)
    codes = [frame_code(search_codec, f) for f in frames]
    with SQLiteStore(tmp_path / "s.db", dimensions=len(COMPONENTS)) as store:
        store.set_feature_names(COMPONENTS)
        store.put_many(FrameRecord("cam", i, 1000 + i, f, FrameKind.KEY, features=c)
                       for i, (f, c) in enumerate(zip(frames, codes)))
        k = int(np.argmax(np.ptp(np.array(codes)[:, :6], axis=0)))  # the component that varies most
        threshold = float((np.array(codes)[:, k].min() + np.array(codes)[:, k].max()) / 2)
        above = [m.frame_index for m in search(store, f"{COMPONENTS[k]} > {threshold!r}")]
        expected = [i for i, c in enumerate(codes) if c[k] > np.float32(threshold)]
        assert above == expected and 0 < len(above) < 4
        like = search(store, example=example_code(search_codec, frames[2]), k=2)
        assert like[0].frame_index == 2 and like[0].distance == 0.0 and len(like) == 2
        assert np.allclose(like[0].code, codes[2])
        both = search(store, f"{COMPONENTS[k]} > {threshold!r}", example_code(search_codec, frames[0]), k=1)
        assert [m.frame_index for m in both] == [min(expected, key=lambda i: np.linalg.norm(codes[i] - codes[0]))]
        vec0 = store.search(codes[2], 2)  # the store's own exact k-NN agrees
        assert [i for _, i, _ in vec0] == [m.frame_index for m in like]


def test_cli_put_features_and_search(tmp_path, capsys, search_codec, search_bundle):
    from edgesdk.bitstream.packets import Packet, PacketFlags

    frames = _frames(search_codec)
    source = tmp_path / "frames.elv"
    source.write_bytes(b"".join(Packet(1, i, f, PacketFlags.KEYFRAME).to_bytes() for i, f in enumerate(frames)))
    (tmp_path / "third.eli").write_bytes(frames[2])
    db = str(tmp_path / "s.db")
    model = ["--model", str(search_bundle), "-q", "1"]
    assert main(["store", "put", db, str(source), "--stream", "cam", "--features", *model]) == 0
    capsys.readouterr()
    assert main(["search", db, "--like", str(tmp_path / "third.eli"), "-k", "1", "--json", *model]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(m["frame"], m["distance"]) for m in found] == [(2, 0.0)] and set(found[0]["code"]) == set(COMPONENTS)
    assert main(["search", db, "--query", "brightness > -1000"]) == 0
    assert capsys.readouterr().out.strip().endswith("4 frame(s)")


@pytest.mark.parametrize("args, message", [
    (["--query", "night"], "unknown component 'night'"),
    ([], "give --query"),
    (["--query", "face", "-k", "1", "--like", "missing.eli"], "no such latent image"),
    (["--query", "face", "--stream", "no stream"], "stream name"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, args, message):
    from edgesdk.exchange.sqlite_store import SQLiteStore

    db = tmp_path / "s.db"
    with SQLiteStore(db, dimensions=len(COMPONENTS)) as store:
        store.set_feature_names(COMPONENTS)
    assert main(["search", str(db), *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_model_without_identifier_says_so(tmp_path, capsys, search_codec):
    from edgesdk.bitstream.packets import Packet, PacketFlags

    source = tmp_path / "one.elv"
    source.write_bytes(Packet(1, 0, _frames(search_codec, 1)[0], PacketFlags.KEYFRAME).to_bytes())
    assert main(["store", "put", str(tmp_path / "s.db"), str(source), "--features", "-q", "1"]) == 1
    assert "no search feature identifier" in capsys.readouterr().err


def test_code_columns_follow_puts_gc_and_reopening(tmp_path):
    from edgesdk.exchange import FrameKind, FrameRecord
    from edgesdk.exchange.errors import StoreError
    from edgesdk.exchange.sqlite_store import SQLiteStore

    def record(i, a):
        return FrameRecord("cam", i, 1000 + i, b"x%d" % i, FrameKind.KEY if i % 2 == 0 else FrameKind.P,
                           features=[a, 1.0 - a])

    path = tmp_path / "s.db"
    with SQLiteStore(path, dimensions=2) as store:
        store.put_many(record(i, a) for i, a in enumerate([0.1, 0.7, 0.9]))
        with pytest.raises(StoreError, match="no named feature components"):
            store.select_codes([(0, ">", 0.5)])
        store.set_feature_names(["a", "b"])  # fills the code columns from the vectors already stored
        store.put(record(3, 0.8))
        assert store.select_codes([(0, ">", 0.5), (1, ">=", 0.2)])[1].tolist() == [1, 3]
        assert store.gc(max_bytes=1)["frames"] == 2  # frames 0 and 1 go, with their code rows
        streams, indexes, codes = store.select_codes()
        assert streams == ["cam", "cam"] and indexes.tolist() == [2, 3]
        assert codes.tolist() == [[pytest.approx(0.9), pytest.approx(0.1)], [pytest.approx(0.8), pytest.approx(0.2)]]
    with SQLiteStore(path, readonly=True) as store:
        assert store.feature_names == ("a", "b") and store.select_codes([(1, "<", 0.15)])[1].tolist() == [2]


def test_a_missing_store_is_an_error_not_a_new_file(tmp_path, capsys):
    assert main(["search", str(tmp_path / "none.db"), "--query", "face"]) == 1
    assert "no such store" in capsys.readouterr().err and not (tmp_path / "none.db").exists()
