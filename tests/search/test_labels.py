"""Pixel labels: the numbers search codes stand for."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.errors import InvalidArgumentError
from edgesdk.search.labels import COMPONENTS, faces, pixel_labels
from shared_data import require


def test_statistics_of_known_pictures():
    grey = pixel_labels(np.full((40, 60, 3), 51, np.uint8))
    assert grey.tolist() == pytest.approx([0.2, 0.0, 0.2, 0.2, 0.2, 0.0, 0.0])
    halves = np.zeros((40, 60, 3), np.uint8)
    halves[:, 30:, 0] = 255  # half black, half red
    red = dict(zip(COMPONENTS, pixel_labels(halves, with_faces=False)))
    assert red["red"] == pytest.approx(0.5) and red["green"] == 0 and red["brightness"] == pytest.approx(0.299 / 2)
    assert red["contrast"] == pytest.approx(0.299 / 2) and np.isnan(red["face"])
    # rg: 0 or 255 (std 127.5, mean 127.5); yb: 0 or 127.5 (std and mean 63.75)
    assert red["colourfulness"] == pytest.approx((np.hypot(127.5, 63.75) * 1.3) / 100)
    with pytest.raises(InvalidArgumentError, match="HxWx3 uint8"):
        pixel_labels(np.zeros((4, 4), np.uint8))


def test_the_detector_finds_the_face_in_kodim04():
    from edgesdk.codecs.model import load_image

    image = load_image(require("kodak/kodim04.png"))
    assert len(faces(image)) == 1 and pixel_labels(image)[-1] == 1.0
    assert faces(np.full((200, 200, 3), 128, np.uint8)) == []
