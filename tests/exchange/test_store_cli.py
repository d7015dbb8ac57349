"""``edgesdk store put|ls|get|export|gc`` on a real latent video."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("apsw")
pytest.importorskip("sqlite_vec")

from edgesdk.cli import main


def test_store_commands(tmp_path, capsys, video_packets):
    _, packets = video_packets
    source = tmp_path / "clip.elv"
    source.write_bytes(b"".join(packets))
    db = str(tmp_path / "cam.db")
    assert main(["store", "put", db, str(source), "--stream", "cam0", "--start-time", "1000"]) == 0
    assert main(["store", "put", db, str(source), "--stream", "cam0", "--start-time", "1000"]) == 0
    assert f"0 new frame(s), {len(packets)} already stored" in capsys.readouterr().out
    assert main(["store", "ls", db, "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing[0]["stream"] == "cam0" and listing[0]["frames"] == len(packets)
    assert listing[0]["bytes"] == sum(map(len, packets))
    assert main(["store", "get", db, "cam0", str(tmp_path / "all.elv")]) == 0
    assert (tmp_path / "all.elv").read_bytes() == source.read_bytes()  # byte-exact
    # frames 5..7 by time (25 fps from t=1000), extended back to their keyframe (frame 4)
    assert main(["store", "get", db, "cam0", "--start", "1000.2", "--end", "1000.3", str(tmp_path / "r.elv")]) == 0
    assert (tmp_path / "r.elv").read_bytes() == b"".join(packets[4:8])
    assert main(["store", "get", db, "cam0", "--start", "0", "--end", "1", str(tmp_path / "none.elv")]) == 1
    assert not (tmp_path / "none.elv").exists()  # an empty range writes nothing
    assert main(["store", "export", db, "cam0", "--start", "1000.2", "--end", "1000.3", str(tmp_path / "png"),
                 "--backend", "onnxruntime"]) == 0
    assert len(list((tmp_path / "png").glob("*.png"))) == 4
    assert main(["store", "gc", db, "--max-bytes", "1"]) == 0
    assert "dropped 2 group(s)" in capsys.readouterr().out
    assert main(["store", "gc", db]) == 1  # no limit given: a clear error, exit status 1
    assert "--max-age" in capsys.readouterr().err
