"""Figures a user reads: bench measures image and video apart and honestly, devices names this
host truthfully, the demo compares with JPEG and WebP at the same size, eval checks what it
needs before working."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cli_helpers import edgesdk, one_line_error, photo, save


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_bench_measures_images_and_video_apart_and_honestly():
    result = edgesdk("bench", "image", "--sizes", "128x64", "--repeats", "3", "--json")
    assert result.returncode == 0, result.stderr
    (image,) = _json_lines(result.stdout)
    assert image["kind"] == "image"
    for call, stages in (("encode", ("compressor", "entropy_encode")), ("decode", ("entropy_decode", "generator"))):
        assert image[f"{call}_overhead_ratio"] >= 0  # a call cannot take less than the graphs inside it
        for stage in stages:
            assert 0 < image[stage] <= image[call]
    result = edgesdk("bench", "video", "--sizes", "128x64", "--video-frames", "3", "--keyframe-interval", "3",
                     "--json")
    assert result.returncode == 0, result.stderr
    (video,) = _json_lines(result.stdout)
    assert video["kind"] == "video" and video["frames"] == video["decoded_frames"] == 3
    assert video["bytes"] > 0 and video["encode_fps"] > 0 and video["decode_fps"] > 0


def test_devices_names_this_host_truthfully():
    from edgesdk.runtime.devices import detect_profile, host_architecture, load_profile

    listed = json.loads(edgesdk("devices", "--json").stdout)
    (detected,) = [p for p in listed if p["detected"]]
    if detected["gpu"] == "none":  # no NVIDIA GPU nor Jetson here: the generic profile of this CPU
        assert detected["name"].startswith("generic-")
        assert detected["architecture"] == host_architecture()
    assert detect_profile("/nonexistent-root", machine="x86_64") == "generic-x86-64"
    assert detect_profile("/nonexistent-root", machine="arm64") == "generic-aarch64"
    assert load_profile("cpu-accessory").detect.fallback is False  # an accessory is named, never guessed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_one_decode_fits_the_accessory_memory_budget(tmp_path):
    # Peak resident memory of a fresh process that opens the model and decodes one image of the
    # accessory profile's largest shape, against the profile's memory budget.
    encode = f"""
import numpy as np, edgesdk
from edgesdk.runtime.devices import load_profile
height, width = load_profile("cpu-accessory").shape_profile.max
image = np.clip(np.random.default_rng(0).normal(128, 40, (height, width, 3)), 0, 255).astype(np.uint8)
with edgesdk.ImageCodec(device="cpu-accessory") as codec:
    open({str(tmp_path / "max.eli")!r}, "wb").write(codec.encode(image))
"""
    decode = f"""
import edgesdk
from edgesdk.runtime.devices import load_profile
with edgesdk.ImageCodec(device="cpu-accessory") as codec:
    codec.decode({str(tmp_path / "max.eli")!r})
# VmHWM: this process's peak since exec (ru_maxrss would count the forking parent's memory)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak // 1024, load_profile("cpu-accessory").memory_budget_mib)
"""
    for code in (encode, decode):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
    peak, budget = map(int, result.stdout.split())
    assert peak <= budget, f"one decode peaks at {peak} MiB; the cpu-accessory profile says {budget} MiB"


def test_demo_compares_with_jpeg_and_webp_at_the_same_size(tmp_path):
    from PIL import Image

    result = edgesdk("demo", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("at the same size"))
    rows = {line.split()[0]: line.split() for line in lines[start + 1 : start + 4]}
    assert set(rows) == {"edgesdk", "JPEG", "WebP"}
    ours = int(rows["edgesdk"][2])
    for name in ("JPEG", "WebP"):
        assert int(rows[name][2]) <= ours  # never given more bytes than ours
    assert sum("<- best PSNR" in " ".join(row) for row in rows.values()) == 1
    picture = next(tmp_path.glob("*.comparison.png"))
    assert Image.open(picture).size[0] > 4 * 768  # original, ours, JPEG and WebP side by side


def test_eval_without_matplotlib_says_so_before_working(tmp_path):
    save(tmp_path / "kodak" / "a.png", photo())
    code = ("import sys; sys.modules['matplotlib'] = None; from edgesdk.cli import main; "
            f"sys.exit(main(['eval', {str(tmp_path / 'kodak')!r}, '--out', {str(tmp_path / 'report')!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    line = one_line_error(result)
    assert "matplotlib" in line and "edgesdk[eval]" in line
    assert not (tmp_path / "report").exists()
    assert "Traceback" not in edgesdk("eval").stderr


def test_eval_extra_declares_matplotlib():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert any(dep.startswith("matplotlib") for dep in pyproject["project"]["optional-dependencies"]["eval"])
    assert any(dep.startswith("tqdm") for dep in pyproject["project"]["dependencies"])


def test_a_slow_frame_is_reported_in_seconds_per_frame(capsys):
    import time
    from pathlib import Path

    from edgesdk.cli.codec import report_batch
    from edgesdk.cli.transcode import Batch, Written

    one = Batch([Written(Path("x.eli"), 100, 64, 64)], [])
    assert report_batch(one, "decoded", time.perf_counter() - 20) == 0
    assert "decoded 1 frame(s) in 20.0" in (out := capsys.readouterr().out) and "s per frame)" in out
    assert "0.0 fps" not in out
    many = Batch([Written(Path("x.elv"), 100, 64, 64, frames=50)], [])
    assert report_batch(many, "decoded", time.perf_counter() - 2) == 0
    assert "fps)" in capsys.readouterr().out
