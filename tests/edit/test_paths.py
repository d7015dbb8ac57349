"""Where transforms apply: at the input (before entropy coding), at a relay (re-coding) and at
the output (before the generator) give the same frame and the same pixels for one chain, the
frame records what was applied, every decoder parses it the same, and video is refused."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.bitstream.container import Frame, SectionKind
from edgesdk.edit.recode import applied_transforms, decode_transforms, edit_frame
from edgesdk.edit.transforms import parse_transform
from edgesdk.errors import InvalidArgumentError

CHAINS = [["colour=24,0,-24"], ["contrast=1.5"], ["contrast=0.5", "hflip"], ["brightness=-10", "crop=64,0,128,64"],
          ["rot90=3", "colour=0,12,0", "contrast=1.25"], ["downscale=2"], ["redact=0,0,64,64", "contrast=2"]]


def _picture(width=192, height=128, seed=0):
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    base = np.stack([x * 160 / width + 40, y * 120 / height + 60, 120 + 50 * np.sin(x / 11.0)], axis=2)
    return np.clip(base + rng.normal(0, 5, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("chain", CHAINS, ids=["+".join(c) for c in CHAINS])
def test_input_relay_and_output_agree(edit_codec, chain):
    picture = _picture(256 if "downscale=2" in chain else 192)
    data = edit_codec.encode(picture)
    relay = edit_frame(edit_codec, data, chain)
    at_input = edit_codec.encode(picture, transforms=chain)
    assert at_input == relay  # the same integers, coded the same way
    assert applied_transforms(Frame.parse(at_input)) == [parse_transform(t) for t in chain]
    at_output = edit_codec.decode(data, transforms=chain)
    assert np.array_equal(at_output, edit_codec.decode(relay))
    plain = edit_codec.decode(data)
    assert at_output.shape != plain.shape or np.abs(at_output.astype(int) - plain).mean() > 2  # it did apply them


def test_an_input_edit_records_and_a_relay_appends(edit_codec):
    data = edit_codec.encode(_picture(), transforms="colour=0,0,30")
    section = Frame.parse(data).section(SectionKind.TRANSFORMS)
    assert [str(t) for t in decode_transforms(section.data)] == ["colour=0,0,30"]
    again = edit_frame(edit_codec, data, ["contrast=0.8"])
    assert [str(t) for t in applied_transforms(Frame.parse(again))] == ["colour=0,0,30", "contrast=0.8"]
    assert edit_codec.encode(_picture(), transforms=[]) == edit_codec.encode(_picture())  # none: the plain frame
    assert np.array_equal(edit_codec.decode(data, transforms=()), edit_codec.decode(data))
    with pytest.raises(InvalidArgumentError, match="F must be in 0.5..2.0"):
        edit_codec.decode(data, transforms=["contrast=3"])
    from edgesdk.edit.transforms import Transform

    for odd, message in ((5, "not int"), ({"hflip"}, "not set"), ([Transform("nope")], "unknown transform"),
                         ([Transform("colour", (1,))], "colour takes 3"), ([b"hflip"], "NAME or NAME=P1")):
        with pytest.raises(InvalidArgumentError, match=message):
            edit_codec.decode(data, transforms=odd)


def test_a_colour_cast_on_a_grey_picture_is_kept(edit_codec):
    from edgesdk.bitstream.container import Parameter

    grey = np.repeat(_picture()[:, :, :1], 3, axis=2)
    data = edit_codec.encode(grey)
    assert Frame.parse(data).parameters.get(Parameter.MONOCHROME) == 1
    for chain in (["colour=30,0,0"], ["colour=0,0,-30", "brightness=5"]):
        relay = edit_frame(edit_codec, data, chain)
        assert Parameter.MONOCHROME not in Frame.parse(relay).parameters and relay == edit_codec.encode(grey, transforms=chain)
        pixels = edit_codec.decode(data, transforms=chain)
        assert np.array_equal(pixels, edit_codec.decode(relay))
        means = pixels.astype(float).mean(axis=(0, 1))
        assert means[0] - means[2] > 15, means  # red above blue either way: the cast survives decoding
    still = edit_frame(edit_codec, data, ["colour=9,9,9", "contrast=1.2"])  # equal levels: still grey
    assert Frame.parse(still).parameters.get(Parameter.MONOCHROME) == 1


@pytest.mark.parametrize("backend, precision", [("onnxruntime", "fp32"), ("onnxruntime", "fp16"), ("pytorch", "fp32")])
def test_colour_and_contrast_frames_parse_the_same_everywhere(edit_codec, backend, precision):
    import edgesdk

    if backend == "pytorch":
        pytest.importorskip("torch")
    picture = _picture(seed=1)
    edited = edit_frame(edit_codec, edit_codec.encode(picture), ["colour=10,-20,5", "contrast=1.7"])
    _, mine = edit_codec.codec().decode_latent(edited)
    with edgesdk.ImageCodec(edit_codec.model, quality=2, backend=backend, precision=precision) as other:
        _, theirs = other.codec().decode_latent(edited)
        assert other.encode(picture, transforms=["colour=10,-20,5", "contrast=1.7"]) is not None  # any compressor
    assert np.array_equal(mine, theirs)


def test_cli_encode_and_decode_with_transforms(edit_codec, tmp_path, capsys):
    from PIL import Image

    from edgesdk.cli import main

    bundle = str(edit_codec.model.bundle.path)
    picture = _picture()
    Image.fromarray(picture).save(tmp_path / "in.png")
    chain = ["-t", "contrast=1.5", "-t", "crop=0,0,128,128"]
    assert main(["encode", str(tmp_path / "in.png"), str(tmp_path / "a.eli"), "--model", bundle, "--quality", "2",
                 *chain]) == 0
    assert "(128x128)" in capsys.readouterr().out
    edited = (tmp_path / "a.eli").read_bytes()
    assert edited == edit_frame(edit_codec, edit_codec.encode(picture), ["contrast=1.5", "crop=0,0,128,128"])
    assert main(["encode", str(tmp_path / "in.png"), str(tmp_path / "b.eli"), "--model", bundle, "--quality", "2"]) == 0
    assert main(["decode", str(tmp_path / "b.eli"), str(tmp_path / "b.png"), "--model", bundle, *chain]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "b.png")), edit_codec.decode(edited))
    capsys.readouterr()
    (tmp_path / "clip.elv").write_bytes(b"not read: refused first")
    (tmp_path / "frames").mkdir()
    Image.fromarray(picture).save(tmp_path / "frames" / "0.png")
    for args, message in (
        (["encode", str(tmp_path / "in.png"), str(tmp_path / "c.eli"), "-t", "contrast=9"], "F must be in 0.5..2.0"),
        (["encode", str(tmp_path / "in.png"), str(tmp_path / "c.eli"), "-t", "colour=1"], "colour takes 3"),
        (["encode", str(tmp_path / "frames"), str(tmp_path / "c.elv"), "-t", "hflip"], "not to video: P and B"),
        (["decode", str(tmp_path / "clip.elv"), str(tmp_path / "c.mp4"), "-t", "hflip"], "not to a latent video"),
        (["decode", str(tmp_path / "b.eli"), str(tmp_path / "c.png"), "-t", "crop=0,0,256,64"], "leaves the 192x128 picture"),
    ):
        assert main(args) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not any(p.name.startswith("c.") for p in tmp_path.iterdir())  # nothing written on refusal
