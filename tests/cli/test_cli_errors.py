"""Failures as a user meets them: one line on stderr, a documented status, nothing left behind
(docs/cli.md). Each test runs ``edgesdk`` in a subprocess."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from cli_helpers import edgesdk, one_line_error, photo, save


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return save(tmp_path_factory.mktemp("in") / "small.png", photo())


def test_missing_inputs_are_one_line(tmp_path):
    for args in (("decode", tmp_path / "missing.eli", tmp_path / "x.png"),
                 ("info", tmp_path / "missing.eli"),
                 ("info", tmp_path / "missing.elv"),
                 ("encode", tmp_path / "missing.png", tmp_path / "x.eli"),
                 ("encode", tmp_path / "missing.y4m", tmp_path / "x.elv")):
        line = one_line_error(edgesdk(*args))
        assert "missing" in line and "no such" in line
    assert list(tmp_path.iterdir()) == []


def test_output_folders_are_checked_before_any_work(tmp_path):
    # The input is not even an image: the missing or unwritable output folder is found first.
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    line = one_line_error(edgesdk("encode", broken, tmp_path / "no" / "such" / "x.eli"))
    assert "no such folder" in line
    line = one_line_error(edgesdk("encode", broken, "/proc/x.eli"))
    assert "/proc" in line and "cannot write" in line
    assert not (tmp_path / "no").exists()


def test_demo_into_an_unwritable_place_is_one_line():
    start = time.perf_counter()
    line = one_line_error(edgesdk("demo", "--out", "/proc/x"))
    assert "/proc/x" in line
    assert time.perf_counter() - start < 30  # refused before the model runs


def test_outputs_are_not_overwritten_without_force(tmp_path, small):
    out = tmp_path / "x.eli"
    assert edgesdk("encode", small, out).returncode == 0
    out.write_bytes(b"mine")
    line = one_line_error(edgesdk("encode", small, out))
    assert "--force" in line and out.read_bytes() == b"mine"
    assert edgesdk("encode", small, out, "--force").returncode == 0
    assert out.read_bytes() != b"mine"
    image = tmp_path / "x.png"
    image.write_bytes(b"mine")
    assert "--force" in one_line_error(edgesdk("decode", out, image))
    assert edgesdk("decode", out, image, "--force").returncode == 0


def test_a_broken_pipe_is_not_a_traceback():
    # ``edgesdk devices --json | head -1``: the reader is gone before edgesdk writes.
    process = subprocess.Popen([sys.executable, "-m", "edgesdk.cli", "devices", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert stderr == ""


def test_max_frames_zero_is_refused_and_leaves_no_file(tmp_path, small):
    out = tmp_path / "x.elv"
    line = one_line_error(edgesdk("encode", small.parent, out, "--max-frames", 0))
    assert "--max-frames" in line
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_encode_leaves_no_partial_file(tmp_path):
    # The second frame's header is fine, its pixels are cut off: the video encode fails part way.
    frames = tmp_path / "frames"
    save(frames / "0.png", photo())
    whole = save(tmp_path / "whole.png", photo(seed=9)).read_bytes()
    (frames / "1.png").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out" / "x.elv"
    out.parent.mkdir()
    result = edgesdk("encode", frames, out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert list(out.parent.iterdir()) == []


def test_ctrl_c_is_one_line_status_130_and_no_partial_file(tmp_path):
    frames = tmp_path / "frames"
    big = photo(400, 300)
    for i in range(200):
        save(frames / f"{i:03d}.png", np.ascontiguousarray(np.roll(big, i, axis=1)[:128, :192]))
    out = tmp_path / "out"
    out.mkdir()
    # A shell's background job inherits SIGINT ignored (e.g. CI started with '&'): restore the
    # default in the child, as an interactive terminal has it.
    process = subprocess.Popen([sys.executable, "-m", "edgesdk.cli", "encode", str(frames), str(out / "x.elv")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(out.iterdir()):  # the encode has started writing
        time.sleep(0.1)
    time.sleep(1.0)
    assert process.poll() is None, "the encode ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr and stderr.strip().splitlines() == [stderr.strip()]
    assert "interrupted" in stderr
    assert list(out.iterdir()) == []


def test_plain_info_is_readable_text(tmp_path, small, latent_clip):
    out = tmp_path / "x.eli"
    assert edgesdk("encode", small, out).returncode == 0
    for target in (out, latent_clip):
        result = edgesdk("info", target)
        assert result.returncode == 0, result.stderr
        assert "{" not in result.stdout and "[" not in result.stdout and "'" not in result.stdout
    assert "frames by type: " in edgesdk("info", latent_clip).stdout


def test_kind_messages_read_as_english(tmp_path, small):
    line = one_line_error(edgesdk("encode", small.parent, tmp_path / "x.eli"))
    assert "an image folder" in line and "a image" not in line and "image-folder" not in line


def test_the_cli_says_alpha_was_dropped_in_one_line(tmp_path):
    from PIL import Image

    Image.new("RGBA", (64, 64), (10, 200, 30, 100)).save(tmp_path / "a.png")
    result = subprocess.run([sys.executable, "-m", "edgesdk.cli", "encode", str(tmp_path / "a.png"),
                             str(tmp_path / "a.eli")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("edgesdk: warning: ") and "alpha" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
