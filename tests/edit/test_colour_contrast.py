"""Colour and contrast in latent space: parsing (hostile text included), the integer
arithmetic, the effect on decoded pixels, and bundles that lack the data they need."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from edgesdk.edit.recode import decode_transforms, edit_frame, encode_transforms, transform_latents
from edgesdk.edit.transforms import Latents, Transform, apply, parse_transform
from edgesdk.errors import EditDataMissingError, InvalidArgumentError


def _picture(width=128, height=128, seed=0):
    """Mid-tone gradients with texture: room to brighten, darken and stretch."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    base = np.stack([x * 120 / width + 60, y * 100 / height + 70, 128 + 40 * np.sin(x / 7.0)], axis=2)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def test_parse_colour_and_contrast():
    assert parse_transform("colour=24, 0,-24") == Transform("colour", (24, 0, -24))
    assert parse_transform("contrast=1.5") == Transform("contrast", (150,))
    assert parse_transform("contrast=2") == Transform("contrast", (200,)) and parse_transform("contrast=0.75").params == (75,)
    for text in ("contrast=1.5", "contrast=2", "contrast=0.75", "contrast=1.05", "colour=-3,4,5"):
        assert str(parse_transform(text)) == text
    record = [Transform("colour", (-255, 0, 255)), Transform("contrast", (50,))]
    assert decode_transforms(encode_transforms(record)) == record


@pytest.mark.parametrize("text, message", [
    ("contrast=nan", "contrast='nan': contrast takes 1"),
    ("contrast=1e3", "contrast='1e3'"),
    ("contrast=1.234", "two decimals at most"),
    ("contrast=-1", "contrast='-1'"),
    ("contrast", "contrast takes 1 parameter"),
    ("colour=1,2", "colour takes 3 parameter"),
    ("colour=1,2,3,4", "colour takes 3 parameter"),
    ("colour=99999999999,0,0", "parameters are integers"),
    ("colour=2147483648,0,0", "out of range"),
    ("colour=1.5,0,0", "parameters are integers"),
    ("colour=1,\n2,3x", "parameters are integers"),
    ("x" * 1000, "at most 200 characters"),
    (None, "NAME or NAME=P1"),
    (12, "NAME or NAME=P1"),
])
def test_hostile_text_is_refused_in_one_line(text, message):
    with pytest.raises(InvalidArgumentError, match=message) as caught:
        parse_transform(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text, message", [
    ("colour=256,0,0", "R, G and B must each be in -255..255"),
    ("colour=0,0,-256", "R, G and B must each be in -255..255"),
    ("contrast=2.01", "F must be in 0.5..2.0"),
    ("contrast=0.49", "F must be in 0.5..2.0"),
    ("contrast=0", "F must be in 0.5..2.0"),
])
def test_out_of_range_levels_and_factors(text, message):
    latents = Latents(np.zeros((2, 4, 4), np.int64), np.zeros((1, 1, 1), np.int32), 64, 64)
    with pytest.raises(InvalidArgumentError, match=message):
        apply(parse_transform(text), latents)


class _Model:
    """A model stand-in with small constant latents (levels 24; grey for contrast)."""

    offsets = {"red": (24, [12, -12]), "green": (24, [24, 0]), "blue": (24, [0, 1]), "grey": (128, [16, -16])}

    def edit_offset(self, quality, name):
        levels, values = self.offsets[name]
        return levels, np.array(values, np.int32)


class _Codec:
    model = _Model()


def test_integer_arithmetic_rounds_half_up():
    q = np.array([[[0, 1]], [[5, -5]]], np.int64)
    latents = Latents(q, np.zeros((1, 1, 1), np.int32), 32, 16)
    red = transform_latents(_Codec(), 2, latents, [Transform("colour", (1, 0, 0))]).q
    assert red[:, 0, 0].tolist() == [0 + 1, 5 + 0]  # +12/24 = 0.5 -> 1; -12/24 = -0.5 -> 0 (half up)
    mixed = transform_latents(_Codec(), 2, latents, [Transform("colour", (1, 1, -12))]).q  # 36/24, -24/24
    assert mixed[:, 0, 1].tolist() == [1 + 2, -5 - 1]  # 1.5 -> 2; -12/24 - 12/24 = -1
    stretched = transform_latents(_Codec(), 2, latents, [Transform("contrast", (150,))]).q
    assert stretched[0, 0].tolist() == [16 - 24, 16 - 22]  # 16 + 1.5·(-16) = -8; 16 + 1.5·(-15) = -6.5 -> -6
    assert stretched[1, 0].tolist() == [-16 + 32, -16 + 17]  # 1.5·21 = 31.5 -> 32; 1.5·11 = 16.5 -> 17
    same = transform_latents(_Codec(), 2, latents, [Transform("contrast", (100,)), Transform("colour", (0, 0, 0))])
    assert np.array_equal(same.q, q)


def test_colour_moves_its_channel(edit_codec):
    data = edit_codec.encode(_picture(seed=3))
    before = edit_codec.decode(data).astype(float).mean(axis=(0, 1))
    for levels, channel in (((24, 0, 0), 0), ((0, 24, 0), 1), ((0, 0, -24), 2)):
        after = edit_codec.decode(edit_frame(edit_codec, data, [f"colour={','.join(map(str, levels))}"]))
        change = after.astype(float).mean(axis=(0, 1)) - before
        assert 16 < abs(change[channel]) < 32 and np.sign(change[channel]) == np.sign(levels[channel]), change
        assert np.abs(np.delete(change, channel)).max() < 8, change


def test_contrast_scales_the_spread_about_grey(edit_codec):
    picture = _picture(seed=4)
    data = edit_codec.encode(picture)
    plain = edit_codec.decode(data)
    spread = plain.astype(float).std()
    assert np.array_equal(edit_codec.decode(edit_frame(edit_codec, data, ["contrast=1"])), plain)  # F = 1: same ŷ
    higher = edit_codec.decode(edit_frame(edit_codec, data, ["contrast=2"])).astype(float).std()
    lower = edit_codec.decode(edit_frame(edit_codec, data, ["contrast=0.5"])).astype(float).std()
    assert 1.5 < higher / spread < 2.5 and 0.35 < lower / spread < 0.7, (spread, higher, lower)


def test_bundles_without_the_data_refuse_and_say_what_is_missing(edit_codec, tmp_path):
    import edgesdk
    from edgesdk.codecs.model import LITE_MODEL
    from edgesdk.edit.maps import SHIPPED_MAPS, attach_edit_maps

    with edgesdk.ImageCodec("lite", quality=1) as plain:  # the shipped lite model has edit data at quality 2 only
        data = plain.encode(_picture())
        for text, missing in (("colour=24,0,0", "'red' latent for quality 1 (qualities.1.edit.offsets.red)"),
                              ("contrast=1.5", "'grey' latent for quality 1 (qualities.1.edit.offsets.grey)")):
            with pytest.raises(EditDataMissingError, match=re.escape(f"{text}: the model has no {missing}")):
                edit_frame(plain, data, [text])
    older = tmp_path / "older"  # edit data from before colour and contrast: maps and brightness only
    shutil.copytree(SHIPPED_MAPS, older)
    facts = json.loads((older / "edit.json").read_text())
    facts["offsets"] = {"brightness": facts["offsets"]["brightness"]}
    (older / "edit.json").write_text(json.dumps(facts))
    bundle = attach_edit_maps(LITE_MODEL, tmp_path / "older-bundle", 2, older)
    with edgesdk.ImageCodec(bundle, quality=2) as codec:
        data = codec.encode(_picture())
        edit_frame(codec, data, ["brightness=10", "hflip"])  # what it has still works
        with pytest.raises(EditDataMissingError, match="no 'green' latent|no 'red' latent"):
            edit_frame(codec, data, ["colour=0,10,0"])
        with pytest.raises(EditDataMissingError, match="contrast=0.8: the model has no 'grey' latent"):
            codec.encode(_picture(), transforms=["contrast=0.8"])


def test_the_constant_latents_are_pinned_by_the_bundle_id(edit_codec, tmp_path):
    from edgesdk.codecs.model import CodecModel
    from edgesdk.errors import BundleIntegrityError

    copy = tmp_path / "copy"
    shutil.copytree(edit_codec.model.bundle.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert sorted(manifest["qualities"]["2"]["edit"]["offsets"]) == ["blue", "brightness", "green", "grey", "red"]
    manifest["qualities"]["2"]["edit"]["offsets"]["grey"]["values"] = [0] * 3  # damaged: wrong length
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    damaged = CodecModel.open(copy)
    assert damaged.bundle_id != edit_codec.model.bundle_id  # the id (what a signature signs) covers them
    with pytest.raises(BundleIntegrityError, match="edit.offsets.grey needs levels"):
        damaged.edit_offset(2, "grey")
