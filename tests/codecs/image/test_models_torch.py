"""Image codec models (edgesdk_export.models) and their training CLI (edgesdk_export.train)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgesdk.bitstream.entropy import CdfTables, pmf_to_quantized_cdf  # noqa: E402
from edgesdk_export import models, train  # noqa: E402
from edgesdk_export.models import (  # noqa: E402
    GDN,
    LITE,
    QUALITY,
    CodecConfig,
    ImageCodecModel,
    macs_per_pixel,
    pad_to_multiple,
    unpad,
)

pytestmark = pytest.mark.torch

TINY = dict(N=8, M=8, widths=[8, 8, 8], kernels=[3, 3, 3, 3], gdn="simplified", hyper_kernels=[3, 3, 3],
            hyper_hidden=8)


def tiny_config(**changes) -> CodecConfig:
    return CodecConfig.from_dict({"name": "tiny", **TINY, **changes})


# --- Shapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [LITE, QUALITY], ids=lambda c: c.name)
@pytest.mark.parametrize("size", [(64, 64), (128, 192), (192, 64)])
def test_shapes(config, size):
    torch.manual_seed(0)
    model = ImageCodecModel(config)
    x = torch.rand(2, 3, *size)
    height, width = size
    latent = (2, config.M, height // 16, width // 16)
    hyper = (2, config.N, height // 64, width // 64)
    for training in (True, False):
        model.train(training)
        with torch.no_grad():
            out = model(x)
        assert out["x_hat"].shape == x.shape
        assert out["likelihoods_y"].shape == latent
        assert out["likelihoods_z"].shape == hyper
        for key in ("likelihoods_y", "likelihoods_z"):
            assert bool(((out[key] > 0) & (out[key] <= 1)).all())
        assert out["bpp"].dim() == 0 and 0 < float(out["bpp"]) < 64
    parts = model.eval().compress_parts(x)
    assert parts.y.shape == latent and parts.y.dtype == torch.float32
    assert parts.z_hat.shape == hyper and parts.z_hat.dtype == torch.int32
    x_hat = model.decompress_parts(torch.round(parts.y))
    assert x_hat.shape == x.shape and float(x_hat.min()) >= 0 and float(x_hat.max()) <= 1


def test_generator_takes_any_latent_size():
    model = ImageCodecModel(LITE).eval()
    assert model.decompress_parts(torch.zeros(1, LITE.M, 3, 5)).shape == (1, 3, 48, 80)


def test_sizes_must_be_multiples_of_64():
    model = ImageCodecModel(tiny_config())
    with pytest.raises(ValueError, match="multiples of 64"):
        model(torch.rand(1, 3, 64, 96))


def test_pad_to_multiple_round_trip():
    x = torch.rand(1, 3, 70, 130)
    padded, padding = pad_to_multiple(x, 64)
    assert padded.shape == (1, 3, 128, 192) and padding == (58, 62)
    assert torch.equal(unpad(padded, padding), x)
    assert torch.equal(padded[..., 69:, :130], x[..., 69:70, :].expand(-1, -1, 59, -1))  # edge replicated
    same, none = pad_to_multiple(torch.rand(1, 3, 64, 128))
    assert none == (0, 0) and same.shape == (1, 3, 64, 128)


def test_gdn_values():
    x = torch.randn(2, 4, 5, 5)
    gdn = GDN(4)
    beta = gdn.beta_root.square() + gdn._BETA_MIN
    gamma = gdn.gamma_root.square()
    expected = x / torch.sqrt(beta.view(1, -1, 1, 1) + torch.einsum("oi,nihw->nohw", gamma, x * x))
    torch.testing.assert_close(gdn(x), expected)
    torch.testing.assert_close(GDN(4, inverse=True)(x), x * x / expected)
    simplified = GDN(4, simplified=True)
    expected = x / (beta.view(1, -1, 1, 1) + torch.einsum("oi,nihw->nohw", gamma, x.abs()))
    torch.testing.assert_close(simplified(x), expected)


# --- Cost -------------------------------------------------------------------------------------


def test_macs_per_pixel():
    for part in models.MAC_PARTS:
        assert 0 < macs_per_pixel(LITE, part) < macs_per_pixel(QUALITY, part)
    # The real-time budget of the lite model (docstring of LITE).
    assert macs_per_pixel(LITE, "g_a") + macs_per_pixel(LITE, "h_a") <= 20_000
    assert macs_per_pixel(LITE, "g_s") <= 20_000
    assert macs_per_pixel(LITE, "all") == pytest.approx(
        sum(macs_per_pixel(LITE, p) for p in ("g_a", "h_a", "h_s", "g_s")))
    with pytest.raises(ValueError):
        macs_per_pixel(LITE, "nope")


@pytest.mark.parametrize("config", [LITE, QUALITY], ids=lambda c: c.name)
def test_macs_match_a_count_of_the_executed_layers(config):
    """The analytic count equals products counted by hooks while the float transforms run."""
    model = ImageCodecModel(config).eval()
    counts = {"g_a": 0, "h_a": 0, "g_s": 0}

    def hook(part):
        def count(module, inputs, output):
            if isinstance(module, torch.nn.Conv2d):
                k = module.kernel_size[0] * module.kernel_size[1]
                counts[part] += output[0].numel() * module.in_channels * k
            elif isinstance(module, torch.nn.ConvTranspose2d):
                k = module.kernel_size[0] * module.kernel_size[1]
                counts[part] += inputs[0][0].numel() * module.out_channels * k
            elif isinstance(module, GDN):
                counts[part] += inputs[0][0].numel() * module.channels
        return count

    for part in counts:
        for module in getattr(model, part):
            module.register_forward_hook(hook(part))
    size = 256
    with torch.no_grad():
        y = model.g_a(torch.rand(1, 3, size, size))
        model.h_a(y)
        model.g_s(y)
    for part, count in counts.items():
        assert count / size**2 == pytest.approx(macs_per_pixel(config, part)), part


# --- Entropy models ---------------------------------------------------------------------------


def test_z_tables_build_integer_cdfs_and_code_z():
    torch.manual_seed(1)
    model = ImageCodecModel(tiny_config(z_bound=16))
    pmfs, tails, offset = model.z_tables()
    assert pmfs.shape == (8, 33) and pmfs.dtype == np.float64 and tails.shape == (8,) and offset == -16
    assert (pmfs >= 0).all() and (tails >= model.config.z_tail_mass).all()
    np.testing.assert_allclose(pmfs.sum(axis=1) + tails, 1.0, atol=1e-9)
    for pmf, tail in zip(pmfs, tails):
        cdf = pmf_to_quantized_cdf(pmf, tail)
        assert len(cdf) == len(pmf) + 2 and cdf[0] == 0 and cdf[-1] == 2**16 and (np.diff(cdf) > 0).all()
    # The model's own ẑ (escapes included) round-trips through tables made this way.
    tables = CdfTables.from_pmfs(list(pmfs), [offset] * len(pmfs), list(tails))
    z_hat = model.eval().compress_parts(torch.rand(2, 3, 128, 128) * 4).z_hat.numpy()
    z_hat[0, 0, 0, 0] = 1000
    indexes = np.broadcast_to(np.arange(8, dtype=np.int32).reshape(1, 8, 1, 1), z_hat.shape)
    data = tables.encode(z_hat, indexes)
    np.testing.assert_array_equal(tables.decode(data, indexes), z_hat)


def test_z_likelihood_matches_the_tables():
    torch.manual_seed(2)
    model = ImageCodecModel(tiny_config(z_bound=8))
    pmfs, _, offset = model.z_tables()
    values = torch.arange(-8, 9, dtype=torch.float32).view(1, 1, 1, -1).expand(1, 8, 1, -1)
    likelihood = model.z_prior.likelihood(values).detach().double().numpy()[0, :, 0, :]
    np.testing.assert_allclose(likelihood, pmfs, rtol=1e-4, atol=1e-7)


def test_gaussian_conditional_uses_table_scales_with_a_gradient():
    prior = ImageCodecModel(tiny_config()).y_prior
    table = torch.tensor(LITE.scale_table(), dtype=torch.float32)
    index = torch.tensor([0.0, 5.0, 63.0], requires_grad=True)
    scale = prior.scale(index)
    torch.testing.assert_close(scale, table[[0, 5, 63]])
    scale.sum().backward()
    assert bool((index.grad > 0).all())
    # Unit-bin probabilities of a Gaussian: symmetric in the mean, and summing to ~1.
    values = torch.arange(-60, 61, dtype=torch.float32)
    p = prior.likelihood(values + 0.3, torch.full_like(values, 30.0), torch.full_like(values, 0.3))
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-4)
    torch.testing.assert_close(p, p.flip(0))


def test_training_indexes_are_the_integer_networks():
    """In float64 the rate model sees exactly the indexes and means the exported network computes."""
    torch.manual_seed(3)
    model = ImageCodecModel(tiny_config()).double()
    x = torch.rand(2, 3, 128, 128, dtype=torch.float64)
    model.train()
    with torch.no_grad():
        model(x)  # calibrates h_s's activation scales
    model.eval()
    with torch.no_grad():
        z_hat = model.compress_parts(x).z_hat
        index, mean = model.h_s(z_hat.double())
    spec = model.h_s.to_integer()
    int_index, int_mean = model.h_s.integer_outputs(spec, z_hat)
    assert torch.equal(index.long(), int_index)
    assert torch.equal(mean, int_mean.double() / 2**model.config.mean_fraction_bits)


# --- Training CLI -----------------------------------------------------------------------------


def write_images(folder, count=4, size=96, seed=0):
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(count):
        phase = rng.uniform(0, 6, 3)
        channels = [0.5 + 0.4 * np.sin(6 * xx * (c + 1) + 4 * yy + phase[c]) for c in range(3)]
        image = np.stack(channels, axis=-1) + rng.normal(0, 0.02, (size, size, 3))
        Image.fromarray((image.clip(0, 1) * 255).astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def tiny_args(data, out, steps, *extra):
    return ["--data", str(data), "--out", str(out), "--config", json.dumps(TINY), "--steps", str(steps),
            "--batch-size", "2", "--crop", "64", "--lr", "2e-3", "--log-every", "1", "--checkpoint-every", "5",
            "--keep-every", "10", "--threads", "1", "--no-progress", "--quality", "3", *extra]


def test_training_runs_logs_checkpoints_and_resumes(tmp_path):
    data = write_images(tmp_path / "data")
    out = tmp_path / "run"
    assert train.main(tiny_args(data, out, 20)) == 0
    log = read_log(out / "log.jsonl")
    assert [r["step"] for r in log] == list(range(1, 21))
    for record in log:
        assert {"step", "elapsed_s", "time", "loss", "bpp", "mse", "psnr", "lr", "steps_per_s"} <= set(record)
        assert np.isfinite(record["loss"]) and record["bpp"] > 0
    losses = [r["loss"] for r in log]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert {p.name for p in out.glob("*.pt")} == {"last.pt", "step_10.pt", "step_20.pt"}
    assert json.loads((out / "run.json").read_text())["config"]["M"] == 8

    # Without --resume an existing run is not overwritten.
    with pytest.raises(SystemExit, match="--resume"):
        train.main(tiny_args(data, out, 30))
    assert train.main(tiny_args(data, out, 30, "--resume")) == 0
    log = read_log(out / "log.jsonl")
    assert [r["step"] for r in log] == list(range(1, 31))
    assert log[20]["elapsed_s"] > log[19]["elapsed_s"]
    model, meta = train.load_model(out / "last.pt")
    assert meta["step"] == 30 and meta["lmbda"] == train.LAMBDAS[3]
    assert model.config == CodecConfig.from_dict({**LITE.to_dict(), **TINY}) and not model.training
    # Another model shape cannot resume this run.
    with pytest.raises(SystemExit, match="configuration differs"):
        train.main([*tiny_args(data, out, 40, "--resume"), "--config", json.dumps({**TINY, "M": 16})])


def test_resume_continues_the_same_run(tmp_path):
    """Interrupted at step 4 and resumed = trained straight through (same data, noise, weights)."""
    data = write_images(tmp_path / "data", count=3)
    train.main(tiny_args(data, tmp_path / "straight", 8))
    train.main(tiny_args(data, tmp_path / "resumed", 4))
    train.main(tiny_args(data, tmp_path / "resumed", 8, "--resume"))
    straight = train.load_checkpoint(tmp_path / "straight" / "last.pt")["model"]
    resumed = train.load_checkpoint(tmp_path / "resumed" / "last.pt")["model"]
    for name, value in straight.items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=0, msg=name)


def test_refuses_kodak(tmp_path):
    kodak = write_images(tmp_path / "Kodak", count=1)
    with pytest.raises(SystemExit, match="Kodak"):
        train.main(tiny_args(kodak, tmp_path / "out", 2))
    # Also when Kodak hides in a sub-folder of --data.
    parent = tmp_path / "data"
    write_images(parent / "photos", count=1)
    write_images(parent / "kodak24", count=1)
    with pytest.raises(SystemExit, match="Kodak"):
        train.main(tiny_args(parent, tmp_path / "out", 2))
    assert not (tmp_path / "out").exists()


def test_quality_table():
    assert len(train.LAMBDAS) == 8 and list(train.LAMBDAS) == sorted(train.LAMBDAS)
    with pytest.raises(SystemExit):
        train.parse_args(["--out", "x", "--quality", "8"])
    with pytest.raises(SystemExit):
        train.parse_args(["--out", "x", "--crop", "100"])
