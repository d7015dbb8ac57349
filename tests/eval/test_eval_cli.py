"""edgesdk eval: images against Pillow codecs and published curves; a clip against x264."""

from __future__ import annotations

import json

import pytest

import shared_data
from edgesdk.cli import main
from edgesdk.codecs.model import default_sample_image



def test_image_eval_writes_report_table_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(default_sample_image()[i * 128 : i * 128 + 128, 128:320]).save(folder / f"{i}.png")
    assert main(["eval", str(folder), "--out", str(tmp_path / "out"), "--anchors", "jpeg", "--qualities", "1", "2",
                 "3", "4"]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [p["quality"] for p in report["points"]] == [1, 2, 3, 4] and report["images"] == 2
    assert set(report["bd"]) >= {"jpeg (Pillow)", "bmshj2018-hyperprior (CompressAI, published)"}
    assert (tmp_path / "out" / "rd.png").read_bytes()[:4] == b"\x89PNG"
    assert "BD-rate" in capsys.readouterr().out


@pytest.mark.slow
def test_video_eval_against_x264(tmp_path):
    pytest.importorskip("av")
    pytest.importorskip("matplotlib")
    akiyo = shared_data.require("video/akiyo_cif.mp4")
    from edgesdk.codecs.image.codec import ImageCodec
    from edgesdk.eval.video_report import evaluate_clip, write_video_report

    with ImageCodec() as codec:
        report = evaluate_clip(akiyo, codec, frame_count=3, keyframe_interval=3, b_frames=1, steps=(1.0,),
                               anchors=("x264",), log=lambda line: None)
    assert report["frames"] == 3 and len(report["points"]) == len(codec.model.qualities)
    assert report["bd_rate_percent"]["x264"] is None or isinstance(report["bd_rate_percent"]["x264"], float)
    paths = write_video_report(report, tmp_path)
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"
