"""A damaged latent video as a user meets it: decode keeps every decodable frame and says what
was lost (status 3), ``info`` agrees, random bytes are refused, truncation is reported."""

from __future__ import annotations

import os

import pytest

from cli_helpers import edgesdk, one_line_error


def _frames(path) -> int:
    from edgesdk.media import open_source

    with open_source(str(path)) as source:
        return sum(1 for _ in source)


def _flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x40]) + data[middle + 1:]


def test_one_flipped_byte_loses_only_what_it_touches(latent_clip, tmp_path):
    damaged = tmp_path / "damaged.elv"
    damaged.write_bytes(_flip_middle(latent_clip.read_bytes()))
    result = edgesdk("decode", damaged, tmp_path / "out.y4m")
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "damaged: " in result.stderr and "frame(s) written" in result.stderr
    kept = _frames(tmp_path / "out.y4m")
    assert 3 <= kept < 6  # a GOP of 3 survives; the damage costs the frames that needed the packet
    assert f"{kept} frame(s) written" in result.stderr
    # info sees the same damage in the same words
    info = edgesdk("info", damaged)
    assert info.returncode == 3, info.stderr
    said = info.stderr.split("damaged: ", 1)[1].strip()
    assert said and f"damaged: {said}" in result.stderr
    assert f"damage: {said}" in info.stdout
    # --on-damage stop: what came before the damage, and the same report
    result = edgesdk("decode", damaged, tmp_path / "stopped.y4m", "--on-damage", "stop")
    assert result.returncode == 3 and "stopped at the first damage" in result.stderr
    assert _frames(tmp_path / "stopped.y4m") <= kept


def test_a_truncated_file_is_reported_by_decode_and_info(latent_clip, tmp_path):
    cut = tmp_path / "cut.elv"
    cut.write_bytes(latent_clip.read_bytes()[:-100])
    result = edgesdk("decode", cut, tmp_path / "out.y4m")
    assert result.returncode == 3 and "truncated" in result.stderr
    assert 1 <= _frames(tmp_path / "out.y4m") < 6
    info = edgesdk("info", cut)
    assert info.returncode == 3 and "truncated" in info.stderr


def test_random_bytes_are_not_a_latent_video(tmp_path):
    noise = tmp_path / "noise.elv"
    noise.write_bytes(os.urandom(5000))
    assert "not a latent video" in one_line_error(edgesdk("info", noise))
    one_line_error(edgesdk("decode", noise, tmp_path / "out.y4m"))
    assert not (tmp_path / "out.y4m").exists()


def test_decoding_to_mp4_takes_a_quality(latent_clip, tmp_path):
    pytest.importorskip("av")
    sizes = {}
    for crf in (8, 45):
        out = tmp_path / f"crf{crf}.mp4"
        result = edgesdk("decode", latent_clip, out, "--crf", crf)
        assert result.returncode == 0, result.stderr
        sizes[crf] = out.stat().st_size
    assert sizes[8] > sizes[45]


def test_decoding_into_a_folder_with_files_needs_force(latent_clip, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "00000.png").write_bytes(b"mine")
    assert "--force" in one_line_error(edgesdk("decode", latent_clip, frames))
    assert (frames / "00000.png").read_bytes() == b"mine"
    assert edgesdk("decode", latent_clip, frames, "--force").returncode == 0
    assert len(list(frames.glob("*.png"))) == 6
