"""Video frame syntax at its exact edges: every cut of a motion section inside its header and
table indexes is a TruncatedError saying so, for each interpolation mode (kills a surviving
mutant of the length check in codecs/video/motion.py, docs/testing.md)."""

from __future__ import annotations

import numpy as np
import pytest

import edgesdk
from edgesdk.codecs.video.motion import Interpolation, Motion, decode_motion, encode_motion

HEADER_BYTES = 3  # mode, block size, precision (docs/video.md)


@pytest.mark.parametrize("mode", list(Interpolation), ids=lambda m: m.name.lower())
def test_every_cut_in_header_and_table_indexes_is_truncation(mode):
    vectors = np.ones((6, 7, 2), np.int32)
    past, future = mode.fields
    data = encode_motion(Motion(mode, 4, 1, vectors if past else None, -vectors if future else None))
    tables_end = HEADER_BYTES + 2 * sum(mode.fields)
    assert len(data) >= tables_end
    for cut in range(HEADER_BYTES, tables_end):
        with pytest.raises(edgesdk.TruncatedError, match="shorter than its table indexes"):
            decode_motion(data[:cut], 96, 112)
    decoded = decode_motion(data, 96, 112)
    assert decoded.mode == mode
