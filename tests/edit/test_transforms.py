"""Transformation identifiers on integers: parsing, exact structural results, the record."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.edit.recode import decode_transforms, encode_transforms
from edgesdk.edit.transforms import Latents, Transform, apply, map_name, parse_transform
from edgesdk.errors import CorruptedError, InvalidArgumentError


def _latents(width=128, height=128, m=3, n=2):
    rng = np.random.default_rng(0)
    h, w = -(-height // 64) * 4, -(-width // 64) * 4
    return Latents(rng.integers(-200, 200, (m, h, w)), rng.integers(-5, 5, (n, h // 4, w // 4)).astype(np.int32),
                   width, height)


def test_parse_forms_and_errors():
    assert parse_transform("hflip") == Transform("hflip")
    assert parse_transform(" crop = 0, 64,128,16 ") == Transform("crop", (0, 64, 128, 16))
    assert str(parse_transform("rot90=3")) == "rot90=3" and map_name(parse_transform("rot90=3")) == "rot270"
    with pytest.raises(InvalidArgumentError, match="unknown transform 'blur'.*hflip"):
        parse_transform("blur")
    with pytest.raises(InvalidArgumentError, match="crop takes 4 parameter"):
        parse_transform("crop=1,2")
    with pytest.raises(InvalidArgumentError, match="'crop=a,b,c,d': parameters are integers; crop takes 4"):
        parse_transform("crop=a,b,c,d")


def test_geometry_moves_latent_and_hyper_cells_together():
    source = _latents(128, 192)
    flipped = apply(Transform("hflip"), source)
    assert np.array_equal(flipped.q, source.q[:, :, ::-1]) and np.array_equal(flipped.z, source.z[:, :, ::-1])
    turned = apply(Transform("rot90", (1,)), source)
    assert (turned.width, turned.height) == (192, 128) and turned.q[0, 0, 0] == source.q[0, 0, -1]
    assert turned.z[1, -1, -1] == source.z[1, -1, 0]
    crop = apply(Transform("crop", (64, 64, 48, 32)), source)
    assert (crop.width, crop.height) == (48, 32) and crop.q.shape[1:] == (4, 4) and crop.z.shape[1:] == (1, 1)
    assert np.array_equal(crop.q[:, :2, :3], source.q[:, 4:6, 4:7])
    assert np.array_equal(crop.q[:, 3], crop.q[:, 1]) and crop.z[0, 0, 0] == source.z[0, 1, 1]  # edge-padded
    redacted = apply(Transform("redact", (64, 0, 64, 128)), source)
    assert not redacted.q[:, :8, 4:8].any() and not redacted.z[:, :2, 1].any()
    assert np.array_equal(redacted.q[:, :, :4], source.q[:, :, :4])


def test_downscale_rounds_the_mean_half_up():
    source = _latents(256, 128)
    half = apply(Transform("downscale", (2,)), source)
    assert (half.width, half.height) == (128, 64) and half.q.shape[1:] == (4, 8)
    block = source.q[:, :2, :2].reshape(3, -1).sum(axis=1)
    assert half.q[:, 0, 0].tolist() == ((block + 2) // 4).tolist()


@pytest.mark.parametrize("text, message", [
    ("hflip", "width 100 is not a multiple of 64"),
    ("rot90", "not on the 64-pixel grid"),
    ("crop=32,0,64,64", "multiples of 64"),
    ("crop=0,0,64,60", "multiples of 16"),
    ("crop=64,0,64,64", "leaves the 100x128 picture"),
    ("redact=0,0,48,64", "multiples of 64"),
    ("downscale=3", "F must be 2 or 4"),
    ("downscale=4", "multiple of 256"),
])
def test_off_grid_requests_say_what_would_work(text, message):
    with pytest.raises(InvalidArgumentError, match=message):
        apply(parse_transform(text), _latents(100, 128))


def test_the_record_round_trips_and_refuses_damage():
    record = [Transform("crop", (0, 64, 128, 16)), Transform("hflip"), Transform("rot90", (3,))]
    payload = encode_transforms(record)
    assert payload[:4] == bytes([3, 3, 4, 0]) and decode_transforms(payload) == record
    assert decode_transforms(bytes([1, 9, 0])) == [Transform("t9")]  # unknown ids are kept, by number
    for damaged in (b"", payload[:-1], payload + b"\0", bytes([2, 1, 0])):
        with pytest.raises(CorruptedError):
            decode_transforms(damaged)
