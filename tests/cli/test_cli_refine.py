"""``edgesdk encode --refine N``: a refined stream that plain ``edgesdk decode`` reads (in
process: torch is loaded once); a bad step count is one line (a subprocess, as a user meets it)."""

from __future__ import annotations

import numpy as np
import pytest

from cli_helpers import edgesdk, one_line_error, photo, save
from edgesdk.cli import main
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import load_image
from edgesdk.eval.metrics import psnr


@pytest.mark.torch
def test_refined_encode_decodes_with_plain_decode(tmp_path):
    source = save(tmp_path / "in.png", photo(128, 64))
    assert main(["encode", str(source), str(tmp_path / "refined.eli"), "-q", "1", "--refine", "6"]) == 0
    assert main(["decode", str(tmp_path / "refined.eli"), str(tmp_path / "out.png")]) == 0
    assert psnr(load_image(source), load_image(tmp_path / "out.png")) > 25
    assert (tmp_path / "refined.eli").read_bytes() != ImageCodec(threads=1).encode(load_image(source), 1)


def test_a_negative_step_count_is_one_line(tmp_path):
    source = save(tmp_path / "in.png", np.zeros((32, 32, 3), np.uint8))
    line = one_line_error(edgesdk("encode", source, tmp_path / "out.eli", "--refine", "-1"))
    assert "refine must be" in line
    assert not (tmp_path / "out.eli").exists()
