"""``edgesdk import compressai`` against real CompressAI modules (randomly initialised, saved with
what CompressAI computed from them by tools/make_compressai_fixtures.py; compressai itself is
not needed here): parity of the float graphs, every key spelling, the rate of the imported
bundle's streams against CompressAI's own streams of the same image, and the cross-backend
parse of imported bundles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgesdk.codecs.image.codec import ImageCodec  # noqa: E402
from edgesdk.errors import InvalidArgumentError, NotFoundError  # noqa: E402
from edgesdk_export import compressai_import as ci  # noqa: E402
from edgesdk_export.models import ImageCodecModel  # noqa: E402

pytestmark = pytest.mark.torch

FIXTURES = Path(__file__).resolve().parent / "compressai"


def _reference(arch: str) -> dict[str, np.ndarray]:
    """CompressAI's outputs, with its input x: the pixels / 255 in float32, as it was given."""
    ref = dict(np.load(FIXTURES / f"{arch}.reference.npz"))
    ref["x"] = ref["pixels"].transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255.0)
    return ref


def _photo(arch: str) -> np.ndarray:
    return _reference(arch)["pixels"]


@pytest.mark.parametrize("arch", ["bmshj2018-hyperprior", "mbt2018-mean"])
def test_float_graphs_match_compressai(arch):
    ref = _reference(arch)
    state = ci.read_state_dict(FIXTURES / f"{arch}.pth.tar")
    config = ci.config_of(arch, state)
    assert (config.N, config.M) == (8, 12)
    model = ImageCodecModel(config).eval()
    medians = ci.float_weights(arch, state, model)
    np.testing.assert_allclose(medians.numpy(), ref["z_medians"], atol=1e-7)
    with torch.no_grad():
        y = model.g_a(torch.from_numpy(ref["x"]))
        z = model.hyper_analysis(y) + medians.view(1, -1, 1, 1)
        x_hat = model.g_s(torch.from_numpy(ref["y_hat"]))
        scales, means = ci.teacher_parameters(ci.teacher(arch, state), torch.round(z - medians.view(1, -1, 1, 1)),
                                              medians, config.M, config.scale_min)
    assert np.abs(ref["y"]).mean() > 1  # the fixture's latents span many bins
    np.testing.assert_allclose(y.numpy(), ref["y"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(z.numpy(), ref["z"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(x_hat.numpy(), ref["x_hat"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(scales.numpy(), np.maximum(ref["scales"], 0.11), rtol=1e-5, atol=1e-5)
    if arch == "mbt2018-mean":
        np.testing.assert_allclose(means.numpy(), ref["means"], rtol=0, atol=1e-5)


def test_factorized_float_graphs_and_density_match_compressai():
    arch = "bmshj2018-factorized"
    ref = _reference(arch)
    state = ci.read_state_dict(FIXTURES / f"{arch}.pth.tar")
    model = ImageCodecModel(ci.config_of(arch, state)).eval()
    ci.float_weights(arch, state, model)
    net = ci.teacher(arch, state)
    with torch.no_grad():
        y = model.g_a(torch.from_numpy(ref["x"]))
        z = model.hyper_analysis(y)
        x_hat = model.g_s(torch.from_numpy(ref["y_hat"]))
        bits = float(net.bits(y))
    np.testing.assert_allclose(y.numpy(), ref["y"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(x_hat.numpy(), ref["x_hat"], rtol=0, atol=1e-5)
    assert z.shape == (1, 1, 1, 2) and not z.any()  # the constant hyper-latent
    pmfs, _, offset = model.z_tables()
    assert pmfs[0][-offset] > 1 - 1e-6  # ... which costs nothing
    assert bits == pytest.approx(float(ref["float_bits"]), rel=1e-5)  # CompressAI's own density


def test_every_key_spelling_reads_to_the_same_names():
    names = {arch: set(ci.read_state_dict(FIXTURES / f"{arch}.pth.tar")) for arch in ci.ARCHITECTURES}
    for keys in names.values():  # bare, "module." under "state_dict", pre-1.2 "_matrix0" under "model"
        assert "entropy_bottleneck.matrices.0" in keys and "g_a.0.weight" in keys
        assert not any(k.startswith("module.") or "_matrix" in k for k in keys)


# CompressAI's own stream of the fixture image, and ours when this was written (60 steps).
MEASURED_BYTES = {"bmshj2018-hyperprior": (252, 251), "bmshj2018-factorized": (284, 233), "mbt2018-mean": (236, 211)}


@pytest.fixture(scope="module", params=sorted(MEASURED_BYTES))
def imported(request, tmp_path_factory):
    arch = request.param
    out = tmp_path_factory.mktemp("imported") / f"{arch}.edgesdk"
    report = ci.import_compressai(FIXTURES / f"{arch}.pth.tar", arch, out, [_photo(arch)], quality=3, steps=60,
                                  precisions=("fp32",), log=lambda line: None)
    return arch, out, report


@pytest.mark.slow  # the import exports ONNX graphs: about a minute on a busy 2-core machine
def test_imported_streams_cost_about_what_compressai_streams_cost(imported):
    arch, out, report = imported
    ref, photo = _reference(arch), _photo(arch)
    with ImageCodec(out, threads=1) as codec:
        data = codec.encode(photo)
        frame, y_hat = codec.codec(3).decode_latent(data)
        decoded = codec.decode(data)
    coded = sum(len(section.data) for section in frame.sections)
    assert ref["stream_bytes"] == MEASURED_BYTES[arch][0]
    assert 0.7 * ref["stream_bytes"] < coded < 1.1 * ref["stream_bytes"]
    assert report.integer_bits < 1.2 * report.float_bits and report.pixels == photo.shape[0] * photo.shape[1]
    if arch == "bmshj2018-hyperprior":
        np.testing.assert_array_equal(y_hat, np.rint(ref["y"][0]))  # CompressAI's symbols, exactly
    np.testing.assert_allclose(decoded / 255.0, np.clip(ref["x_hat"][0].transpose(1, 2, 0), 0, 1), atol=1 / 255 + 1e-6)


@pytest.mark.slow
def test_imported_bundles_parse_identically_across_backends(imported):
    arch, out, _ = imported
    photo = _photo(arch)
    codecs = {backend: ImageCodec(out, backend=backend, threads=1) for backend in ("onnxruntime", "pytorch")}
    for encoder in codecs.values():
        data = encoder.encode(photo)
        latents = [decoder.codec(3).decode_latent(data)[1] for decoder in codecs.values()]
        np.testing.assert_array_equal(latents[0], latents[1])


def test_bad_inputs_are_typed_errors(tmp_path):
    corrupt = tmp_path / "corrupt.pth.tar"
    corrupt.write_bytes(b"PK\x03\x04 not really a checkpoint")
    with pytest.raises(ci.CheckpointError, match="not a readable PyTorch checkpoint"):
        ci.read_state_dict(corrupt)
    with pytest.raises(NotFoundError):
        ci.read_state_dict(tmp_path / "missing.pth.tar")
    mean_scale = ci.read_state_dict(FIXTURES / "mbt2018-mean.pth.tar")
    with pytest.raises(ci.CheckpointError, match="not a CompressAI bmshj2018-hyperprior"):
        ci.config_of("bmshj2018-hyperprior", {k: v for k, v in mean_scale.items() if not k.startswith("h_a.4")})
    with pytest.raises(ci.CheckpointError, match="another architecture"):
        ci.config_of("mbt2018-mean", ci.read_state_dict(FIXTURES / "bmshj2018-hyperprior.pth.tar"))
    with pytest.raises(ci.CheckpointError, match="another architecture"):
        ci.config_of("bmshj2018-factorized", mean_scale)
    with pytest.raises(InvalidArgumentError, match="must be one of"):
        ci.config_of("cheng2020-anchor", mean_scale)
