"""Checkpoints → bundle → runtime: the exporter's manifest, its checks, and the bundle decoding
on every backend."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

import edgesdk  # noqa: E402
from edgesdk.cli import main  # noqa: E402
from edgesdk.codecs.image.codec import ImageCodec  # noqa: E402
from edgesdk.codecs.model import CodecModel  # noqa: E402
from edgesdk_export import onnx_export  # noqa: E402
from edgesdk_export.bundle_export import export_bundle  # noqa: E402

pytestmark = pytest.mark.torch


def test_manifest_describes_graphs_integer_data_and_training(bundle_path, small_model):
    model = CodecModel.open(bundle_path)
    manifest = model.manifest
    assert manifest["schema"] == "edgesdk.bundle" and manifest["onnx_opset"] == onnx_export.OPSET
    assert model.qualities == [1, 4]
    entry = manifest["qualities"]["4"]
    assert entry["lambda"] == 0.025 and entry["training"] == {"steps": 40, "seconds": 1.5}
    assert set(entry["graphs"]) == {"compressor", "generator"}
    assert set(entry["graphs"]["compressor"]) == {"fp32", "fp16"}
    assert entry["graphs"]["generator"]["fp16"]["inputs"][0]["shape"] == [1, small_model.config.M,
                                                                          "height/16", "width/16"]
    for graph in ("compressor", "generator"):
        for precision in ("fp32", "fp16"):
            parity = entry["parity"][graph][precision]
            assert parity["psnr_db"] >= onnx_export.PARITY_BOUNDS[precision]["min_psnr_db"]
    for name in manifest["files"]:
        assert name.startswith(("q1/", "q4/"))
    # Same weights at two qualities, but the quality is part of the identity.
    assert model.model_id(1) != model.model_id(4)


def test_bundle_codes_images_on_every_backend_and_parses_identically(bundle_path, textured_image):
    model = CodecModel.open(bundle_path)
    codecs = [ImageCodec(model, quality=4, backend=b, precision=p)
              for b, p in (("onnxruntime", "fp32"), ("onnxruntime", "fp16"), ("pytorch", "fp32"))]
    for encoder in codecs:
        data = encoder.encode(textured_image)
        latents = [decoder.codec(4).decode_latent(data)[1] for decoder in codecs]
        for latent in latents[1:]:
            np.testing.assert_array_equal(latent, latents[0])
        assert codecs[0].decode(data).shape == textured_image.shape


def test_the_integer_path_in_the_bundle_is_the_models(bundle_path, small_model, textured_image):
    from edgesdk_export.codec import torch_codec

    model = CodecModel.open(bundle_path)
    reference = torch_codec(small_model, quality=1, model_id=model.model_id(1))
    data = reference.encode(textured_image)
    np.testing.assert_array_equal(ImageCodec(model, quality=1).codec().decode_latent(data)[1],
                                  reference.decode_latent(data)[1])


def test_export_fails_with_numbers_when_parity_is_out_of_bounds(checkpoints, textured_image, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setitem(onnx_export.PARITY_BOUNDS, "fp16", {"min_psnr_db": 500.0,
                                                             "max_abs_error": {"compressor": 0, "generator": 0}})
    with pytest.raises(onnx_export.ExportError, match=r"fp16: ONNX Runtime differs .* PSNR"):
        export_bundle(checkpoints[:1], tmp_path / "x.edgesdk", parity_image=textured_image, log=lambda line: None)
    assert not (tmp_path / "x.edgesdk").exists()


def test_export_refuses_mixed_configurations_and_duplicate_qualities(checkpoints, small_model, tmp_path,
                                                                    make_checkpoint):
    from edgesdk_export.models import ImageCodecModel

    other = ImageCodecModel(small_model.config.replace(M=24))
    mixed = make_checkpoint(other, tmp_path / "other.pt", 2, 0.0067)
    with pytest.raises(edgesdk.InvalidArgumentError, match="another model configuration"):
        export_bundle([checkpoints[0], mixed], tmp_path / "a.edgesdk", log=lambda line: None)
    with pytest.raises(edgesdk.InvalidArgumentError, match="two checkpoints are quality 1"):
        export_bundle([checkpoints[0], checkpoints[0]], tmp_path / "b.edgesdk", log=lambda line: None)


def test_cli_export_writes_a_verifiable_bundle(checkpoints, tmp_path, capsys):
    out = tmp_path / "cli.edgesdk"
    assert main(["export", str(checkpoints[0]), "--out", str(out), "--precisions", "fp32"]) == 0
    model = CodecModel.open(out)
    assert model.precisions(1, "generator") == ["fp32"]
    assert model.describe()["qualities"][1]["training"]["steps"] == 10
    assert "wrote" in capsys.readouterr().out
