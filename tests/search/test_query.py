"""Query parsing and evaluation over codes."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.errors import InvalidArgumentError
from edgesdk.search.query import nearest, parse_query, select

NAMES = ("brightness", "face")
CODES = np.array([[0.2, 0.9], [0.6, 0.1], [0.25, 0.7], [0.8, 0.6]], np.float32)


def test_predicates_select_rows():
    assert select(CODES, parse_query("face and brightness < 0.3", NAMES)).tolist() == [0, 2]
    assert select(CODES, parse_query("not face", NAMES)).tolist() == [1]
    assert select(CODES, parse_query("brightness>=0.6, face > .65", NAMES)).tolist() == []
    assert select(CODES, parse_query("brightness >= 0.6 AND face<=0.6", NAMES)).tolist() == [1, 3]
    assert [str(p) for p in parse_query("face", NAMES)] == ["face > 0.5"]
    assert parse_query("brightness > 1e-1", NAMES)[0].value == pytest.approx(0.1)


@pytest.mark.parametrize("text, message", [
    ("", "empty query"),
    ("night", "unknown component 'night'.*brightness, face"),
    ("brightness = 0.3", "cannot read"),
    ("brightness <", "cannot read"),
    ("not brightness < 0.3", "'not' goes with a bare component"),
    ("face or brightness < 0.2", "cannot read"),
])
def test_bad_queries_say_what_is_allowed(text, message):
    with pytest.raises(InvalidArgumentError, match=message):
        parse_query(text, NAMES)


def test_nearest_orders_by_distance_within_selection():
    rows, distances = nearest(CODES, [0.2, 0.8], 2)
    assert rows.tolist() == [0, 2] and distances[0] == pytest.approx(0.1)
    rows, _ = nearest(CODES, [0.2, 0.8], 10, np.array([1, 3]))
    assert rows.tolist() == [3, 1]
    with pytest.raises(InvalidArgumentError, match="k must be"):
        nearest(CODES, [0.2, 0.8], 0)
    with pytest.raises(InvalidArgumentError, match="3 values"):
        nearest(CODES, [0.2, 0.8, 1.0], 1)
