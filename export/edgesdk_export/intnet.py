"""Integer networks (format EINT 1, docs/integer-network.md) on the PyTorch side.

* ``IntNetworkSpec`` and friends live in ``edgesdk.bitstream.intnet`` (numpy only) and are re-exported here.
* ``simulate`` — the exact integer semantics in torch, bit-identical to ``cpp/src/intnet.cpp``.
* ``QuantizedHyperSynthesis`` — a hyper-synthesis h_s trained with that integer arithmetic in
  the loop, converted to an ``IntNetworkSpec`` by ``to_integer``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgesdk.bitstream.intnet import (  # noqa: F401 - the spec classes are re-exported for the training side
    INT8_MAX,
    INT8_MIN,
    INT32_MAX,
    MAX_CHANNELS,
    MAX_KERNEL,
    MAX_SHIFT,
    PRODUCT_BOUND,
    DepthToSpace,
    IntConv,
    IntNetworkSpec,
)

# --- Exact simulation -------------------------------------------------------------------------


def simulate(spec: IntNetworkSpec, x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Runs ``spec`` on an integer tensor [N, C, H, W] or [C, H, W]; int64 result of the same rank.

    Bit-exact with the C++ network: every intermediate value is an integer held exactly.
    """
    x = torch.as_tensor(x)
    if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
        raise TypeError(f"simulate needs an integer tensor, got {x.dtype}")
    if x.dim() not in (3, 4):
        raise ValueError(f"simulate needs [N, C, H, W] or [C, H, W], got shape {tuple(x.shape)}")
    batched = x.dim() == 4
    v = x.to(torch.int64) if batched else x.to(torch.int64).unsqueeze(0)
    if v.shape[1] != spec.input_channels:
        raise ValueError(f"input has {v.shape[1]} channels, the network expects {spec.input_channels}")
    v = v.clamp(spec.input_min, spec.input_max)
    for op in spec.ops:
        v = _simulate_conv(op, v) if isinstance(op, IntConv) else F.pixel_shuffle(v, op.block)
    return v if batched else v[0]


def _simulate_conv(op: IntConv, v: torch.Tensor) -> torch.Tensor:
    # float64 conv is exact here: products are integers ≤ 2^14 and every partial sum an integer
    # below 2^31 < 2^53, so any summation order gives the true sum (round() only guards the cast).
    weight = torch.from_numpy(op.weight.astype(np.float64))
    acc = F.conv2d(v.to(torch.float64), weight, padding=op.kernel // 2).round().to(torch.int64)
    acc = acc + _per_channel(op.bias)
    shift = op.shift.astype(np.int64)
    rounding = np.where(shift > 0, np.left_shift(np.int64(1), np.maximum(shift - 1, 0)), 0)
    # |acc · multiplier| < 2^62 and rounding ≤ 2^61: int64 never overflows. >> on a signed
    # tensor is arithmetic, i.e. floor division by 2^shift as the spec requires.
    v = (acc * _per_channel(op.multiplier) + _per_channel(rounding)) >> _per_channel(shift)
    if op.relu:
        v = v.clamp_min(0)
    return v.clamp(op.out_min, op.out_max)


def _per_channel(values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(values, dtype=np.int64)).view(1, -1, 1, 1)


# --- Quantization-aware hyper-synthesis -------------------------------------------------------

# Multipliers carry this many significant bits: precise, and acc · multiplier < 2^61.
_MULTIPLIER_BITS = 30
# Floors that keep scales positive for dead channels/activations (such channels output ~0).
_MIN_WEIGHT_SCALE = 1e-8
_MIN_ACTIVATION_MAX = 1e-6


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round half up — what the integer requantization does — with a straight-through gradient."""
    # r + (x - x) keeps r's exact value (x + (r - x) can be off by an ulp) and x's gradient.
    return torch.floor(x + 0.5).detach() + (x - x.detach())


def requant_parameters(ratio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(multiplier, shift) with multiplier · 2^-shift ≈ ratio (float64, ≥ 0), as int64 tensors."""
    ratio = ratio.to(torch.float64)
    _, exponent = torch.frexp(ratio)  # ratio = m · 2^exponent, m in [0.5, 1)
    shift = (_MULTIPLIER_BITS - exponent.to(torch.int64)).clamp(0, MAX_SHIFT)
    multiplier = torch.round(torch.ldexp(ratio, shift.to(torch.float64))).to(torch.int64)
    if bool((multiplier > INT32_MAX).any()):
        raise ValueError(f"requantization ratio {float(ratio.max())} too large for an int32 multiplier")
    return multiplier, shift


def _effective_ratio(multiplier: torch.Tensor, shift: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # multiplier · 2^-shift is exact in float64; training uses the very ratio the network will.
    return torch.ldexp(multiplier.to(torch.float64), -shift.to(torch.float64)).to(dtype)


class QuantizedHyperSynthesis(nn.Module):
    """Hyper-synthesis h_s (ẑ at 1/64 → index/mean maps at 1/16) with integer arithmetic in the loop.

    conv k×k → ReLU → conv(→ 4C) → depth_to_space(2) → ReLU → conv(→ 4C) → depth_to_space(2)
    → ReLU → conv → M index channels (+ M mean channels).

    The forward pass computes in the integer domain with float tensors: activations are int8
    codes (input ẑ clamped to [-128, 127] at scale 1, ReLU outputs in [0, 127] at a per-layer
    scale tracked by an EMA of the maximum), weights per-output-channel symmetric int8 codes,
    biases int32 codes, and each layer requantizes with the same multiplier/shift that
    ``to_integer`` exports. Rounding uses straight-through gradients, so gradients equal those
    of ordinary fake quantization; the values equal the integer network's up to float rounding
    of the accumulators (none in float64).
    """

    def __init__(
        self,
        hyper_channels: int,
        latent_channels: int,
        hidden_channels: int | None = None,
        predict_means: bool = False,
        num_scale_tables: int = 64,
        mean_fraction_bits: int = 8,
        mean_range_bits: int = 20,
        kernel_size: int = 3,
        ema_momentum: float = 0.9,
    ) -> None:
        super().__init__()
        hidden = hidden_channels or hyper_channels
        outputs = latent_channels * (2 if predict_means else 1)
        if max(hyper_channels, 4 * hidden, outputs) > MAX_CHANNELS:
            raise ValueError(f"channel counts exceed the integer network limit of {MAX_CHANNELS}")
        if num_scale_tables < 1 or num_scale_tables - 1 > 2**mean_range_bits:
            raise ValueError("num_scale_tables must be in 1..2^mean_range_bits + 1")
        if kernel_size % 2 == 0 or not 1 <= kernel_size <= MAX_KERNEL:
            raise ValueError(f"kernel_size must be odd and in 1..{MAX_KERNEL}")
        self.latent_channels = latent_channels
        self.predict_means = predict_means
        self.num_scale_tables = num_scale_tables
        self.mean_fraction_bits = mean_fraction_bits
        self.mean_range = 2**mean_range_bits
        self.kernel_size = kernel_size
        self.ema_momentum = ema_momentum
        pad = kernel_size // 2
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(hyper_channels, hidden, kernel_size, padding=pad),
                nn.Conv2d(hidden, 4 * hidden, kernel_size, padding=pad),
                nn.Conv2d(hidden, 4 * hidden, kernel_size, padding=pad),
                nn.Conv2d(hidden, outputs, kernel_size, padding=pad),
            ]
        )
        self.blocks = (1, 2, 2)  # depth_to_space after each hidden layer (1: none)
        with torch.no_grad():  # start every index in the middle of the table range
            self.convs[-1].bias[:latent_channels].fill_((num_scale_tables - 1) / 2)
        # Maximum of each hidden ReLU output in real units; its scale is max / 127.
        self.register_buffer("activation_max", torch.zeros(len(self.blocks)))
        self.register_buffer("calibrated", torch.zeros((), dtype=torch.bool))

    # Shared by forward and to_integer so that both quantize identically.

    def _input_scale(self, layer: int) -> torch.Tensor:
        if layer == 0:
            return torch.ones((), dtype=self.activation_max.dtype, device=self.activation_max.device)
        return self.activation_max[layer - 1].clamp_min(_MIN_ACTIVATION_MAX) / INT8_MAX

    def _output_scale(self, layer: int) -> torch.Tensor:
        if layer < len(self.blocks):
            return self._input_scale(layer + 1).reshape(1)
        # Index channels come out in table units, mean channels in 2^-mean_fraction_bits units.
        like = self.activation_max
        scales = torch.ones(self.convs[-1].out_channels, dtype=like.dtype, device=like.device)
        scales[self.latent_channels :] = 2.0**-self.mean_fraction_bits
        return scales

    def _quantized_conv(self, layer: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(weight codes, bias codes, weight scales) of a layer; codes carry STE gradients."""
        conv = self.convs[layer]
        weight_scale = conv.weight.detach().abs().amax(dim=(1, 2, 3)).clamp_min(_MIN_WEIGHT_SCALE) / INT8_MAX
        weight_code = _round_ste(conv.weight / weight_scale.view(-1, 1, 1, 1)).clamp(-INT8_MAX, INT8_MAX)
        in_channels = conv.weight.shape[1]
        bias_limit = INT32_MAX - in_channels * self.kernel_size**2 * PRODUCT_BOUND
        bias_code = _round_ste(conv.bias / (self._input_scale(layer) * weight_scale)).clamp(-bias_limit, bias_limit)
        return weight_code, bias_code, weight_scale

    def _requant(self, layer: int, weight_scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ratio = self._input_scale(layer).double() * weight_scale.double() / self._output_scale(layer).double()
        return requant_parameters(ratio)

    def _output_clamp(self) -> tuple[int, int]:
        if self.predict_means:
            # One clamp per op: the index channels share the means' range and are clamped to
            # the table range by integer_outputs (and by the fake-quant forward alike).
            return -self.mean_range, self.mean_range
        return 0, self.num_scale_tables - 1

    def forward(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """ẑ (float tensor of integers, [N, hyper_channels, h, w]) → (indexes, means).

        indexes: [N, M, 4h, 4w] float, integer values in [0, tables − 1], gradient of the
        unrounded table-space output. means: [N, M, 4h, 4w] float in latent units, multiples
        of 2^-mean_fraction_bits (None without means). In eval mode the activation scales are
        frozen (calibrated by the first call if training never ran).
        """
        update = self.training or not bool(self.calibrated)
        code = z_hat.clamp(INT8_MIN, INT8_MAX)
        for layer, block in enumerate(self.blocks):
            weight_code, bias_code, weight_scale = self._quantized_conv(layer)
            acc = F.conv2d(code, weight_code, bias_code, padding=self.kernel_size // 2)
            if update:
                self._observe(layer, acc.detach(), weight_scale)
            multiplier, shift = self._requant(layer, weight_scale)
            ratio = _effective_ratio(multiplier, shift, acc.dtype).view(1, -1, 1, 1)
            code = _round_ste(acc * ratio).clamp(0, INT8_MAX)
            if block > 1:
                code = F.pixel_shuffle(code, block)
        if update:
            self.calibrated.fill_(True)
        last = len(self.blocks)
        weight_code, bias_code, weight_scale = self._quantized_conv(last)
        acc = F.conv2d(code, weight_code, bias_code, padding=self.kernel_size // 2)
        multiplier, shift = self._requant(last, weight_scale)
        y = acc * _effective_ratio(multiplier, shift, acc.dtype).view(1, -1, 1, 1)
        # Full straight-through (clamp included) so out-of-range outputs are still pulled back.
        low, high = self._output_clamp()
        rounded = torch.floor(y + 0.5).clamp(low, high)
        m = self.latent_channels
        straight = y - y.detach()  # zero, with y's gradient
        index = rounded[:, :m].clamp(0, self.num_scale_tables - 1) + straight[:, :m]
        if not self.predict_means:
            return index, None
        mean = (rounded[:, m:] + straight[:, m:]) * 2.0**-self.mean_fraction_bits
        return index, mean

    @torch.no_grad()
    def _observe(self, layer: int, acc: torch.Tensor, weight_scale: torch.Tensor) -> None:
        real = acc * (self._input_scale(layer) * weight_scale).view(1, -1, 1, 1)
        batch_max = real.max().clamp_min(0)
        if bool(self.calibrated):
            batch_max = self.ema_momentum * self.activation_max[layer] + (1 - self.ema_momentum) * batch_max
        self.activation_max[layer] = batch_max

    @torch.no_grad()
    def to_integer(self) -> IntNetworkSpec:
        """The integer network this module simulates (validated)."""
        if not bool(self.calibrated):
            raise RuntimeError("activation scales are not calibrated: train or run forward first")
        ops: list[IntConv | DepthToSpace] = []
        for layer in range(len(self.convs)):
            weight_code, bias_code, weight_scale = self._quantized_conv(layer)
            multiplier, shift = self._requant(layer, weight_scale)
            hidden = layer < len(self.blocks)
            low, high = (0, INT8_MAX) if hidden else self._output_clamp()
            ops.append(
                IntConv(
                    weight=weight_code.cpu().numpy().astype(np.int8),
                    bias=bias_code.cpu().double().numpy().astype(np.int32),
                    multiplier=multiplier.cpu().numpy().astype(np.int32),
                    shift=shift.cpu().numpy().astype(np.uint8),
                    relu=hidden,
                    out_min=low,
                    out_max=high,
                )
            )
            if hidden and self.blocks[layer] > 1:
                ops.append(DepthToSpace(self.blocks[layer]))
        spec = IntNetworkSpec(self.convs[0].in_channels, INT8_MIN, INT8_MAX, ops)
        spec.validate()
        return spec

    def integer_outputs(
        self, spec: IntNetworkSpec, z_hat_int: torch.Tensor | np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Runs the integer network: (indexes int64 in [0, tables − 1], means int64 fixed point or None)."""
        out = simulate(spec, z_hat_int)
        m = self.latent_channels
        # A no-op unless the last op clamps to the wider mean range (models with means).
        indexes = out.narrow(-3, 0, m).clamp(0, self.num_scale_tables - 1)
        means = out.narrow(-3, m, m) if self.predict_means else None
        return indexes, means
