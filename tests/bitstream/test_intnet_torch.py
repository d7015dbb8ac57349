"""EINT integer networks on the PyTorch side: blob, validation, exact simulation, QAT module."""

from __future__ import annotations

import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgesdk.bitstream import intnet  # noqa: E402
from edgesdk.bitstream.intnet import DepthToSpace, IntConv, IntNetworkSpec  # noqa: E402
from edgesdk_export.intnet import QuantizedHyperSynthesis, requant_parameters, simulate  # noqa: E402

pytestmark = pytest.mark.torch

# --- Helpers ----------------------------------------------------------------------------------


def conv(in_channels, out_channels, kernel=3, *, rng=None, relu=False, out_min=-128, out_max=127):
    rng = rng or np.random.default_rng(0)
    return IntConv(
        weight=rng.integers(-128, 128, (out_channels, in_channels, kernel, kernel)).astype(np.int8),
        bias=np.zeros(out_channels, dtype=np.int32),
        multiplier=np.full(out_channels, 1 << 20, dtype=np.int32),
        shift=np.full(out_channels, 24, dtype=np.uint8),
        relu=relu,
        out_min=out_min,
        out_max=out_max,
    )


def random_conv(rng, in_channels, out_channels, kernel, final):
    """A conv with varied but mostly unsaturated requantization, clamps and bias magnitudes."""
    op = conv(in_channels, out_channels, kernel, rng=rng, relu=bool(rng.random() < 0.5))
    limit = intnet.INT32_MAX - in_channels * kernel * kernel * 128 * 128
    magnitude = min(limit, 2 ** int(rng.integers(0, 22)))
    op.bias = rng.integers(-magnitude, magnitude + 1, out_channels).astype(np.int32)
    if rng.random() < 0.1:
        op.bias[0] = limit * (1 if rng.random() < 0.5 else -1)  # the accumulator bound, exactly
    # Aim the output at ~2^target: shift ≈ log2(multiplier · typical |acc|) − target.
    bits = rng.integers(1, 32, out_channels)
    op.multiplier = np.minimum(rng.integers(1 << (bits - 1), 1 << bits), intnet.INT32_MAX).astype(np.int32)
    target = 4 if not final else int(rng.integers(4, 20))
    typical = np.log2(64.0 * 64.0 * np.sqrt(in_channels * kernel * kernel) + magnitude)
    op.shift = np.clip(np.round(bits + typical - target + rng.normal(0, 2, out_channels)), 0, 62).astype(np.uint8)
    extremes = rng.random(out_channels) < 0.1
    op.multiplier[extremes] = rng.choice([0, 1, intnet.INT32_MAX], extremes.sum())
    op.shift[rng.random(out_channels) < 0.05] = 0
    op.shift[rng.random(out_channels) < 0.05] = 62
    if final:
        clamps = [(intnet.INT32_MIN, intnet.INT32_MAX), (-(2**20), 2**20), (0, 63)]
        op.out_min, op.out_max = clamps[int(rng.integers(0, 3))]
    else:
        low = int(rng.integers(-128, 100))
        op.out_min, op.out_max = low, int(rng.integers(low, 128))
        if op.relu and rng.random() < 0.3:
            op.out_min = -128  # ReLU makes the negative part of the clamp unreachable
    return op


def random_spec(rng, kernel=None, block=None):
    """Conv stages, each optionally followed by DEPTH_TO_SPACE; sometimes one on the input first."""
    channels = int(rng.integers(1, 4))
    ops: list = []
    input_channels = channels
    if rng.random() < 0.2:
        b = block or int(rng.choice([2, 3]))
        input_channels = channels * b * b
        ops.append(DepthToSpace(b))
    low = int(rng.integers(-128, 0))
    stages = int(rng.integers(1, 4))
    for stage in range(stages):
        k = kernel if kernel and stage == 0 else int(rng.choice([1, 3, 5, 7]))
        b = (block or int(rng.choice([2, 3]))) if rng.random() < 0.5 or (block and stage == 0) else 1
        out = int(rng.integers(1, 4))
        ops.append(random_conv(rng, channels, out * b * b, k, final=stage == stages - 1))
        if b > 1:
            ops.append(DepthToSpace(b))
        channels = out
    spec = IntNetworkSpec(input_channels, low, int(rng.integers(low, 128)), ops)
    spec.validate()
    return spec


def random_input(rng, spec, batch=None, size=None):
    h, w = size or (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    shape = (spec.input_channels, h, w) if batch is None else (batch, spec.input_channels, h, w)
    x = rng.integers(-300, 300, shape)
    x.flat[rng.integers(0, x.size, 2)] = [intnet.INT32_MIN, intnet.INT32_MAX]  # input clamp at the extremes
    return x.astype(np.int32)


def reference(spec: IntNetworkSpec, image: np.ndarray) -> np.ndarray:
    """Spec semantics written out directly: one image [C, H, W], Python integers for requant."""
    v = np.clip(image.astype(np.int64), spec.input_min, spec.input_max)
    for op in spec.ops:
        c, h, w = v.shape
        if isinstance(op, DepthToSpace):
            b = op.block
            out = np.zeros((c // (b * b), h * b, w * b), dtype=np.int64)
            for ch in range(c // (b * b)):
                for i in range(b):
                    for j in range(b):
                        for y in range(h):
                            for x in range(w):
                                out[ch, y * b + i, x * b + j] = v[ch * b * b + i * b + j, y, x]
            v = out
            continue
        k, pad = op.kernel, op.kernel // 2
        padded = np.zeros((c, h + 2 * pad, w + 2 * pad), dtype=np.int64)
        padded[:, pad : pad + h, pad : pad + w] = v
        weight = op.weight.astype(np.int64)
        out = np.zeros((op.out_channels, h, w), dtype=np.int64)
        for o in range(op.out_channels):
            multiplier, shift = int(op.multiplier[o]), int(op.shift[o])
            rounding = 1 << (shift - 1) if shift > 0 else 0
            for y in range(h):
                for x in range(w):
                    acc = int(op.bias[o]) + int((weight[o] * padded[:, y : y + k, x : x + k]).sum())
                    assert -(2**31) <= acc < 2**31
                    value = (acc * multiplier + rounding) >> shift  # Python >> floors
                    if op.relu:
                        value = max(value, 0)
                    out[o, y, x] = min(max(value, op.out_min), op.out_max)
        v = out
    return v


def reseal(body: bytes) -> bytes:
    return body + struct.pack("<I", intnet.crc32c(body))


def small_spec() -> IntNetworkSpec:
    return IntNetworkSpec(
        4, -10, 20,
        [
            conv(4, 12, 3, relu=True, out_min=0, out_max=127),
            DepthToSpace(2),
            conv(3, 2, 1, out_min=-(2**20), out_max=2**20),
        ],
    )


# --- CRC and blob -----------------------------------------------------------------------------


def test_crc32c_check_value():
    assert intnet.crc32c(b"123456789") == 0xE3069283


def test_blob_layout_is_byte_exact():
    op = IntConv(
        weight=np.array([[[[1, -2, 3], [4, 5, -6], [7, 8, -128]]]], dtype=np.int8),  # 9 bytes → 3 padding
        bias=np.array([-5], dtype=np.int32),
        multiplier=np.array([0x12345678], dtype=np.int32),
        shift=np.array([7], dtype=np.uint8),
        relu=True,
        out_min=-3,
        out_max=100,
    )
    spec = IntNetworkSpec(1, -128, 127, [op])
    expected = (
        b"EINT\x01\x00\x00\x00"
        + struct.pack("<IiiI", 1, -128, 127, 1)
        + b"\x01\x00\x00\x00" + struct.pack("<II", 1, 1) + b"\x03\x01\x00\x00" + struct.pack("<ii", -3, 100)
        + bytes([1, 0xFE, 3, 4, 5, 0xFA, 7, 8, 0x80, 0, 0, 0])
        + struct.pack("<ii", -5, 0x12345678) + b"\x07\x00\x00\x00"
    )
    assert spec.to_blob() == reseal(expected)
    d2s = IntNetworkSpec(4, 0, 1, [DepthToSpace(2)])
    expected = b"EINT\x01\x00\x00\x00" + struct.pack("<IiiI", 4, 0, 1, 1) + b"\x02\x00\x00\x00" + struct.pack("<I", 2)
    assert d2s.to_blob() == reseal(expected)


def test_blob_round_trip():
    rng = np.random.default_rng(2)
    for spec in [small_spec(), IntNetworkSpec(3, -1, 1, [])] + [random_spec(rng) for _ in range(20)]:
        blob = spec.to_blob()
        assert len(blob) % 4 == 0
        back = IntNetworkSpec.from_blob(blob)
        assert back.to_blob() == blob
        header = (spec.input_channels, spec.input_min, spec.input_max)
        assert (back.input_channels, back.input_min, back.input_max) == header
        for a, b in zip(back.ops, spec.ops, strict=True):
            assert type(a) is type(b)
            if isinstance(a, IntConv):
                for name in ("weight", "bias", "multiplier", "shift"):
                    np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
                assert (a.relu, a.out_min, a.out_max) == (b.relu, b.out_min, b.out_max)
            else:
                assert a.block == b.block


def _damage(blob: bytes, offset: int, value: int) -> bytes:
    body = bytearray(blob[:-4])
    body[offset] = value
    return reseal(bytes(body))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda b: b"EINX" + b[4:], "not an EINT blob"),
        (lambda b: b[:4], "not an EINT blob"),
        (lambda b: _damage(b, 4, 2), "version 2"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "CRC32C"),
        (lambda b: b[:40] + b[41:], "CRC32C"),
        (lambda b: _damage(b, 6, 1), "header: reserved"),
        # Op 0 at offset 24: kind, 3 reserved, in, out, kernel (36), relu (37), 2 reserved (38).
        (lambda b: _damage(b, 25, 1), r"op 0 \(CONV\): reserved"),
        (lambda b: _damage(b, 38, 1), r"op 0 \(CONV\): reserved"),
        (lambda b: _damage(b, 37, 2), "relu flag 2"),
        (lambda b: _damage(b, 24, 9), "op 0: unknown op kind 9"),
        (lambda b: reseal(b[:-4][:100]), "truncated"),
        (lambda b: reseal(b[:-4] + b"\x00\x00\x00\x00"), "unexpected bytes"),
        (lambda b: _damage(b, 20, 65), "65 ops"),
    ],
)
def test_from_blob_rejects_damage(make, message):
    blob = small_spec().to_blob()
    with pytest.raises(ValueError, match=message):
        IntNetworkSpec.from_blob(make(blob))


def test_from_blob_rejects_nonzero_padding():
    # One 3×3 single-channel conv: 9 weight bytes then 3 padding bytes, 1 shift byte then 3.
    spec = IntNetworkSpec(1, 0, 1, [conv(1, 1, 3)])
    blob = spec.to_blob()
    weight_padding = 8 + 16 + 4 + 20 + 9
    with pytest.raises(ValueError, match="weight padding"):
        IntNetworkSpec.from_blob(_damage(blob, weight_padding, 1))
    with pytest.raises(ValueError, match="shift padding"):
        IntNetworkSpec.from_blob(_damage(blob, len(blob) - 4 - 1, 1))


# --- validate() -------------------------------------------------------------------------------


def _set(op_index, **fields):
    def mutate(spec):
        for name, value in fields.items():
            setattr(spec.ops[op_index], name, value)
    return mutate


def _replace(op_index, op):
    def mutate(spec):
        spec.ops[op_index] = op
    return mutate


def _become(input_channels, ops):
    def mutate(spec):
        spec.input_channels, spec.ops = input_channels, ops
    return mutate


INVALID = [
    # (mutation of small_spec(), message fragment, whether the fault survives encoding so that
    # the C++ loader must refuse the blob too). Every message names where it failed.
    (lambda s: setattr(s, "input_channels", 0), "header: input channels 0", True),
    (lambda s: setattr(s, "input_min", 30), r"header: input clamp \[30, 20\] is empty", True),
    (lambda s: setattr(s, "input_max", 2**31), "header: input_max", False),
    (lambda s: s.ops.extend([conv(2, 2, 1, out_min=0, out_max=1)] * 63), "header: 66 ops", True),
    (_replace(0, conv(4, 12, 2)), r"op 0 \(CONV\): kernel 2", True),
    (_replace(0, conv(4, 12, 9)), r"op 0 \(CONV\): kernel 9", True),
    (_set(0, weight=np.zeros((12, 4, 3, 1), dtype=np.int8)), r"op 0 \(CONV\): kernel 3×1", False),
    (_set(0, weight=np.full((12, 4, 3, 3), 128, dtype=np.int16)), r"op 0 \(CONV\): weight values", False),
    (_set(0, weight=np.zeros((12, 4, 3, 3), dtype=np.float32)), r"op 0 \(CONV\): weight must hold integers", False),
    (_replace(0, conv(5, 12, 3)), r"op 0 \(CONV\): expects 5 input channels, gets 4", True),
    (_become(4, [conv(4, 4097, 1)]), r"op 0 \(CONV\): output channels 4097", True),
    (_set(0, bias=np.zeros(11, dtype=np.int32)), r"op 0 \(CONV\): bias has shape", False),
    (_set(0, multiplier=np.full(12, -1)), r"op 0 \(CONV\): multiplier values", True),
    (_set(0, multiplier=np.full(12, 2**31)), r"op 0 \(CONV\): multiplier values", False),
    (_set(0, shift=np.full(12, 63)), r"op 0 \(CONV\): shift values", True),
    (_set(2, out_min=5, out_max=4), r"op 2 \(CONV\): output clamp \[5, 4\] is empty", True),
    (_set(2, relu=1), r"op 2 \(CONV\): relu must be a bool", False),
    # Conv inputs must provably lie in int8: the network input clamp, then each conv's clamp.
    (lambda s: setattr(s, "input_min", -129), r"op 0 \(CONV\): input range \[-129, 20\]", True),
    (_set(0, out_max=128), r"op 2 \(CONV\): input range \[0, 128\]", True),
    (_set(0, relu=False, out_min=-129), r"op 2 \(CONV\): input range \[-129, 127\]", True),
    # ReLU then clamp with a negative out_max outputs out_max everywhere.
    (_set(0, out_min=-1000, out_max=-500), r"op 2 \(CONV\): input range \[-500, -500\]", True),
    # in_channels · k² · 128 · 128 + max|bias| < 2^31.
    (_set(0, bias=np.array([0] * 11 + [2**31 - 4 * 9 * 128 * 128])), r"op 0 \(CONV\): int32 accumulator", True),
    (_set(0, bias=np.array([0] * 11 + [-(2**31)])), r"op 0 \(CONV\): int32 accumulator", True),
    (_become(4096, [conv(4096, 1, 7)]), r"op 0 \(CONV\): int32 accumulator", True),
    (_replace(1, DepthToSpace(1)), r"op 1 \(DEPTH_TO_SPACE\): block 1", True),
    (_replace(1, DepthToSpace(5)), r"op 1 \(DEPTH_TO_SPACE\): block 5", True),
    (_replace(1, DepthToSpace(3)), r"op 1 \(DEPTH_TO_SPACE\): 12 channels not divisible by block² = 9", True),
    (_replace(1, "relu"), "op 1: unknown op type", False),
]


@pytest.mark.parametrize("mutate, message, cpp_refuses", INVALID)
def test_validate_rejects(mutate, message, cpp_refuses):
    spec = small_spec()
    spec.validate()
    mutate(spec)
    with pytest.raises(ValueError, match=message):
        spec.validate()
    with pytest.raises(ValueError, match=message):
        spec.to_blob()


def test_validate_accepts_the_edges():
    # ReLU makes a negative out_min harmless; the bound holds with equality minus one; 64 ops.
    spec = small_spec()
    spec.ops[0].out_min = -128
    spec.ops[0].bias[0] = 2**31 - 1 - 4 * 9 * 128 * 128
    spec.ops[2].out_min, spec.ops[2].out_max = intnet.INT32_MIN, intnet.INT32_MAX
    spec.validate()
    long = IntNetworkSpec(2, -128, 127, [conv(2, 2, 1)] * 64)
    assert IntNetworkSpec.from_blob(long.to_blob()).output_channels() == 2


# --- simulate() -------------------------------------------------------------------------------


def test_simulate_matches_reference_on_random_specs():
    rng = np.random.default_rng(3)
    seen_kernels, seen_blocks, nonsaturated = set(), set(), 0
    for case in range(48):
        spec = random_spec(rng, kernel=[1, 3, 5, 7][case % 4], block=[2, 3][case % 2])
        seen_kernels |= {op.kernel for op in spec.ops if isinstance(op, IntConv)}
        seen_blocks |= {op.block for op in spec.ops if isinstance(op, DepthToSpace)}
        x = random_input(rng, spec, batch=2)
        got = simulate(spec, torch.from_numpy(x))
        assert got.dtype == torch.int64
        expected = np.stack([reference(spec, image) for image in x])
        np.testing.assert_array_equal(got.numpy(), expected, err_msg=f"case {case}")
        # Unbatched input gives the same result, rank 3.
        np.testing.assert_array_equal(simulate(spec, x[1]).numpy(), expected[1])
        last = [op for op in spec.ops if isinstance(op, IntConv)][-1]
        nonsaturated += int(((expected > last.out_min) & (expected < last.out_max)).mean() > 0.5)
    assert seen_kernels == {1, 3, 5, 7} and seen_blocks == {2, 3}
    assert nonsaturated > 20  # the random requantization exercises real values, not only clamps


def test_simulate_requant_rounds_half_up_and_floors_negatives():
    # 1×1 conv, weight 1: out = floor((x · m + 2^(s-1)) / 2^s).
    op = IntConv(np.ones((1, 1, 1, 1), np.int8), [0], [3], [2], out_min=-100, out_max=100)
    spec = IntNetworkSpec(1, -128, 127, [op])
    x = torch.tensor([-3, -2, -1, 0, 1, 2, 3], dtype=torch.int32).view(1, 1, 7)
    # x·3/4 = -2.25 -1.5 -0.75 0 0.75 1.5 2.25 → half up: -2 -1 -1 0 1 2 2
    assert simulate(spec, x).flatten().tolist() == [-2, -1, -1, 0, 1, 2, 2]
    op.shift[:] = 0
    assert simulate(spec, x).flatten().tolist() == [-9, -6, -3, 0, 3, 6, 9]


def test_simulate_rejects_bad_inputs():
    spec = small_spec()
    with pytest.raises(TypeError):
        simulate(spec, torch.zeros(4, 2, 2))
    with pytest.raises(ValueError, match="channels"):
        simulate(spec, torch.zeros(3, 2, 2, dtype=torch.int32))
    with pytest.raises(ValueError, match="shape"):
        simulate(spec, torch.zeros(4, 2, dtype=torch.int32))


# --- QuantizedHyperSynthesis ------------------------------------------------------------------


def _train_toy(model, steps, seed):
    """Toy regression: table index and mean as linear functions of the upsampled ẑ."""
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    m, tables = model.latent_channels, model.num_scale_tables
    losses = []
    for _ in range(steps):
        z = torch.randint(-6, 7, (8, model.convs[0].in_channels, 4, 4), generator=gen).float()
        up = torch.nn.functional.interpolate(z, scale_factor=4.0)[:, :1].expand(-1, m, -1, -1)
        index, mean = model(z)
        loss = ((index - (tables // 2 + 2 * up).clamp(0, tables - 1)) ** 2).mean()
        if mean is not None:
            loss = loss + ((mean - 0.5 * up) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _agreement(model, spec, seed):
    """Fractions of index and mean elements where forward() and the integer network differ."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randint(-40, 41, (32, model.convs[0].in_channels, 6, 6), generator=gen)
    z[0, 0, 0, :2] = torch.tensor([-1000, 1000])  # beyond the input clamp
    with torch.no_grad():
        index, mean = model(z.to(model.convs[0].weight.dtype))
    int_index, int_mean = model.integer_outputs(spec, z)
    assert int_index.shape == index.shape
    assert 0 <= int(int_index.min()) and int(int_index.max()) < model.num_scale_tables
    index_mismatch = (index.long() != int_index).double().mean().item()
    mean_mismatch = 0.0
    if mean is not None:
        mean_mismatch = (torch.round(mean * 2**model.mean_fraction_bits).long() != int_mean).double().mean().item()
    return index_mismatch, mean_mismatch, index.numel()


@pytest.mark.parametrize("predict_means", [False, True])
def test_hyper_synthesis_trains_converts_and_agrees(predict_means):
    torch.manual_seed(4)
    model = QuantizedHyperSynthesis(8, 6, hidden_channels=12, predict_means=predict_means, num_scale_tables=32)
    losses = _train_toy(model, steps=40, seed=5)
    assert np.mean(losses[-5:]) < 0.3 * np.mean(losses[:5]), losses

    model.eval()
    index, mean = model(torch.randint(-5, 6, (2, 8, 3, 5)).float())
    assert index.shape == (2, 6, 12, 20)
    assert torch.equal(index, index.round()) and (mean is not None) == predict_means
    if predict_means:
        assert torch.equal(mean * 256, (mean * 256).round())

    spec = model.to_integer()
    assert IntNetworkSpec.from_blob(spec.to_blob()).to_blob() == spec.to_blob()
    assert [type(op) for op in spec.ops] == [IntConv, IntConv, DepthToSpace, IntConv, DepthToSpace, IntConv]
    assert spec.output_channels() == 6 * (2 if predict_means else 1)
    assert all(2**29 <= m <= 2**30 for op in spec.ops if isinstance(op, IntConv) for m in op.multiplier if m)

    f32 = _agreement(model, spec, seed=6)
    model64 = model.double()  # float64 accumulators are exact: only ties can differ
    f64 = _agreement(model64, model64.to_integer(), seed=6)
    print(f"\nmeans={predict_means}: mismatch float32 index {f32[0]:.2e} mean {f32[1]:.2e}; "
          f"float64 index {f64[0]:.2e} mean {f64[1]:.2e} (of {f32[2]} elements)")
    assert f32[0] <= 1e-3 and f32[1] <= 1e-3
    assert f64[0] <= 1e-4 and f64[1] <= 1e-4


def test_requant_parameters():
    ratio = torch.tensor([0.0, 1e-12, 3e-4, 0.7, 1.0, 12345.678], dtype=torch.float64)
    multiplier, shift = requant_parameters(ratio)
    approx = multiplier.double() * torch.pow(2.0, -shift.double())
    assert bool((multiplier < 2**31).all() and (shift >= 0).all() and (shift <= 62).all())
    np.testing.assert_allclose(approx[2:].numpy(), ratio[2:].numpy(), rtol=2**-29)
    assert int(shift[1]) == 62  # tiny ratios keep the largest shift, with a small multiplier
    with pytest.raises(ValueError, match="too large"):
        requant_parameters(torch.tensor([2.0**31], dtype=torch.float64))


# --- The C++ network --------------------------------------------------------------------------


def _native_network():
    native = pytest.importorskip("edgesdk.bitstream.intnet")
    from edgesdk import _core

    if not hasattr(_core, "IntNetwork"):
        pytest.skip("the installed edgesdk._core predates the IntNetwork binding (rebuild the package)")
    return native.IntNetwork


def test_cpp_network_is_bit_exact_with_simulate():
    IntNetwork = _native_network()
    rng = np.random.default_rng(7)
    specs = [random_spec(rng, kernel=[1, 3, 5, 7][i % 4], block=[2, 3][i % 2]) for i in range(40)]
    torch.manual_seed(8)
    model = QuantizedHyperSynthesis(8, 6, hidden_channels=12, predict_means=True, num_scale_tables=32)
    _train_toy(model, steps=5, seed=9)
    specs.append(model.eval().to_integer())
    for case, spec in enumerate(specs):
        network = IntNetwork(spec.to_blob())
        x = random_input(rng, spec, batch=2, size=(5, 4))
        expected = simulate(spec, torch.from_numpy(x)).numpy()
        got = network.run(x)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, expected, err_msg=f"case {case}")
        np.testing.assert_array_equal(network.run(x[0]), expected[0], err_msg=f"case {case}, rank 3")


@pytest.mark.parametrize("mutate, message", [case[:2] for case in INVALID if case[2]])
def test_cpp_network_refuses_what_validate_refuses(mutate, message):
    IntNetwork = _native_network()
    import edgesdk

    spec = small_spec()
    mutate(spec)
    with pytest.raises(edgesdk.Error):
        IntNetwork(spec._encode())
