import numpy as np
import pytest

import edgesdk
from edgesdk.bitstream.entropy import CdfTables, pmf_to_quantized_cdf, scale_table
from edgesdk.bitstream.intnet import DepthToSpace, IntConv, IntNetwork, IntNetworkSpec
from edgesdk.codecs.image.entropy_model import HyperpriorEntropyModel

N, M, TABLES = 3, 4, 16


def _model(mean_fraction_bits=4, seed=0) -> HyperpriorEntropyModel:
    rng = np.random.default_rng(seed)
    support = np.arange(-8, 9)
    hyper = CdfTables(
        [pmf_to_quantized_cdf(np.exp(-np.abs(support) / (1 + c)), 1e-6) for c in range(N)], offsets=[-8] * N
    )
    outputs = 2 * M if mean_fraction_bits is not None else M
    spec = IntNetworkSpec(
        input_channels=N,
        input_min=-128,
        input_max=127,
        ops=[
            IntConv(
                weight=rng.integers(-128, 128, (16 * outputs, N, 3, 3), dtype=np.int8),
                bias=rng.integers(-5000, 5000, 16 * outputs, dtype=np.int32),
                multiplier=np.full(16 * outputs, 1 << 20, dtype=np.int32),
                shift=np.full(16 * outputs, 28, dtype=np.uint8),
                out_min=-(2**20),
                out_max=2**20,
            ),
            DepthToSpace(4),
        ],
    )
    return HyperpriorEntropyModel(
        CdfTables(hyper.cdfs, hyper.cdf_lengths, hyper.offsets),
        IntNetwork(spec.to_blob()),
        CdfTables.gaussian(scale_table(0.11, 64, TABLES)),
        latent_channels=M,
        mean_fraction_bits=mean_fraction_bits,
    )


def _latents(rng, h=8, w=12):
    return rng.normal(0, 3, (M, h, w)).astype(np.float32), rng.normal(0, 2, (N, h // 4, w // 4)).astype(np.float32)


@pytest.mark.parametrize("mean_fraction_bits", [4, 0, None])
def test_round_trip_reconstructs_the_encoders_latent(mean_fraction_bits):
    model = _model(mean_fraction_bits)
    rng = np.random.default_rng(1)
    y, z = _latents(rng)
    hyper_data, latent_data = model.encode(y, z)
    y_hat = model.decode(hyper_data, latent_data, y.shape[1:])
    assert y_hat.shape == y.shape and y_hat.dtype == np.float32
    assert np.abs(y_hat - y).max() <= 0.5 + 1e-6
    params = model.parameters(np.rint(z).astype(np.int32))
    assert params.indexes.min() >= 0 and params.indexes.max() < TABLES
    if mean_fraction_bits:
        fractions = params.means * (1 << mean_fraction_bits)
        assert np.array_equal(fractions, np.rint(fractions)) and np.any(params.means != np.rint(params.means))


def test_indexes_are_spread_over_the_tables():
    params = _model().parameters(np.rint(_latents(np.random.default_rng(2))[1]).astype(np.int32))
    assert len(np.unique(params.indexes)) > 2  # the test network exercises clamping and several tables


def test_float_noise_on_the_encoder_never_desynchronises_the_decoder():
    """Perturbing y and z (another backend/precision) changes what is sent, never how it parses."""
    model = _model()
    rng = np.random.default_rng(3)
    y, z = _latents(rng, 16, 16)
    for trial in range(20):
        noisy_y = y + rng.normal(0, 1e-3, y.shape).astype(np.float32)
        noisy_z = z + rng.normal(0, 1e-3, z.shape).astype(np.float32)
        hyper_data, latent_data = model.encode(noisy_y, noisy_z)
        y_hat = model.decode(hyper_data, latent_data, (16, 16))
        params = model.parameters(np.rint(noisy_z).astype(np.int32))
        expected = np.rint(noisy_y - params.means) + params.means
        np.testing.assert_array_equal(y_hat, expected.astype(np.float32))


def test_bad_shapes_and_streams_raise_edgesdk_errors():
    model = _model()
    y, z = _latents(np.random.default_rng(4))
    with pytest.raises(edgesdk.InvalidArgumentError):
        model.encode(y[:, :6], z)
    with pytest.raises(edgesdk.InvalidArgumentError):
        model.encode(y[:M - 1], z)
    hyper_data, latent_data = model.encode(y, z)
    with pytest.raises(edgesdk.BitstreamError):
        model.decode(hyper_data[:-1], latent_data, (8, 12))
    with pytest.raises(edgesdk.BitstreamError):
        model.decode(hyper_data, latent_data + b"\0", (8, 12))
    with pytest.raises(edgesdk.InvalidArgumentError):
        model.decode(hyper_data, latent_data, (6, 12))


def test_mismatched_parts_are_refused():
    model = _model()
    with pytest.raises(edgesdk.InvalidArgumentError):
        HyperpriorEntropyModel(
            CdfTables.gaussian([1.0, 2.0]), model.hyper_synthesis, model.latent_tables, M, 4
        )
