"""``edgesdk import compressai`` failures as a user meets them: one line, status 1, nothing written."""

from __future__ import annotations

import pytest

from cli_helpers import edgesdk, one_line_error


@pytest.mark.torch
def test_a_corrupt_checkpoint_is_one_line_and_writes_nothing(tmp_path):
    checkpoint = tmp_path / "model.pth.tar"
    checkpoint.write_bytes(b"\x80\x04 this is no checkpoint")
    line = one_line_error(edgesdk("import", "compressai", checkpoint, "--arch", "bmshj2018-hyperprior",
                                  "--out", tmp_path / "out.edgesdk"))
    assert "not a readable PyTorch checkpoint" in line and str(checkpoint) in line
    assert not (tmp_path / "out.edgesdk").exists()
