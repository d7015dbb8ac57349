"""The wavelet warm-started model (edgesdk_export.wavelet, the ``wavelet`` preset): the lifting
transform, its start as an exact wavelet codec, multi-rate levels, the hyperprior's warm start,
export of each level, and training and learning-curve tools."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgesdk_export import curve, onnx_export, train, wavelet  # noqa: E402
from edgesdk_export.bundle_export import share_identical_files  # noqa: E402
from edgesdk_export.models import WAVELET, ImageCodecModel, macs_per_pixel  # noqa: E402

from tests.codecs.image.test_models_torch import read_log, write_images  # noqa: E402

pytestmark = pytest.mark.torch


def photo_like(size=(64, 96), batch=2, seed=0) -> torch.Tensor:
    """Smooth colour gradients with texture: what the transforms see in photographs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]] / max(size)
    images = []
    for _ in range(batch):
        phase = rng.uniform(0, 6, 3)
        channels = [0.5 + 0.35 * np.sin(5 * xx * (c + 1) + 3 * yy + phase[c]) for c in range(3)]
        images.append(np.stack(channels) + rng.normal(0, 0.03, (3, *size)))
    return torch.tensor(np.clip(images, 0, 1), dtype=torch.float32)


@pytest.mark.parametrize("size", [(16, 16), (64, 96), (128, 48)])
def test_lifting_is_exactly_invertible(size):
    x = torch.rand(2, 3, *size, dtype=torch.float64)
    y = wavelet.pack(x, 4)
    assert y.shape == (2, 3 * 256, size[0] // 16, size[1] // 16)
    torch.testing.assert_close(wavelet.unpack(y, 4), x, rtol=0, atol=1e-12)


def test_high_pass_has_four_vanishing_moments():
    """CDF 9/7 analysis high-pass annihilates cubics away from the borders (a wrong lifting
    constant breaks this)."""
    t = torch.arange(64, dtype=torch.float64)
    cubic = (0.3 + 0.02 * t - 0.001 * t**2 + 1e-5 * t**3).view(1, 1, 1, 64)
    low, high = wavelet.lift_forward(cubic, -1)
    assert high[..., 3:-3].abs().max() < 1e-9
    assert low.abs().max() > 0.1


def test_unit_error_in_any_subband_costs_unit_error_in_pixels():
    """Scaled by the synthesis norms, white noise of variance 1 in any subband's coefficients
    comes out as pixel noise of variance 1 per coefficient (the 9/7 is nearly orthogonal): so
    one quantization step costs the same squared error in every subband."""
    torch.manual_seed(0)
    norms = wavelet.synthesis_norms(4)
    assert norms[0] > norms[1] > norms[4] > norms[7] > norms[10]  # LL4 > level 4 > 3 > 2 > 1
    layout = wavelet._subband_layout(4)
    offset = 0
    for band, (_, factor) in enumerate(layout):
        count = factor * factor
        y = torch.zeros(1, 256, 16, 16, dtype=torch.float64)
        y[:, offset : offset + count] = torch.randn(1, count, 16, 16, dtype=torch.float64) / norms[band]
        pixels = wavelet.unpack(y, 4)
        per_coefficient = float(pixels.square().sum()) / (count * 16 * 16)
        assert 0.85 < per_coefficient < 1.15, (band, per_coefficient)
        offset += count


def test_starts_as_an_exact_wavelet_codec():
    """Residual and post-filter start at zero: g_s(g_a(x)) = x at every rate level, and the
    quantization step is the level's (larger steps: smaller latents)."""
    torch.manual_seed(0)
    model = ImageCodecModel(WAVELET).eval()
    x = photo_like()
    magnitudes = []
    with torch.no_grad():
        for level in range(model.rate_levels):
            model.select_rate_level(level)
            y = model.g_a(x)
            torch.testing.assert_close(model.g_s(y), x, rtol=0, atol=2e-5)
            magnitudes.append(float(y.abs().mean()))
    assert magnitudes == sorted(magnitudes) and magnitudes[-1] > 2 * magnitudes[0]


def test_per_image_rate_levels_match_the_selected_level():
    torch.manual_seed(0)
    model = ImageCodecModel(WAVELET).eval()
    x = photo_like(batch=2)
    with torch.no_grad():
        mixed = model.g_a(x, quality=torch.tensor([0, 3]))
        for index, level in enumerate((0, 3)):
            model.select_rate_level(level)
            torch.testing.assert_close(mixed[index : index + 1], model.g_a(x[index : index + 1]))
    with pytest.raises(ValueError):
        model.select_rate_level(4)


def test_warm_started_hyperprior_carries_information():
    """After initialize_entropy_model, z is not all zero, h_s's table indexes vary over the
    picture, and the rate is below that of the same model with z ignored (a static model)."""
    torch.manual_seed(0)
    x = photo_like(size=(128, 128), batch=4)
    x[:, :, :64] = x[:, :, :64].mean(dim=(2, 3), keepdim=True)  # flat top half, textured bottom
    model = ImageCodecModel(WAVELET)
    model.select_rate_level(2)
    model.initialize_entropy_model(x)
    model.eval()
    with torch.no_grad():
        z_hat = torch.round(model.hyper_analysis(model.g_a(x)))
        index, _ = model.h_s(z_hat)
        warm = float(model(x)["bits"].sum())
        static = ImageCodecModel(WAVELET)
        static.select_rate_level(2)
        static.initialize_entropy_model(x)
        static.h_s.convs[-1].weight.zero_()  # indexes from the per-channel biases alone
        static.eval()
        cold = float(static(x)["bits"].sum())
    assert z_hat.abs().sum() > 0
    level1_luma = index[:, 64:256]
    assert float(level1_luma[:, :, :2].mean()) < float(level1_luma[:, :, 2:].mean())  # flat half: smaller scales
    assert warm < 0.9 * cold


def test_rates_are_of_the_rounded_latents():
    """Wavelet models price what is coded (rounded), in training as in evaluation."""
    torch.manual_seed(0)
    model = ImageCodecModel(WAVELET)
    x = photo_like(size=(64, 128))
    model.initialize_entropy_model(x)
    with torch.no_grad():
        train_bits = model.train()(x)["bits"]
        eval_bits = model.eval()(x)["bits"]
    torch.testing.assert_close(train_bits, eval_bits)


def test_frozen_graphs_match_the_training_modules():
    torch.manual_seed(0)
    model = ImageCodecModel(WAVELET).eval()
    with torch.no_grad():  # make the learned parts non-trivial
        for parameter in (*model.g_a.residual.parameters(), *model.g_s.post_filter.parameters()):
            parameter.add_(0.01 * torch.randn_like(parameter))
    x = photo_like()
    model.select_rate_level(1)
    with torch.no_grad():
        analysis = wavelet.FrozenWaveletAnalysis(model.g_a)
        synthesis = wavelet.FrozenWaveletSynthesis(model.g_s)
        y = model.g_a(x)
        torch.testing.assert_close(analysis(x), y, rtol=1e-5, atol=1e-4)
        torch.testing.assert_close(synthesis(torch.round(y)), model.g_s(torch.round(y)), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_onnx_graphs_match_pytorch():
    torch.manual_seed(0)
    model = ImageCodecModel(WAVELET).eval()
    model.select_rate_level(3)
    x = photo_like(size=(64, 128), batch=1)
    with torch.no_grad():
        y = model.g_a(x)
        x_hat = model.g_s(torch.round(y)).clamp(0, 1)
    compressor = onnx_export.onnxruntime_session(onnx_export.export_graph(model, "compressor", "fp32"))
    y_onnx, z_onnx = compressor.run(None, {"image": x.numpy()})
    np.testing.assert_allclose(y_onnx, y.numpy(), atol=2e-3)
    assert z_onnx.shape == (1, WAVELET.N, 1, 2)
    generator = onnx_export.onnxruntime_session(onnx_export.export_graph(model, "generator", "fp16"))
    (image,) = generator.run(None, {"y_hat": np.round(y.numpy())})
    assert float(np.abs(image - x_hat.numpy()).max()) < 2e-3  # the lifting runs in float32 in fp16 graphs


def test_mac_counts():
    assert macs_per_pixel(WAVELET, "g_s") < 25_000  # the generator's edge budget
    assert 0 < macs_per_pixel(WAVELET, "g_a") < 10_000
    assert macs_per_pixel(WAVELET, "h_s") > 0


def test_identical_files_are_stored_once():
    qualities = {
        str(q): {"graphs": {"generator": {"fp32": {"file": f"q{q}/generator.fp32.onnx"}}},
                 "integer_data": {"hyper_tables": f"q{q}/h.ecdf", "hyper_synthesis": f"q{q}/s.eint",
                                  "latent_tables": f"q{q}/l.ecdf"}}
        for q in (1, 2)
    }
    files = {}
    for q in (1, 2):
        files.update({f"q{q}/generator.fp32.onnx": bytes([q]) * 8, f"q{q}/h.ecdf": b"hyper",
                      f"q{q}/s.eint": b"synthesis", f"q{q}/l.ecdf": b"latent" * q})
    kept = share_identical_files(qualities, files)
    assert set(kept) == {"q1/generator.fp32.onnx", "q2/generator.fp32.onnx", "q1/h.ecdf", "q1/s.eint",
                         "q1/l.ecdf", "q2/l.ecdf"}
    assert qualities["2"]["integer_data"] == {"hyper_tables": "q1/h.ecdf", "hyper_synthesis": "q1/s.eint",
                                              "latent_tables": "q2/l.ecdf"}
    assert qualities["2"]["graphs"]["generator"]["fp32"]["file"] == "q2/generator.fp32.onnx"


def wavelet_args(data, out, steps, *extra):
    return ["--data", str(data), "--out", str(out), "--model", "wavelet", "--steps", str(steps),
            "--batch-size", "2", "--crop", "64", "--lr", "1e-3", "--log-every", "1", "--checkpoint-every", "2",
            "--threads", "1", "--no-progress", *extra]


def test_multi_rate_training_entropy_stage_and_curve(tmp_path, capsys):
    data = write_images(tmp_path / "data", count=5)
    # Rate only, transforms frozen: the step sizes stay where they started.
    out = tmp_path / "entropy"
    assert train.main(wavelet_args(data, out, 4, "--train-only", "entropy", "--entropy-lr-scale", "5",
                                   "--holdout-every", "5")) == 0
    log = read_log(out / "log.jsonl")
    assert all(r["mse"] == 0 and r["loss"] == r["bpp"] > 0 for r in log)
    state = train.load_checkpoint(out / "last.pt")
    assert state["quality"] == [1, 2, 3, 4] and state["lmbda"] == [train.LAMBDAS[q] for q in (1, 2, 3, 4)]
    start = ImageCodecModel(WAVELET).g_a.transform.log_steps
    torch.testing.assert_close(state["model"]["g_a.transform.log_steps"], start)
    run = json.loads((out / "run.json").read_text())
    assert len(run["held_out"]) == 1 and run["images"] == 4
    # Then everything, from that checkpoint: the step sizes move.
    joint = tmp_path / "joint"
    assert train.main(wavelet_args(data, joint, 3, "--init", str(out / "last.pt"))) == 0
    assert not torch.equal(train.load_checkpoint(joint / "last.pt")["model"]["g_a.transform.log_steps"], start)
    # The learning-curve point: every level, rates rising with the level, a BD-rate against WebP.
    capsys.readouterr()
    assert curve.main([str(joint / "last.pt"), "--images", str(data)]) == 0
    record = json.loads(capsys.readouterr().out)
    bpps = [level["bpp"] for level in record["levels"]]
    assert len(bpps) == 4 and bpps == sorted(bpps) and bpps[0] > 0
    assert np.isfinite(record["bd_rate_vs_webp"])


def test_time_budget_stops_and_saves(tmp_path):
    """--max-seconds ends a run long before --steps, with last.pt and a step checkpoint saved
    (the GPU recipe trains by time, tools/train-gpu.sh)."""
    data = write_images(tmp_path / "data", count=3)
    out = tmp_path / "timed"
    args = wavelet_args(data, out, 1_000_000, "--train-only", "entropy", "--max-seconds", "2",
                        "--checkpoint-seconds", "1")
    assert train.main(args) == 0
    step = train.load_checkpoint(out / "last.pt")["step"]
    assert 0 < step < 1_000_000
    assert (out / f"step_{step}.pt").exists()
    assert read_log(out / "log.jsonl")[-1]["step"] == step


def test_slim_checkpoint_continues_a_run(tmp_path):
    from edgesdk_export import slim

    data = write_images(tmp_path / "data", count=3)
    out = tmp_path / "run"
    assert train.main(wavelet_args(data, out, 2, "--train-only", "entropy")) == 0
    small = slim.slim(out / "last.pt", tmp_path / "slim.pt")
    assert small.stat().st_size < 0.4 * (out / "last.pt").stat().st_size
    full = train.load_checkpoint(out / "last.pt")["model"]
    kept = train.load_checkpoint(small)["model"]
    assert set(kept) == set(full)
    torch.testing.assert_close(kept["g_a.transform.log_steps"].float(), full["g_a.transform.log_steps"],
                               rtol=1e-2, atol=0)
    assert train.main(wavelet_args(data, tmp_path / "next", 2, "--init", str(small))) == 0


def test_committed_pilot_checkpoint_codes_a_photograph_as_docs_models_says():
    # export/checkpoints/wavelet.pt is what a later run continues from (docs/models.md): it must
    # load into the wavelet model and keep its rate levels ordered and useful on a real photo.
    from pathlib import Path

    import shared_data
    from PIL import Image

    checkpoint = Path(__file__).resolve().parents[3] / "export" / "checkpoints" / "wavelet.pt"
    model, meta = train.load_model(checkpoint)
    assert meta["config"]["name"] == "wavelet" and meta["step"] > 1000
    image = np.asarray(Image.open(shared_data.require("kodak") / "kodim23.png").convert("RGB"))[128:384, 192:448]
    levels = curve.measure(model, [("kodim23", image)])
    rates, qualities = [p["bpp"] for p in levels], [p["psnr"] for p in levels]
    assert len(levels) == 4 and rates == sorted(rates) and qualities == sorted(qualities)
    # the pilot at step 1300 gave 29.8 dB at 0.52 bpp over Kodak; kodim23 is easier than average
    assert rates[0] < 0.35 and qualities[0] > 32.5, levels  # measured at step 5000: 0.291 bpp, 33.0 dB
