"""``edgesdk encode --roi`` (docs/cli.md, docs/roi.md): rectangles reach the frame, bad
values are one-line errors."""

from __future__ import annotations

from cli_helpers import edgesdk, one_line_error, photo, save
from edgesdk.bitstream.container import Frame, SectionKind


def test_roi_rectangles_are_coded_in_the_frame(tmp_path):
    source = save(tmp_path / "in.png", photo(128, 128))
    plain, regional = tmp_path / "plain.eli", tmp_path / "roi.eli"
    assert edgesdk("encode", source, plain).returncode == 0
    result = edgesdk("encode", source, regional, "--roi", "0,0,32,32", "--roi", "64,64,20,20")
    assert result.returncode == 0, result.stderr
    kinds = [s.kind for s in Frame.parse(regional.read_bytes()).sections]
    assert SectionKind.ROI_LATENT in kinds and SectionKind.LATENT not in kinds
    assert SectionKind.ROI_LATENT not in [s.kind for s in Frame.parse(plain.read_bytes()).sections]
    assert edgesdk("decode", regional, tmp_path / "out.png").returncode == 0


def test_bad_roi_values_are_one_line_errors(tmp_path):
    source = save(tmp_path / "in.png", photo())
    for value in ("1,2,3", "a,b,c,d", "0,0,0,5", "-1,0,4,4"):
        line = one_line_error(edgesdk("encode", source, tmp_path / "x.eli", f"--roi={value}"))
        assert "--roi" in line
    line = one_line_error(edgesdk("encode", source, tmp_path / "x.eli", "--roi", "faces", "--roi", "0,0,4,4"))
    assert "faces" in line
    assert not (tmp_path / "x.eli").exists()
