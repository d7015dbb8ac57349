"""Wavelet warm-started transforms: a compressor and generator that start as a CDF 9/7 wavelet
codec and learn nonlinear corrections on top.

Why: a fixed CDF 9/7 wavelet with no learning (JPEG 2000) is already level with or better than
WebP on photographs (docs/models.md), while a learned transform started from noise needs far
more steps than a CPU gives to get there. Starting at the wavelet means training begins near
WebP and only has to improve.

Layout of the latent y (M = 3·4^L channels at 1/2^L resolution, L = ``levels``): the colour
transform (init: JPEG's YCbCr) then an L-level 2-D CDF 9/7 lifting transform per colour channel
(whole-sample symmetric extension, so it is exactly invertible at the borders); every subband is
rearranged polyphase (pixel-unshuffle) to the coarsest grid, so one position of y holds every
coefficient of one 2^L×2^L block. Channel order per colour: LL_L, then for each level from
coarsest to finest its LH, HL, HH subbands, each as 4^(L-l) polyphase channels.

Each subband's coefficients are scaled by the norm of its synthesis basis function, so an error
of e in any channel of y costs the same squared error in pixels (the 9/7 is nearly orthogonal),
then multiplied by a learned per-(quality, colour, subband) gain: the quantization step. The
analysis adds a learned residual (a small convolutional network, last layer zero at init); the
synthesis adds a learned post-filter after the inverse wavelet (last layer zero at init).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

# CDF 9/7 lifting coefficients (Daubechies & Sweldens 1998).
_ALPHA = -1.586134342059924
_BETA = -0.052980118572961
_GAMMA = 0.882911075530934
_DELTA = 0.443506852043971

# JPEG's RGB -> YCbCr (ITU-R BT.601, full range), without the 128 offset: y carries means.
_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)


def _next(v: torch.Tensor, dim: int) -> torch.Tensor:
    """v[n+1] along ``dim``, the last element repeated (whole-sample symmetric extension)."""
    n = v.shape[dim]
    return torch.cat([v.narrow(dim, 1, n - 1), v.narrow(dim, n - 1, 1)], dim)


def _previous(v: torch.Tensor, dim: int) -> torch.Tensor:
    """v[n-1] along ``dim``, the first element repeated."""
    n = v.shape[dim]
    return torch.cat([v.narrow(dim, 0, 1), v.narrow(dim, 0, n - 1)], dim)


def _split(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    if dim == -1:
        return x[..., 0::2], x[..., 1::2]
    return x[..., 0::2, :], x[..., 1::2, :]


def lift_forward(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One level of the 1-D CDF 9/7 analysis along ``dim`` (-1 or -2, even length): (low, high)."""
    even, odd = _split(x, dim)
    odd = odd + _ALPHA * (even + _next(even, dim))
    even = even + _BETA * (_previous(odd, dim) + odd)
    odd = odd + _GAMMA * (even + _next(even, dim))
    even = even + _DELTA * (_previous(odd, dim) + odd)
    return even, odd


def lift_inverse(low: torch.Tensor, high: torch.Tensor, dim: int) -> torch.Tensor:
    """Exact inverse of ``lift_forward``."""
    even, odd = low, high
    even = even - _DELTA * (_previous(odd, dim) + odd)
    odd = odd - _GAMMA * (even + _next(even, dim))
    even = even - _BETA * (_previous(odd, dim) + odd)
    odd = odd - _ALPHA * (even + _next(even, dim))
    if dim == -1:
        return torch.stack([even, odd], dim=-1).flatten(-2)
    return torch.stack([even, odd], dim=-2).flatten(-3, -2)


def dwt2(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One 2-D level: (LL, LH, HL, HH), LH = low along width, high along height."""
    low_w, high_w = lift_forward(x, -1)
    ll, lh = lift_forward(low_w, -2)
    hl, hh = lift_forward(high_w, -2)
    return ll, lh, hl, hh


def idwt2(ll: torch.Tensor, lh: torch.Tensor, hl: torch.Tensor, hh: torch.Tensor) -> torch.Tensor:
    low_w = lift_inverse(ll, lh, -2)
    high_w = lift_inverse(hl, hh, -2)
    return lift_inverse(low_w, high_w, -1)


def subbands_per_colour(levels: int) -> int:
    return 1 + 3 * levels


def latent_channels(levels: int) -> int:
    return 3 * 4**levels


def _subband_layout(levels: int) -> list[tuple[int, int]]:
    """Per subband of one colour, in channel order: (level, polyphase factor)."""
    layout = [(levels, 1)]
    for level in range(levels, 0, -1):
        layout += [(level, 2 ** (levels - level))] * 3
    return layout


def pack(x: torch.Tensor, levels: int) -> torch.Tensor:
    """[N, C, H, W] (H, W multiples of 2^levels) → [N, C·4^levels, H/2^L, W/2^L] in the
    module's channel order, unscaled."""
    details = []
    ll = x
    for _ in range(levels):
        ll, lh, hl, hh = dwt2(ll)
        details.append((lh, hl, hh))
    n, c = x.shape[:2]
    parts = [ll.reshape(n, c, 1, *ll.shape[-2:])]
    for level in range(levels, 0, -1):
        factor = 2 ** (levels - level)
        for band in details[level - 1]:
            packed = F.pixel_unshuffle(band, factor) if factor > 1 else band
            parts.append(packed.reshape(n, c, factor * factor, *packed.shape[-2:]))
    return torch.cat(parts, dim=2).reshape(n, c * 4**levels, *ll.shape[-2:])


def unpack(y: torch.Tensor, levels: int) -> torch.Tensor:
    """Inverse of ``pack``."""
    n, channels = y.shape[:2]
    c = channels // 4**levels
    y = y.reshape(n, c, 4**levels, *y.shape[-2:])
    ll = y[:, :, 0].reshape(n * c, 1, *y.shape[-2:])
    offset = 1
    bands: dict[int, list[torch.Tensor]] = {}
    for level in range(levels, 0, -1):
        factor = 2 ** (levels - level)
        count = factor * factor
        level_bands = []
        for _ in range(3):
            part = y[:, :, offset : offset + count].reshape(n * c, count, *y.shape[-2:])
            level_bands.append(F.pixel_shuffle(part, factor) if factor > 1 else part)
            offset += count
        bands[level] = level_bands
    for level in range(levels, 0, -1):
        lh, hl, hh = bands[level]
        ll = idwt2(ll, lh, hl, hh)
    return ll.reshape(n, c, *ll.shape[-2:])


def synthesis_norms(levels: int, size: int = 256) -> torch.Tensor:
    """L2 norm of the synthesis basis function of each subband of one colour, [1 + 3·levels],
    measured with an impulse in the middle of a ``size``² canvas (float64)."""
    norms = []
    layout = _subband_layout(levels)
    offset = 0
    with torch.no_grad():
        for level, factor in layout:
            y = torch.zeros(1, 4**levels, size >> levels, size >> levels, dtype=torch.float64)
            middle = (size >> levels) // 2
            # The polyphase channel in the middle of the subband's block.
            count = factor * factor
            channel = offset + count // 2 + (factor // 2 if factor > 1 else 0)
            y[0, channel, middle, middle] = 1.0
            norms.append(float(unpack(y, levels).square().sum().sqrt()))
            offset += count
    return torch.tensor(norms, dtype=torch.float64)


def _expand_subbands(values: torch.Tensor, levels: int) -> torch.Tensor:
    """[..., 3, 1 + 3L] per-subband values → [..., 3·4^L] per latent channel."""
    repeats = torch.tensor([factor * factor for _, factor in _subband_layout(levels)], device=values.device)
    return torch.repeat_interleave(values, repeats, dim=-1).flatten(-2)


class WaveletTransform(nn.Module):
    """Shared state of the analysis and synthesis: colour matrix, subband norms, per-quality
    log step sizes. ``quality`` selects the row of ``log_steps`` used when a call passes none."""

    def __init__(self, levels: int, rate_levels: int, initial_steps: tuple[float, ...]) -> None:
        super().__init__()
        self.levels = levels
        self.rate_levels = rate_levels
        self.quality = 0
        if len(initial_steps) != rate_levels:
            raise ValueError("one initial step per rate level")
        steps = torch.tensor(initial_steps, dtype=torch.float32).log().view(-1, 1, 1)
        self.log_steps = nn.Parameter(steps.expand(rate_levels, 3, subbands_per_colour(levels)).clone())
        self.register_buffer("norms", synthesis_norms(levels).float())
        self.colour = nn.Parameter(torch.tensor(_YCBCR, dtype=torch.float32))

    def inverse_colour(self) -> torch.Tensor:
        return torch.linalg.inv(self.colour.double()).float()

    def channel_gains(self, quality: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """Latent units per wavelet coefficient, [N or 1, M, 1, 1]: norm / step (pixels in 0..255)."""
        log_steps = self.log_steps[self.quality : self.quality + 1] if quality is None else self.log_steps[quality]
        gains = 255.0 * self.norms.view(1, 1, -1) * torch.exp(-log_steps)
        return _expand_subbands(gains, self.levels).to(like.dtype)[:, :, None, None]


def _float32(like: torch.Tensor):
    """Autocast off (float32 arithmetic) on ``like``'s device."""
    return torch.autocast(device_type=like.device.type, enabled=False)


def _residual_analysis(widths: tuple[int, ...], out_channels: int, levels: int) -> nn.Sequential:
    """x [N, 3, H, W] → [N, M, H/2^L, W/2^L]: stride-2 convolutions, the last one 1×1 and zero."""
    layers: list[nn.Module] = []
    channels = 3
    for i, width in enumerate(widths):
        kernel = 5 if i == 0 else 3
        layers += [nn.Conv2d(channels, width, kernel, stride=2, padding=kernel // 2), nn.LeakyReLU(0.1)]
        channels = width
    for _ in range(levels - len(widths)):
        layers += [nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
    last = nn.Conv2d(channels, out_channels, 1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


def _post_filter(width: int) -> nn.Sequential:
    """Image → correction at half resolution (pixel-unshuffled), the last layer zero at init."""
    last = nn.Conv2d(width, 12, 3, padding=1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(
        nn.PixelUnshuffle(2),
        nn.Conv2d(12, width, 3, padding=1), nn.LeakyReLU(0.1),
        nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.1),
        nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.1),
        last,
        nn.PixelShuffle(2),
    )


class WaveletAnalysis(nn.Module):
    """Compressor transform g_a: image [N, 3, H, W] in [0, 1] → y [N, M, H/2^L, W/2^L]."""

    def __init__(self, transform: WaveletTransform, residual_widths: tuple[int, ...]) -> None:
        super().__init__()
        self.transform = transform
        self.residual = _residual_analysis(residual_widths, latent_channels(transform.levels), transform.levels)

    def forward(self, x: torch.Tensor, quality: torch.Tensor | None = None) -> torch.Tensor:
        t = self.transform
        residual = self.residual(x)
        with _float32(x):  # the lifting steps lose too much in bfloat16 (autocast)
            x = x.float()
            colour = F.conv2d(x, t.colour.view(3, 3, 1, 1))
            coefficients = pack(colour, t.levels) + residual.float()
            return coefficients * t.channel_gains(quality, x)


class WaveletSynthesis(nn.Module):
    """Generator transform g_s: ŷ [N, M, h, w] → image [N, 3, 2^L·h, 2^L·w] (unclamped)."""

    def __init__(self, transform: WaveletTransform, post_filter_width: int) -> None:
        super().__init__()
        self.transform = transform
        self.post_filter = _post_filter(post_filter_width)

    def forward(self, y_hat: torch.Tensor, quality: torch.Tensor | None = None) -> torch.Tensor:
        t = self.transform
        with _float32(y_hat):
            y_hat = y_hat.float()
            coefficients = y_hat / t.channel_gains(quality, y_hat)
            colour = unpack(coefficients, t.levels)
            image = F.conv2d(colour, t.inverse_colour().view(3, 3, 1, 1))
        return image + self.post_filter(image).float()


def initial_steps(rate_levels: int, finest: float = 12.0, coarsest: float = 40.0) -> tuple[float, ...]:
    """Log-spaced quantization steps (0..255 pixel units) from coarse to fine, one per level."""
    if rate_levels == 1:
        return (math.sqrt(finest * coarsest),)
    ratio = (finest / coarsest) ** (1.0 / (rate_levels - 1))
    return tuple(coarsest * ratio**i for i in range(rate_levels))


class FrozenWaveletAnalysis(nn.Module):
    """g_a of one rate level with its colour matrix and gains as constants (for ONNX export:
    no matrix inverse or gather on parameters in the graph)."""

    def __init__(self, analysis: WaveletAnalysis) -> None:
        super().__init__()
        t = analysis.transform
        self.levels = t.levels
        with torch.no_grad():
            self.register_buffer("colour", t.colour.detach().clone().view(3, 3, 1, 1))
            self.register_buffer("gains", t.channel_gains(None, t.colour).detach().clone())
        self.residual = copy.deepcopy(analysis.residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The lifting steps run in float32 in every graph precision (fp16 loses too much there).
        dtype = x.dtype
        residual = self.residual(x).float()
        x = x.float()
        coefficients = pack(F.conv2d(x, self.colour.float()), self.levels) + residual
        return (coefficients * self.gains.float()).to(dtype)


class FrozenWaveletSynthesis(nn.Module):
    """g_s of one rate level with constants, like ``FrozenWaveletAnalysis``."""

    def __init__(self, synthesis: WaveletSynthesis) -> None:
        super().__init__()
        t = synthesis.transform
        self.levels = t.levels
        with torch.no_grad():
            self.register_buffer("inverse_colour", t.inverse_colour().detach().clone().view(3, 3, 1, 1))
            self.register_buffer("inverse_gains", 1.0 / t.channel_gains(None, t.colour).detach().clone())
        self.post_filter = copy.deepcopy(synthesis.post_filter)

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:
        dtype = y_hat.dtype
        colour = unpack(y_hat.float() * self.inverse_gains.float(), self.levels)
        image = F.conv2d(colour, self.inverse_colour.float())
        return image + self.post_filter(image.to(dtype)).float()


# Feature groups of the hyperprior's warm start: (colours, channels within a colour's 256).
_ENERGY_GROUPS = (
    ((0,), range(1, 16)),  # luma, levels 4 and 3
    ((0,), range(16, 64)),  # luma, level 2
    ((0,), range(64, 256)),  # luma, level 1
    ((1, 2), range(1, 16)),  # chroma, levels 4 and 3
    ((1, 2), range(16, 64)),  # chroma, level 2
    ((1, 2), range(64, 256)),  # chroma, level 1
)


def _space_to_depth_taps(conv: nn.Conv2d, features: int) -> None:
    """A 3×3 stride-2 convolution (padding 1) that moves each 2×2 block of its first
    ``features`` input channels into channels ``f·4 + a·2 + b`` (what pixel_shuffle undoes)."""
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        for f in range(features):
            for a in range(2):
                for b in range(2):
                    conv.weight[f * 4 + a * 2 + b, f, 1 + a, 1 + b] = 1.0


def _identity_taps(conv: nn.Conv2d, channels: int) -> None:
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        centre = conv.kernel_size[0] // 2
        for c in range(channels):
            conv.weight[c, c, centre, centre] = 1.0


@torch.no_grad()
def initialize_hyperprior(h_a: nn.Sequential, h_s: nn.Module, log_min: float, log_step: float,
                          z_scale: float = 2.0) -> None:
    """Starts the hyperprior as forward-adaptive side information of a classic wavelet coder:
    z carries, for every 16×16 block, ``z_scale`` × the mean log2(1 + |y|) of six coefficient
    groups (luma and chroma × levels 4-3, 2, 1), moved to z's 1/64 grid by space-to-depth; h_s
    moves them back (pixel_shuffle undoes it exactly) and maps each group's log-magnitude to the
    table index of its channels. Training then refines all of it; without this the hyperprior
    collapses to z = 0 (a static per-channel model) on a warm-started transform, whose static
    solution is too good to leave.

    Needs h_a = conv1×1(M→N), ReLU, conv3×3/2, ReLU, conv3×3/2 with N ≥ 96 and h_s's hidden
    width ≥ 96. Per-channel biases (table index offsets, means) come from
    ``ImageCodecModel.initialize_entropy_model`` afterwards.
    """
    features = len(_ENERGY_GROUPS)
    first, _, second, _, third = h_a
    if first.kernel_size != (1, 1) or features * 16 > min(third.out_channels, h_s.convs[0].out_channels):
        raise ValueError("initialize_hyperprior needs a 1×1 first h_a layer and 96 z and h_s channels")
    first.weight.zero_()
    first.bias.zero_()
    for f, (colours, channels) in enumerate(_ENERGY_GROUPS):
        members = [c * 256 + k for c in colours for k in channels]
        first.weight[f, members, 0, 0] = z_scale / len(members)
    _space_to_depth_taps(second, features)
    _space_to_depth_taps(third, features * 4)
    convs = h_s.convs
    _identity_taps(convs[0], features * 16)
    _identity_taps(convs[1], features * 16)  # then pixel_shuffle: 1/64 → 1/32
    _identity_taps(convs[2], features * 4)  # then pixel_shuffle: 1/32 → 1/16
    last = convs[3]
    last.weight.zero_()
    centre = last.kernel_size[0] // 2
    # index = (ln σ − ln σ_min) / step with log2 σ ≈ feature / z_scale.
    slope = math.log(2.0) / log_step / z_scale
    for f, (colours, channels) in enumerate(_ENERGY_GROUPS):
        for c in colours:
            for k in channels:
                last.weight[c * 256 + k, f, centre, centre] = slope
    last.bias.zero_()
    last.bias[: last.out_channels // 2] = -math.log(1.0) / log_step - log_min / log_step
