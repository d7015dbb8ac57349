"""The CLI on video: a real clip to a latent video, inspected, and back to y4m and PNGs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import shared_data
from edgesdk.cli import main



@pytest.fixture(scope="module")
def latent_video(tmp_path_factory):
    pytest.importorskip("av")
    akiyo = shared_data.require("video/akiyo_cif.mp4")
    path = tmp_path_factory.mktemp("video") / "akiyo.elv"
    assert main(["encode", str(akiyo), str(path), "--max-frames", "5", "--keyframe-interval", "4",
                 "--b-frames", "1", "--quality", "1"]) == 0
    return path


def test_info_counts_frames_by_type(latent_video, capsys):
    capsys.readouterr()
    assert main(["info", str(latent_video), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["width"], info["height"], info["frames"], info["quality"]) == (352, 288, 5, 1)
    assert info["fps"] == 25.0 and info["bytes"] == latent_video.stat().st_size
    # The default preset (fixed-camera): the second GOP starts from the background, not a keyframe.
    assert info["frames_by_type"]["KEY"] == 1 and sum(info["frames_by_type"].values()) == 5
    assert info["coding"]["GOP starts from the background"] == 1
    # Inter frames are the point of video coding: they cost a fraction of a keyframe here.
    assert max(v for k, v in info["mean_bytes_by_type"].items() if k != "KEY") < info["mean_bytes_by_type"]["KEY"] / 2


def test_decode_to_y4m_and_to_a_folder(latent_video, tmp_path):
    from edgesdk.media import open_source

    assert main(["decode", str(latent_video), str(tmp_path / "out.y4m")]) == 0
    with open_source(str(tmp_path / "out.y4m")) as source:
        frames = list(source)
    assert len(frames) == 5 and frames[0].pixels.shape == (288, 352, 3)
    assert main(["decode", str(latent_video), str(tmp_path / "frames")]) == 0
    assert len(list((tmp_path / "frames").glob("*.png"))) == 5


def test_mismatched_kinds_are_refused(latent_video, tmp_path):
    assert main(["decode", str(latent_video), str(tmp_path / "x.eli")]) == 1
    assert main(["encode", str(latent_video), str(tmp_path / "y.elv")]) == 1


def test_step_trades_bits_for_quality(tmp_path):
    pytest.importorskip("av")
    akiyo = shared_data.require("video/akiyo_cif.mp4")
    sizes = {}
    for step in ("0.5", "4"):
        path = tmp_path / f"step{step}.elv"
        assert main(["encode", str(akiyo), str(path), "--max-frames", "3", "--keyframe-interval", "3",
                     "--b-frames", "0", "--quality", "1", "--step", step]) == 0
        sizes[step] = path.stat().st_size
    assert sizes["4"] < sizes["0.5"]
    assert main(["encode", str(akiyo), str(tmp_path / "bad.elv"), "--max-frames", "2", "--step", "100"]) == 1


def test_a_truncated_stream_keeps_the_frames_before_the_damage(latent_video, tmp_path, capsys):
    from edgesdk.media import open_source

    cut = tmp_path / "cut.elv"
    cut.write_bytes(latent_video.read_bytes()[:-300])  # inside the last frame's packet
    capsys.readouterr()
    assert main(["decode", str(cut), str(tmp_path / "cut.y4m")]) == 3  # decoded with damage
    err = capsys.readouterr().err
    assert "truncated" in err and "frame(s) written" in err
    with open_source(str(tmp_path / "cut.y4m")) as source:
        assert 1 <= len(list(source)) < 5


def test_every_extension_the_media_layer_opens_is_a_video_or_an_image_to_the_cli():
    from edgesdk.cli.transcode import kind_of
    from edgesdk.media.formats import IMAGE_EXTENSIONS, RAW_VIDEO_EXTENSIONS, VIDEO_EXTENSIONS

    assert ".webm" in VIDEO_EXTENSIONS
    for suffix in (*VIDEO_EXTENSIONS, *RAW_VIDEO_EXTENSIONS):
        assert kind_of(f"clip{suffix}", must_exist=False) == "video"
    for suffix in IMAGE_EXTENSIONS:
        assert kind_of(f"photo{suffix}", must_exist=False) == "image"


def test_encode_a_webm_clip(tmp_path, capsys):
    pytest.importorskip("av")
    import numpy as np

    from edgesdk.media import open_sink

    clip = tmp_path / "clip.webm"
    rng = np.random.default_rng(0)
    try:
        with open_sink(str(clip), 96, 64, fps=25, codec="libvpx-vp9") as sink:
            for _ in range(3):
                sink.write(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    except Exception as error:  # this PyAV build lacks a WebM encoder
        pytest.skip(f"cannot write WebM here: {error}")
    latent = tmp_path / "clip.elv"
    assert main(["encode", str(clip), str(latent), "--quality", "1"]) == 0
    capsys.readouterr()
    assert main(["info", str(latent), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 3


def test_b_frames_given_win_over_the_preset():
    """--b-frames left out: the preset's count (realtime: 0), else the encoder's default;
    given: that count, whatever the preset."""
    from edgesdk.cli.transcode import VideoOptions, encoder_options

    assert encoder_options(VideoOptions(preset="realtime"))["b_frames"] == 0
    assert encoder_options(VideoOptions(preset="realtime", b_frames=3))["b_frames"] == 3
    assert encoder_options(VideoOptions(preset="fixed-camera"))["b_frames"] == 12
    assert encoder_options(VideoOptions(preset="fixed-camera", b_frames=1))["b_frames"] == 1
    assert "b_frames" not in encoder_options(VideoOptions(preset="exhaustive"))  # the encoder's default


def test_default_preset_is_fixed_camera_for_files_and_realtime_for_live_sources():
    """No --preset: the fewest bits for a file (fixed-camera), nothing held for a live source
    (realtime); a preset given wins either way."""
    from edgesdk.cli.transcode import VideoOptions, encoder_options
    from edgesdk.codecs.video import preset_options

    def without_command_options(options):
        return {k: v for k, v in options.items() if k not in ("keyframe_interval", "p_step", "roi")}

    assert without_command_options(encoder_options(VideoOptions())) == preset_options("fixed-camera")
    assert without_command_options(encoder_options(VideoOptions(), live=True)) == preset_options("realtime")
    assert without_command_options(encoder_options(VideoOptions(preset="exhaustive"), live=True)) == {}


@pytest.mark.parametrize(("option", "value", "says"), [("--b-frames", "16", "--b-frames must be in 0..15"),
                                                    ("--b-frames", "-1", "--b-frames must be in 0..15"),
                                                    ("--keyframe-interval", "0", "--keyframe-interval must be in 1..1024")])
def test_out_of_range_structure_options_name_the_flag(tmp_path, option, value, says):
    """Before any frame is read or the output created: the flag the user typed, its range."""
    from cli_helpers import edgesdk, one_line_error, photo, save

    frames = tmp_path / "frames"
    for k in range(2):
        save(frames / f"{k}.png", photo(seed=k))
    line = one_line_error(edgesdk("encode", frames, tmp_path / "out.elv", option, value))
    assert says in line and not (tmp_path / "out.elv").exists()


def test_info_counts_interpolation_only_b_frames(capsys):
    """The spec vector whose four B frames are MOTION alone (docs/spec/README.md)."""
    vector = Path(__file__).resolve().parents[2] / "docs/spec/vectors/kodim23_6frames_70x45_q2_interpolation_only.elv"
    assert main(["info", str(vector), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["coding"]["interpolation-only B frames"] == 4 and info["frames_by_type"]["B"] == 4
    assert "motion-compensated P frames" not in info["coding"]


def test_info_counts_motion_compensated_p_frames(capsys):
    """The spec vector with three P frames carrying forward MOTION (docs/spec/README.md)."""
    vector = Path(__file__).resolve().parents[2] / "docs/spec/vectors/kodim23_6frames_70x45_q2_motion_p.elv"
    assert main(["info", str(vector), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["coding"]["motion-compensated P frames"] == 3 and info["frames_by_type"]["P"] == 3


def test_presets_realtime_and_fixed_camera(tmp_path, capsys):
    """--preset realtime codes P frames only; both start the second GOP from the background and
    write compact P frames; an unknown preset is a usage error."""
    pytest.importorskip("av")
    from edgesdk.bitstream.container import Frame, Parameter
    from edgesdk.bitstream.packets import PacketReader

    akiyo = shared_data.require("video/akiyo_cif.mp4")
    kinds = {}
    for preset in ("realtime", "fixed-camera"):
        path = tmp_path / f"{preset}.elv"
        b_frames = ["--b-frames", "1"] if preset == "fixed-camera" else []  # realtime: the preset's 0
        assert main(["encode", str(akiyo), str(path), "--max-frames", "5", "--keyframe-interval", "3",
                     *b_frames, "--quality", "1", "--preset", preset]) == 0
        frames = [Frame.parse(p.payload) for p in PacketReader().feed(path.read_bytes()) if len(p.payload)]
        kinds[preset] = [(f.frame_type.name, f.compact, f.parameters.get(Parameter.BACKGROUND_REFERENCE))
                         for f in frames]
        assert main(["decode", str(path), str(tmp_path / preset)]) == 0
        assert len(list((tmp_path / preset).glob("*.png"))) == 5
    assert kinds["realtime"] == [("KEY", False, None), ("P", True, None), ("P", True, None), ("P", False, 0),
                                 ("P", True, None)]
    assert kinds["fixed-camera"][0] == ("KEY", False, None) and kinds["fixed-camera"][3] == ("P", False, 0)
    capsys.readouterr()
    assert main(["info", str(tmp_path / "realtime.elv"), "--json"]) == 0  # info counts the coding tools used
    coding = json.loads(capsys.readouterr().out)["coding"]
    assert (coding["background keyframes"], coding["GOP starts from the background"], coding["compact frames"]) \
        == (1, 1, 3)
    assert main(["info", str(tmp_path / "realtime.elv")]) == 0
    assert "coding: 1 background keyframes" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["encode", str(akiyo), str(tmp_path / "x.elv"), "--preset", "fastest"])
    assert "invalid choice" in capsys.readouterr().err
