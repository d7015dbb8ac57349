"""edgesdk.ImageCodec with the shipped default model on ONNX Runtime (CPU): inputs of every
kind and size, mixed precisions, batches, tiles, errors, and the CLI around it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgesdk
from edgesdk.cli import main
from edgesdk.bitstream.container import Frame
from edgesdk.eval.metrics import psnr
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import SAMPLE_IMAGE, default_model, default_sample_image


@pytest.fixture(scope="module")
def photo(crop):
    return crop


def test_default_model_has_at_least_four_qualities_and_rates_rise_with_quality(codec, photo):
    qualities = codec.model.qualities
    assert len(qualities) >= 4
    sizes = [len(codec.encode(photo, q)) for q in qualities]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_round_trip_quality_and_frame_fields(codec, photo):
    data = codec.encode(photo)
    frame = Frame.parse(data)
    assert (frame.width, frame.height, frame.quality) == (256, 192, codec.quality)
    assert frame.model_id == codec.model.model_id(codec.quality)
    decoded = codec.decode(data)
    assert decoded.shape == photo.shape and decoded.dtype == np.uint8
    assert psnr(photo, decoded) > 24.0


@pytest.mark.parametrize("size", [(1, 1), (17, 33), (64, 64), (65, 130)])
def test_any_size_round_trips(codec, size):
    image = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    assert codec.decode(codec.encode(image)).shape == image.shape


def test_numpy_pil_path_and_grey_inputs_give_the_same_frame(codec, tmp_path):
    from PIL import Image

    array = default_sample_image()[:64, :128]
    path = tmp_path / "crop.png"
    Image.fromarray(array).save(path)
    frames = {codec.encode(array), codec.encode(Image.fromarray(array)), codec.encode(path), codec.encode(str(path))}
    assert len(frames) == 1
    grey = array[:, :, 1]
    assert codec.decode(codec.encode(grey)).shape == (64, 128, 3)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3), np.float32), np.zeros((0, 8, 3), np.uint8)],
)
def test_bad_images_raise_invalid_argument(codec, bad):
    with pytest.raises(edgesdk.InvalidArgumentError):
        codec.encode(bad)


def test_bad_image_files_raise_typed_errors(codec, tmp_path, monkeypatch):
    from PIL import Image

    with pytest.raises(edgesdk.NotFoundError, match="no such image"):
        codec.encode(tmp_path / "missing.png")
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(edgesdk.CorruptedError):
        codec.encode(tmp_path / "garbage.png")
    Image.new("RGB", (100, 100)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses above twice this
    with pytest.raises(edgesdk.LimitExceededError, match="decompression bomb"):
        codec.encode(tmp_path / "bomb.png")
    bomb_cli = main(["encode", str(tmp_path / "bomb.png"), str(tmp_path / "bomb.eli")])
    assert bomb_cli == 1  # a clear error, not a traceback


def test_unknown_quality_backend_and_precision_raise():
    with pytest.raises(edgesdk.InvalidArgumentError, match="quality 99"):
        ImageCodec(quality=99)
    with pytest.raises(edgesdk.InvalidArgumentError):
        ImageCodec(backend="nonsense")
    with pytest.raises(edgesdk.InvalidArgumentError):
        ImageCodec(precision="fp8")


def test_decode_follows_the_quality_in_the_frame(codec, photo):
    low, high = codec.model.qualities[0], codec.model.qualities[-1]
    for quality in (low, high):
        assert psnr(photo, codec.decode(codec.encode(photo, quality))) > 20


def test_damaged_truncated_and_foreign_frames_raise_edgesdk_errors(codec, photo):
    data = bytearray(codec.encode(photo))
    with pytest.raises(edgesdk.BitstreamError):
        codec.decode(bytes(data[: len(data) // 2]))
    data[-3] ^= 0x40
    with pytest.raises(edgesdk.BitstreamError):
        codec.decode(bytes(data))
    with pytest.raises(edgesdk.BitstreamError):
        codec.decode(b"not a frame at all")


def test_mixed_precision_encoder_and_decoder_parse_identically(codec, photo):
    with ImageCodec(compressor_precision="fp16", generator_precision="fp16", threads=1) as half:
        from_half, from_full = half.encode(photo), codec.encode(photo)
        for data in (from_half, from_full):
            np.testing.assert_array_equal(half.codec().decode_latent(data)[1], codec.codec().decode_latent(data)[1])
        assert psnr(codec.decode(from_half), half.decode(from_half)) > 40


def test_tiled_coding_matches_whole_image_coding(photo):
    with ImageCodec(threads=1, tile_size=64) as tiled, ImageCodec(threads=1, tile_size=None) as whole:
        tiled_image = tiled.decode(tiled.encode(photo))
        whole_image = whole.decode(whole.encode(photo))
    assert psnr(whole_image, tiled_image) > 40


def test_batches(codec, photo):
    frames = codec.encode_batch([photo, photo[:64, :64]])
    decoded = codec.decode_batch(frames)
    assert [d.shape for d in decoded] == [photo.shape, (64, 64, 3)]


def test_cli_encode_decode_round_trip(tmp_path):
    latent, output = tmp_path / "sample.eli", tmp_path / "sample.png"
    assert main(["encode", str(SAMPLE_IMAGE), str(latent), "--quality", str(default_model().qualities[0])]) == 0
    assert main(["decode", str(latent), str(output)]) == 0
    from PIL import Image

    assert np.asarray(Image.open(output)).shape == (512, 768, 3)


def test_cli_info_json_fields(tmp_path, capsys):
    latent = tmp_path / "x.eli"
    main(["encode", str(SAMPLE_IMAGE), str(latent)])
    capsys.readouterr()
    assert main(["info", str(latent), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["width"], info["height"], info["frame_type"]) == (768, 512, "KEY")
    assert info["bytes"] == latent.stat().st_size
    assert [s["kind"] for s in info["sections"]] == ["hyper_latent", "latent"]


def test_cli_folder_encode_and_decode(tmp_path):
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        Image.fromarray(default_sample_image()[i * 64 : i * 64 + 64, :96]).save(images / f"{i}.png")
    assert main(["encode", str(images), str(tmp_path / "latents")]) == 0
    assert sorted(p.name for p in (tmp_path / "latents").iterdir()) == ["0.eli", "1.eli"]
    assert main(["decode", str(tmp_path / "latents"), str(tmp_path / "decoded")]) == 0
    assert sorted(p.name for p in (tmp_path / "decoded").iterdir()) == ["0.png", "1.png"]


def test_cli_reports_bad_input_without_a_traceback(tmp_path, capsys):
    bogus = tmp_path / "bogus.eli"
    bogus.write_bytes(b"\0" * 100)
    assert main(["decode", str(bogus), str(tmp_path / "out.png")]) == 1
    assert "edgesdk: error:" in capsys.readouterr().err
    assert main(["encode", str(tmp_path / "nothing.png"), str(tmp_path / "x.eli")]) == 1
    assert main(["encode", str(SAMPLE_IMAGE), str(tmp_path / "x.unknown")]) == 1


def test_demo_prints_every_quality_and_writes_the_comparison(tmp_path, capsys):
    from PIL import Image

    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for quality in default_model().qualities:
        assert any(line.split()[:1] == [str(quality)] for line in out.splitlines())
    picture = next(tmp_path.glob("*.comparison.png"))  # original, ours, JPEG, WebP (tests/cli: the figures)
    assert Image.open(picture).size == (768 * 4 + 8 * 3, 512 + 20)


def test_device_profiles_choose_backend_and_precision_unless_named(photo):
    from edgesdk.runtime.backends import plan_graph
    from edgesdk.runtime.devices import load_profile

    nx = load_profile("jetson-orin-nx-16gb")
    assert plan_graph("generator", None, None, "jetson-orin-nx-16gb") == ("tensorrt", nx.default_precision.generator)
    assert plan_graph("generator", "onnxruntime", None, "jetson-orin-nx-16gb")[0] == "onnxruntime"
    assert plan_graph("compressor", None, "fp32", "jetson-orin-nx-16gb")[1] == "fp32"
    assert plan_graph("compressor", None, None, None) == ("onnxruntime", "fp32")
    with ImageCodec(device="cpu-accessory") as codec:
        assert codec.decode(codec.encode(photo)).shape == photo.shape
    with pytest.raises(edgesdk.DeviceProfileError):
        ImageCodec(device="no-such-device")


def test_shipped_models_fit_the_30_mb_budget():
    from edgesdk.codecs.model import SHIPPED_MODELS

    assert SHIPPED_MODELS.keys() == {"wavelet", "lite"}
    for path in SHIPPED_MODELS.values():
        assert path.stat().st_size <= 30_000_000
