"""The two shipped models as a user meets them: names instead of paths, and a stream of the
non-default model decoding without naming it (the frame's model id picks the shipped model)."""

from __future__ import annotations

import pytest

from cli_helpers import edgesdk, one_line_error, photo, save


@pytest.fixture()
def picture(tmp_path):
    return save(tmp_path / "in.png", photo(128, 64))


def test_a_lite_stream_decodes_without_naming_the_model(tmp_path, picture):
    assert edgesdk("encode", picture, tmp_path / "a.eli", "--model", "lite").returncode == 0
    result = edgesdk("decode", tmp_path / "a.eli", tmp_path / "a.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.png").stat().st_size > 0


def test_naming_the_wrong_model_says_which_one_made_the_frame(tmp_path, picture):
    assert edgesdk("encode", picture, tmp_path / "w.eli").returncode == 0  # the default: wavelet
    line = one_line_error(edgesdk("decode", tmp_path / "w.eli", tmp_path / "w.png", "--model", "lite"))
    assert "shipped 'wavelet' model" in line and "--model wavelet" in line, line
    assert not (tmp_path / "w.png").exists()


def test_the_models_differ_and_an_unknown_name_is_a_missing_path(tmp_path, picture):
    assert edgesdk("encode", picture, tmp_path / "w.eli").returncode == 0
    assert edgesdk("encode", picture, tmp_path / "l.eli", "--model", "lite").returncode == 0
    assert (tmp_path / "w.eli").read_bytes() != (tmp_path / "l.eli").read_bytes()
    line = one_line_error(edgesdk("encode", picture, tmp_path / "x.eli", "--model", "wavelett"))
    assert "wavelett" in line and "shipped model (wavelet, lite)" in line
