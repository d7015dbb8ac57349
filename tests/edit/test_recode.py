"""Edits of real frames: valid re-coded frames, the record, redaction that keeps nothing of
the rectangle, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.bitstream.container import Frame, SectionKind
from edgesdk.edit.recode import applied_transforms, edit_frame, read_latents, write_latents
from edgesdk.edit.transforms import Latents, Transform
from edgesdk.errors import InvalidArgumentError
from edgesdk.eval.metrics import psnr


def _picture(width=128, height=128, seed=0):
    """A smooth picture with an asymmetric gradient (so a wrong flip shows)."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    base = np.stack([x * 200 / width + 20, y * 150 / height + 40, 120 + 60 * np.sin(x / 9.0)], axis=2)
    return np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)


def test_edits_decode_to_the_transformed_picture(edit_codec):
    picture = _picture()
    data = edit_codec.encode(picture)
    for text, expected in (("hflip", picture[:, ::-1]), ("rot90", np.rot90(picture)),
                           ("crop=64,0,64,96", picture[:96, 64:128])):
        edited = edit_frame(edit_codec, data, [text])
        decoded = edit_codec.decode(edited)
        assert decoded.shape == expected.shape
        assert psnr(expected, decoded) > 24, text  # a plain latent flip without its map gives ~20 dB on Kodak
        assert edit_frame(edit_codec, data, [text]) == edited  # deterministic bytes
    frame = Frame.parse(edit_frame(edit_codec, edit_frame(edit_codec, data, ["crop=0,0,128,64"]), ["hflip"]))
    assert applied_transforms(frame) == [Transform("crop", (0, 0, 128, 64)), Transform("hflip")]
    assert applied_transforms(Frame.parse(data)) == [] and Frame.parse(data).section(SectionKind.TRANSFORMS) is None


def test_parse_is_the_same_for_every_decoder(edit_codec):
    import edgesdk

    edited = edit_frame(edit_codec, edit_codec.encode(_picture(seed=1)), ["rot90=2"])
    _, mine = edit_codec.codec().decode_latent(edited)
    with edgesdk.ImageCodec(edit_codec.model, quality=2, backend="onnxruntime", precision="fp16") as other:
        _, theirs = other.codec().decode_latent(edited)
    assert np.array_equal(mine, theirs)
    frame, latents = read_latents(edit_codec, edited)
    assert write_latents(edit_codec, frame, latents, applied_transforms(frame)) == edited  # re-coding is stable


def test_redaction_keeps_nothing_of_the_rectangle(edit_codec):
    from edgesdk.edit.transforms import apply

    data = edit_codec.encode(_picture(192, 128))
    frame, latents = read_latents(edit_codec, data)
    rng = np.random.default_rng(5)
    q, z = latents.q.copy(), latents.z.copy()
    q[:, :, 4:8] = rng.integers(-300, 300, q[:, :, 4:8].shape)  # other content inside x 64..128
    z[:, :, 1] = rng.integers(-4, 4, z[:, :, 1].shape)
    rule = Transform("redact", (64, 0, 64, 128))
    mine = write_latents(edit_codec, frame, apply(rule, latents), [rule])
    theirs = write_latents(edit_codec, frame, apply(rule, Latents(q, z, 192, 128)), [rule])
    assert mine == theirs == edit_frame(edit_codec, data, [rule])  # a function of the outside integers only
    inside = edit_codec.decode(mine)[16:112, 80:112].astype(float)  # away from the generator's reach outside
    assert inside.std(axis=(0, 1)).max() < 12


def test_a_model_without_maps_refuses_geometry_but_crops():
    import edgesdk

    with edgesdk.ImageCodec("lite", quality=1) as codec:  # the shipped model has maps at quality 2 only
        data = codec.encode(_picture())
        with pytest.raises(InvalidArgumentError, match="no 'hflip' map"):
            edit_frame(codec, data, ["hflip"])
        assert Frame.parse(edit_frame(codec, data, ["crop=0,0,64,64"])).width == 64
        with pytest.raises(InvalidArgumentError, match="at least one"):
            edit_frame(codec, data, [])


def test_cli_edit(tmp_path, capsys, edit_codec):
    from edgesdk.cli import main

    source = tmp_path / "in.eli"
    source.write_bytes(edit_codec.encode(_picture()))
    bundle = str(edit_codec.model.bundle.path)
    out = str(tmp_path / "out.eli")
    assert main(["edit", str(source), out, "-t", "crop=0,0,64,64", "-t", "hflip", "--model", bundle]) == 0
    assert applied_transforms(Frame.parse((tmp_path / "out.eli").read_bytes()))[1] == Transform("hflip")
    capsys.readouterr()
    assert main(["info", out]) == 0
    assert "transforms: crop=0,0,64,64, hflip" in capsys.readouterr().out
    for args, message in ((["-t", "blur"], "unknown transform 'blur'"),
                          (["-t", "crop=8,0,16,16", "--model", bundle], "multiples of 64"),
                          (["-t", "hflip", "--model", bundle], "exists")):
        target = out if message == "exists" else str(tmp_path / "x.eli")
        assert main(["edit", str(source), target, *args]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err


def test_brightness_adds_the_models_constant_latent(edit_codec):
    import edgesdk

    data = edit_codec.encode(_picture(seed=2))
    before = edit_codec.decode(data).astype(float).mean()
    brighter = edit_codec.decode(edit_frame(edit_codec, data, ["brightness=24"])).astype(float).mean()
    darker = edit_codec.decode(edit_frame(edit_codec, data, ["brightness=-24"])).astype(float).mean()
    assert 16 < brighter - before < 32 and 16 < before - darker < 32
    with pytest.raises(InvalidArgumentError, match="D must be in -255..255"):
        edit_frame(edit_codec, data, ["brightness=300"])
    with edgesdk.ImageCodec("lite", quality=1) as plain:  # the shipped model has edits at quality 2 only
        with pytest.raises(InvalidArgumentError, match="no 'brightness' latent"):
            edit_frame(plain, plain.encode(_picture(seed=2)), ["brightness=24"])


def test_edit_maps_are_pinned_by_the_manifest(edit_codec, tmp_path):
    import json
    import shutil

    from edgesdk.codecs.model import CodecModel
    from edgesdk.errors import BundleIntegrityError

    copy = tmp_path / "copy"
    shutil.copytree(edit_codec.model.bundle.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["qualities"]["2"]["edit"]["maps"]["hflip"] == "q2/edit/hflip.eint"
    manifest["qualities"]["2"]["edit"]["maps"]["hflip"] = "q2/edit/nothing.eint"
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    with pytest.raises(BundleIntegrityError, match="edit.maps.hflip names"):
        CodecModel.open(copy)
