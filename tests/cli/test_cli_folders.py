"""Folder encode and decode as a user meets them: distinct outputs, subfolders, a bad file
reported while the batch goes on, and progress on a terminal only."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from cli_helpers import edgesdk, one_line_error, photo, save


def test_folder_encode_keeps_every_input_subfolders_and_goes_past_a_bad_file(tmp_path):
    src = tmp_path / "photos"
    save(src / "x.png", photo(seed=1))
    save(src / "x.jpg", photo(seed=2))
    save(src / "trip" / "y.png", photo(seed=3))
    (src / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    save(src / "z.png", photo(seed=4))
    out = tmp_path / "latents"
    result = edgesdk("encode", src, out)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "bad.png" in result.stderr and "1 of 5 input(s) failed" in result.stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.eli"))
    assert written == ["trip/y.eli", "x.jpg.eli", "x.png.eli", "z.eli"]
    assert "encoded 4 frame(s)" in result.stdout
    # Each output is its own input's: decoding them back gives two different pictures.
    back = tmp_path / "back"
    result = edgesdk("decode", out, back)
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(back)) for p in back.rglob("*.png")) == \
        ["trip/y.png", "x.jpg.png", "x.png.png", "z.png"]
    from PIL import Image

    a, b = (np.asarray(Image.open(back / n), dtype=int) for n in ("x.png.png", "x.jpg.png"))
    assert np.abs(a - b).mean() > 1


def test_folder_encode_refuses_to_overwrite_before_any_work(tmp_path):
    src = tmp_path / "photos"
    save(src / "a.png", photo())
    save(src / "b.png", photo(seed=5))
    out = tmp_path / "latents"
    out.mkdir()
    (out / "b.eli").write_bytes(b"mine")
    result = edgesdk("encode", src, out)
    assert result.returncode == 1 and "--force" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b.eli"] and (out / "b.eli").read_bytes() == b"mine"


def _under_a_terminal(args) -> str:
    """Runs edgesdk with stderr on a pseudo-terminal; returns what it showed there."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a size
    process = subprocess.Popen([sys.executable, "-m", "edgesdk.cli", *map(str, args)], stdout=subprocess.PIPE,
                               stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=120)
    os.close(master)
    assert process.returncode == 0, shown
    return shown.decode(errors="replace")


def test_progress_bars_on_a_terminal_only(tmp_path):
    src = tmp_path / "photos"
    for i in range(3):
        save(src / f"{i}.png", photo(seed=i))
    shown = _under_a_terminal(["encode", src, tmp_path / "latents"])
    assert "encode" in shown and "/3 [" in shown  # tqdm's bar: images done of all
    piped = edgesdk("encode", src, tmp_path / "again")
    assert piped.returncode == 0 and piped.stderr == ""
    # Video: one step per frame.
    shown = _under_a_terminal(["encode", src, tmp_path / "clip.elv", "--keyframe-interval", 3])
    assert "frame" in shown and "/3 [" in shown
    shown = _under_a_terminal(["decode", tmp_path / "clip.elv", tmp_path / "clip.y4m"])
    assert "frame" in shown and "decode" in shown


def test_a_large_image_shows_its_tiles_on_a_terminal(tmp_path):
    # Above one tile (1024 + halo), the transforms run tile by tile: one step each.
    big = save(tmp_path / "big.png", photo(1280, 1216))
    shown = _under_a_terminal(["encode", big, tmp_path / "big.eli"])
    assert "encode 1280x1216" in shown and "tile" in shown and "/4 [" in shown
    shown = _under_a_terminal(["decode", tmp_path / "big.eli", tmp_path / "back.png"])
    assert "decode 1280x1216" in shown and "/4 [" in shown


def test_a_missing_folder_and_a_folder_of_subfolders_of_latents(tmp_path):
    assert "no such file or folder" in one_line_error(edgesdk("encode", tmp_path / "nowhere", tmp_path / "out"))
    save(tmp_path / "photos" / "trip" / "a.png", photo())
    assert edgesdk("encode", tmp_path / "photos", tmp_path / "latents").returncode == 0
    result = edgesdk("decode", tmp_path / "latents", tmp_path / "back")  # only a subfolder holds .eli
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "back" / "trip" / "a.png").is_file()
