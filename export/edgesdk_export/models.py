"""The learned image codec family: compressor g_a, generator g_s, hyper-analysis h_a, integer
hyper-synthesis h_s, and the entropy models used for training (factorized prior for z,
Gaussian conditional for y).

Data flow (mean-scale hyperprior, Ballé et al. 2018 / Minnen et al. 2018)::

    x ─g_a─▶ y ─h_a─▶ z ─round─▶ ẑ (integers, per-channel factorized tables)
                                  ẑ ─h_s (integer network)─▶ table index, mean per element of y
    ŷ = round(y − mean) + mean ─g_s─▶ x̂

Only h_s decides how y is parsed, so it is ``intnet.QuantizedHyperSynthesis``: trained with
the integer arithmetic in the loop, the indexes it picks during training are the ones the
exported integer network picks on every device. g_a, h_a and g_s are ordinary float
transforms built from ONNX-friendly ops (conv, transposed conv, elementwise).

Images are float in [0, 1], NCHW, with height and width multiples of 64 (16 from g_a times 4
from h_a): ``pad_to_multiple`` pads, ``unpad`` crops back.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgesdk.bitstream.entropy import scale_table as _runtime_scale_table
from edgesdk_export.intnet import QuantizedHyperSynthesis
from edgesdk_export import wavelet

MULTIPLE = 64  # g_a downsamples by 16, h_a by 4 more
WAVELET_LEVELS = 4  # 2^4 = g_a's downsampling
LIKELIHOOD_BOUND = 1e-9
HYPER_ACTIVATIONS = {"relu": functools.partial(nn.ReLU, inplace=True),
                     "leaky_relu": functools.partial(nn.LeakyReLU, 0.01, inplace=True)}


# --- Configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodecConfig:
    """Shape and entropy-model settings of one codec model.

    g_a has four stride-2 stages ``3 → widths[0] → widths[1] → widths[2] → M`` with kernel
    ``kernels[i]`` and a (simplified) GDN after the first three; g_s mirrors it with
    transposed convolutions and inverse GDN.
    """

    name: str
    N: int  # hyper-latent (z) channels
    M: int  # latent (y) channels
    widths: tuple[int, int, int]  # g_a stage outputs before the latent (g_s mirrors)
    kernels: tuple[int, int, int, int]  # g_a stage kernels (g_s mirrors)
    gdn: str = "gdn"  # "gdn": x / sqrt(β + γ·x²);  "simplified": x / (β + γ·|x|)
    hyper_kernels: tuple[int, int, int] = (3, 5, 5)  # h_a: stride 1, 2, 2
    hyper_activation: str = "relu"  # h_a's nonlinearity: "relu", or "leaky_relu" (mbt2018-mean's, slope 0.01)
    hyper_hidden: int | None = None  # h_s hidden width (None: N)
    hyper_synthesis_kernel: int = 3
    num_scale_tables: int = 64
    scale_min: float = 0.11
    scale_max: float = 256.0
    predict_means: bool = True
    mean_fraction_bits: int = 4
    z_bound: int = 32  # z tables cover the integers [-z_bound, z_bound]; the rest escapes
    z_tail_mass: float = 1e-9  # least probability the z tables give the escape
    prior_filters: tuple[int, ...] = (3, 3, 3)  # hidden sizes of each z channel's CDF network
    # "conv": learned stride-2 convolutions (g_a/g_s above). "wavelet": CDF 9/7 wavelet with a
    # learned residual and post-filter (edgesdk_export.wavelet); widths/kernels/gdn then unused.
    transform: str = "conv"
    residual_widths: tuple[int, ...] = (32, 64, 128)  # wavelet: the analysis residual's convolutions
    post_filter_width: int = 48  # wavelet: channels of the post-filter (at half resolution)
    # Rate levels trained together (wavelet only): level i is quality rate_qualities[i], each
    # with its own quantization steps; every other weight is shared.
    rate_qualities: tuple[int, ...] = ()
    initial_steps: tuple[float, ...] = ()  # wavelet: per rate level, pixel units (0..255)

    def __post_init__(self) -> None:
        if self.transform not in ("conv", "wavelet"):
            raise ValueError(f"transform must be 'conv' or 'wavelet', not {self.transform!r}")
        if self.transform == "wavelet":
            if self.M != wavelet.latent_channels(WAVELET_LEVELS):
                raise ValueError(f"a wavelet model has M = {wavelet.latent_channels(WAVELET_LEVELS)}")
            if not self.rate_qualities or len(self.initial_steps) != len(self.rate_qualities):
                raise ValueError("a wavelet model needs rate_qualities and one initial step each")
        if self.hyper_activation not in HYPER_ACTIVATIONS:
            raise ValueError(f"hyper_activation must be one of {sorted(HYPER_ACTIVATIONS)}, not {self.hyper_activation!r}")
        if self.gdn not in ("gdn", "simplified"):
            raise ValueError(f"gdn must be 'gdn' or 'simplified', not {self.gdn!r}")
        if len(self.widths) != 3 or len(self.kernels) != 4 or len(self.hyper_kernels) != 3:
            raise ValueError("widths needs 3 entries, kernels 4 and hyper_kernels 3")
        if any(k % 2 == 0 for k in (*self.kernels, *self.hyper_kernels)):
            raise ValueError("kernel sizes must be odd (stride-2 layers then halve/double exactly)")
        if self.z_bound < 1:
            raise ValueError("z_bound must be positive")

    def scale_table(self) -> np.ndarray:
        """The Gaussian scales of the y tables (float64), exactly as the runtime builds them."""
        return _runtime_scale_table(self.scale_min, self.scale_max, self.num_scale_tables)

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict; ``hyper_activation`` only when it is not the default
        (so configurations from before it existed, and their model ids, are unchanged)."""
        values = asdict(self)
        if values["hyper_activation"] == "relu":
            del values["hyper_activation"]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> CodecConfig:
        """Inverse of ``to_dict`` (JSON lists become tuples); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown CodecConfig fields: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def replace(self, **changes) -> CodecConfig:
        return replace(self, **changes)


LITE = CodecConfig(
    name="lite",
    N=64,
    M=128,
    widths=(64, 128, 128),
    kernels=(5, 3, 3, 3),
    gdn="simplified",
    hyper_kernels=(3, 3, 3),
)
"""Real-time preset for Jetson Orin NX-class devices (about 11 kMAC/pixel each way).

Budget: 720p30 is 1280·720·30 = 27.6 Mpixel/s. An Orin NX gives some 50-100 TOPS int8 and
10-20 TFLOPS fp16 in practice; convolutions this thin (64-128 channels) reach a fraction of
that, being bound by memory traffic, so we keep each transform under 20 kMAC/pixel:
20 k · 27.6 M = 0.55 TMAC/s = 1.1 TFLOPS, a ~10-20 % share of the GPU for the compressor or
the generator, which leaves room for the other one, the camera pipeline and a second stream.

Where the MACs go: the first layer sees only 3 channels, so a 5×5 kernel costs little
(25·3·64/4 = 1.2 k) and widens the receptive field where it matters; the other stages use 3×3.
The 1/4-resolution layer (64 → 128) is the largest term (4.6 k). Simplified GDN
(Johnston et al. 2019, x / (β + γ·|x|)) keeps GDN's rate-distortion benefit over ReLU at the
cost of one 1×1 convolution, and has no square or square root, so it is safe in fp16.
h_s (integer, on the CPU) costs about 0.8 kMAC/pixel, most of it in its last layer.
"""

QUALITY = CodecConfig(
    name="quality",
    N=128,
    M=192,
    widths=(128, 128, 128),
    kernels=(5, 5, 5, 5),
    gdn="gdn",
    hyper_kernels=(3, 5, 5),
)
"""The classic scale hyperprior shape (Ballé et al. 2018, N=128, M=192, 5×5 convs, GDN), with
predicted means: about 42 kMAC/pixel each way. For stored media and offline transcoding."""

WAVELET = CodecConfig(
    name="wavelet",
    N=128,
    M=768,
    widths=(64, 128, 128),
    kernels=(5, 3, 3, 3),
    hyper_kernels=(1, 3, 3),
    hyper_hidden=96,
    transform="wavelet",
    rate_qualities=(1, 2, 3, 4),
    initial_steps=wavelet.initial_steps(4),
)
"""CDF 9/7 wavelet warm start (edgesdk_export.wavelet) with a learned residual and post-filter,
all four qualities in one model (shared weights, per-quality quantization steps)."""

PRESETS: dict[str, CodecConfig] = {"lite": LITE, "quality": QUALITY, "wavelet": WAVELET}


# --- Helpers ----------------------------------------------------------------------------------


def pad_to_multiple(x: torch.Tensor, multiple: int = MULTIPLE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pads ``x`` [N, C, H, W] at the bottom and right (edge replication, cheaper to code than
    zeros) to multiples of ``multiple``; returns the padded tensor and ``(pad_h, pad_w)``."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, (pad_h, pad_w)


def unpad(x: torch.Tensor, padding: tuple[int, int]) -> torch.Tensor:
    """Crops what ``pad_to_multiple`` added."""
    pad_h, pad_w = padding
    return x[..., : x.shape[-2] - pad_h, : x.shape[-1] - pad_w]


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    """Rounded value, identity gradient."""
    return torch.round(x).detach() + (x - x.detach())


class _LowerBound(torch.autograd.Function):
    """max(x, bound), passing the gradient below the bound only where it would raise x
    (so a vanishing likelihood can recover instead of losing its gradient)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bound: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        passes = (x >= ctx.bound) | (grad < 0)
        return grad * passes.to(grad.dtype), None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    return _LowerBound.apply(x, bound)


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    # Half precision out of autocast becomes float32; float64 (exactness tests) stays.
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(x * -math.sqrt(0.5))


# --- Transforms -------------------------------------------------------------------------------


class GDN(nn.Module):
    """Generalized divisive normalization across channels (Ballé et al. 2016).

    ``y = x / sqrt(β + γ·x²)`` (inverse: ``x · sqrt(…)``), where ``γ·x²`` mixes channels like a
    1×1 convolution. ``simplified=True`` is ``x / (β + γ·|x|)`` (Johnston et al. 2019).
    β and γ are kept non-negative by squaring stored parameters; β has a floor so the
    denominator never reaches zero.
    """

    _BETA_MIN = 1e-6

    def __init__(self, channels: int, inverse: bool = False, simplified: bool = False, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.simplified = simplified
        self.beta_root = nn.Parameter(torch.full((channels,), math.sqrt(1.0 - self._BETA_MIN)))
        # Small non-zero off-diagonal entries: a root of exactly 0 would have zero gradient.
        gamma = torch.full((channels, channels), 1e-4) + (gamma_init - 1e-4) * torch.eye(channels)
        self.gamma_root = nn.Parameter(gamma.sqrt())

    @property
    def channels(self) -> int:
        return self.beta_root.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_root.square() + self._BETA_MIN
        gamma = self.gamma_root.square().view(self.channels, self.channels, 1, 1)
        if self.simplified:
            norm = F.conv2d(x.abs(), gamma, beta)
        else:
            norm = torch.sqrt(F.conv2d(x * x, gamma, beta))
        return x * norm if self.inverse else x / norm


def _analysis(config: CodecConfig) -> nn.Sequential:
    channels = (3, *config.widths, config.M)
    layers: list[nn.Module] = []
    for i, kernel in enumerate(config.kernels):
        layers.append(nn.Conv2d(channels[i], channels[i + 1], kernel, stride=2, padding=kernel // 2))
        if i < 3:
            layers.append(GDN(channels[i + 1], simplified=config.gdn == "simplified"))
    return nn.Sequential(*layers)


def _synthesis(config: CodecConfig) -> nn.Sequential:
    channels = (3, *config.widths, config.M)
    layers: list[nn.Module] = []
    for i in reversed(range(4)):
        kernel = config.kernels[i]
        # padding k//2 with output_padding 1 doubles the size exactly, for any input size.
        layers.append(
            nn.ConvTranspose2d(channels[i + 1], channels[i], kernel, stride=2, padding=kernel // 2, output_padding=1)
        )
        if i > 0:
            layers.append(GDN(channels[i], inverse=True, simplified=config.gdn == "simplified"))
    return nn.Sequential(*layers)


def _hyper_analysis(config: CodecConfig) -> nn.Sequential:
    k0, k1, k2 = config.hyper_kernels
    activation = HYPER_ACTIVATIONS[config.hyper_activation]
    return nn.Sequential(
        nn.Conv2d(config.M, config.N, k0, stride=1, padding=k0 // 2),
        activation(),
        nn.Conv2d(config.N, config.N, k1, stride=2, padding=k1 // 2),
        activation(),
        nn.Conv2d(config.N, config.N, k2, stride=2, padding=k2 // 2),
    )


def hyper_input(config: CodecConfig, y: torch.Tensor) -> torch.Tensor:
    """What h_a sees of y. Conv models: y itself with means (z must carry y's sign, Minnen et
    al. 2018), else |y|. Wavelet models: log2(1 + |y|), the coefficients' log-magnitude, whose
    local averages set the scales (and from which ``wavelet.initialize_hyperprior`` starts)."""
    if config.transform == "wavelet":
        return torch.log2(1.0 + y.abs())
    return y if config.predict_means else y.abs()


# --- Entropy models ---------------------------------------------------------------------------


class FactorizedPrior(nn.Module):
    """A learned univariate density per channel for z (the "entropy bottleneck" of Ballé et
    al. 2018): each channel's CDF is ``sigmoid(f(x))`` with ``f`` a small network that is
    monotone by construction — positive matrices (softplus) and ``x + tanh(a)·tanh(x)``
    nonlinearities with |tanh(a)| < 1. The probability of an integer bin is the CDF difference
    across it, so the density needs no separate quantile/aux loss: the integer tables cover a
    fixed support [-bound, bound] and the rest goes to the escape symbol.
    """

    def __init__(
        self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0,
        bound: int = 32, tail_mass_floor: float = 1e-9,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.bound = bound
        self.tail_mass_floor = tail_mass_floor
        dims = (1, *filters, 1)
        # Start as a wide density (std ≈ init_scale): early z values are far from 0.
        scale = init_scale ** (1.0 / (len(dims) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(dims) - 1):
            init = math.log(math.expm1(1.0 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) for x [C, 1, L] in x's dtype (float64 for the exported tables)."""
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(matrix).to(x.dtype), x) + bias.to(x.dtype)
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]).to(x.dtype) * torch.tanh(x)
        return x

    def _bin_probability(self, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
        # Subtract in the tail where the sigmoids are small, not near 1, to keep precision.
        sign = torch.where(lower + upper > 0, -1.0, 1.0).to(lower.dtype)
        return (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()

    def likelihood(self, values: torch.Tensor) -> torch.Tensor:
        """Probability of the unit bin around each value of ``values`` [N, C, H, W]."""
        n, c = values.shape[:2]
        x = values.transpose(0, 1).reshape(c, 1, -1)
        p = self._bin_probability(self._logits(x - 0.5), self._logits(x + 0.5))
        return lower_bound(p.reshape(c, n, *values.shape[2:]).transpose(0, 1), LIKELIHOOD_BOUND)

    @torch.no_grad()
    def integer_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Per channel: pmf over the integers [-bound, bound] ([C, 2·bound + 1] float64) and the
        mass outside ([C] float64, at least ``tail_mass_floor``). The table offset is -bound:
        ``edgesdk.bitstream.entropy.pmf_to_quantized_cdf(pmfs[c], tails[c])`` gives channel c's CDF."""
        edges = torch.arange(-self.bound, self.bound + 2, dtype=torch.float64, device=self.biases[0].device) - 0.5
        logits = self._logits(edges.expand(self.channels, 1, -1))[:, 0, :]
        pmfs = self._bin_probability(logits[:, :-1], logits[:, 1:])
        tails = torch.sigmoid(logits[:, 0]) + torch.sigmoid(-logits[:, -1])
        return pmfs.cpu().numpy(), tails.clamp_min(self.tail_mass_floor).cpu().numpy()


class GaussianConditional(nn.Module):
    """Rate model of y: ``y − mean`` is Gaussian with the scale of its table, integrated over
    unit bins. The value uses the table scale of the (integer) index exactly; the gradient
    flows through log-linear interpolation between table scales (the table is log-spaced,
    so that is exp of a linear function of the index), i.e. to h_s's unrounded output."""

    def __init__(self, scales: np.ndarray) -> None:
        super().__init__()
        scales = np.asarray(scales, dtype=np.float64)
        self.register_buffer("scales", torch.tensor(scales, dtype=torch.float32))
        self.log_min = float(np.log(scales[0]))
        self.log_step = float((np.log(scales[-1]) - np.log(scales[0])) / (len(scales) - 1))

    def scale(self, index: torch.Tensor) -> torch.Tensor:
        exact = self.scales[index.detach().round().long().clamp(0, len(self.scales) - 1)]
        smooth = torch.exp(self.log_min + index * self.log_step)
        return exact + (smooth - smooth.detach())

    def likelihood(self, values: torch.Tensor, index: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        # Symmetric: evaluate on the left half-line where the normal CDF is accurate.
        v = (values - mean).abs()
        s = self.scale(index)
        p = _standard_normal_cdf((0.5 - v) / s) - _standard_normal_cdf((-0.5 - v) / s)
        return lower_bound(p, LIKELIHOOD_BOUND)


# --- The model --------------------------------------------------------------------------------


class CompressedParts(NamedTuple):
    y: torch.Tensor  # float latent [N, M, H/16, W/16]
    z_hat: torch.Tensor  # int32 hyper-latent [N, N_z, H/64, W/64]


class ImageCodecModel(nn.Module):
    """Compressor g_a, generator g_s, hyper-analysis h_a, integer hyper-synthesis h_s
    (``QuantizedHyperSynthesis``), factorized prior ``z_prior`` and ``y_prior``."""

    def __init__(self, config: CodecConfig = LITE) -> None:
        super().__init__()
        self.config = config
        if config.transform == "wavelet":
            shared = wavelet.WaveletTransform(WAVELET_LEVELS, len(config.rate_qualities), config.initial_steps)
            self.g_a = wavelet.WaveletAnalysis(shared, config.residual_widths)
            self.g_s = wavelet.WaveletSynthesis(shared, config.post_filter_width)
        else:
            self.g_a = _analysis(config)
            self.g_s = _synthesis(config)
        self.h_a = _hyper_analysis(config)
        self.h_s = QuantizedHyperSynthesis(
            config.N,
            config.M,
            hidden_channels=config.hyper_hidden,
            predict_means=config.predict_means,
            num_scale_tables=config.num_scale_tables,
            mean_fraction_bits=config.mean_fraction_bits,
            kernel_size=config.hyper_synthesis_kernel,
        )
        self.z_prior = FactorizedPrior(config.N, config.prior_filters, bound=config.z_bound,
                                       tail_mass_floor=config.z_tail_mass)
        self.y_prior = GaussianConditional(config.scale_table())

    def hyper_analysis(self, y: torch.Tensor) -> torch.Tensor:
        """z (float) from y: the compressor's second output."""
        return self.h_a(hyper_input(self.config, y))

    @property
    def rate_levels(self) -> int:
        """How many rate levels share this model's weights (1 for single-rate models)."""
        return max(1, len(self.config.rate_qualities))

    def select_rate_level(self, level: int) -> None:
        """The rate level that g_a and g_s use when called without one (export, codec)."""
        if not 0 <= level < self.rate_levels:
            raise ValueError(f"rate level must be in 0..{self.rate_levels - 1}")
        if self.config.transform == "wavelet":
            self.g_a.transform.quality = level

    def _transforms(self, rate_level: torch.Tensor | None):
        if rate_level is None or self.config.transform != "wavelet":
            return self.g_a, self.g_s
        return (functools.partial(self.g_a, quality=rate_level), functools.partial(self.g_s, quality=rate_level))

    def forward(self, x: torch.Tensor, rate_level: torch.Tensor | None = None,
                reconstruct: bool = True) -> dict[str, torch.Tensor]:
        """Training pass. In train mode the rates of conv models use additive uniform noise; in
        eval mode, and always for wavelet models, the actual rounding (straight-through): most
        wavelet coefficients are far below one step, where noise would price zeros as if they
        were spread over a whole bin and teach the entropy model scales far too wide. The generator always gets ``round(y − mean) + mean`` (straight-through).
        ``rate_level`` (int64 [N]): each image's rate level, for multi-rate models.

        Returns x_hat (unclamped), likelihoods_y, likelihoods_z, bpp (mean bits per pixel) and
        bits (per image). ``reconstruct=False`` skips g_s (x_hat is None): rate-only training.
        """
        _check_size(x)
        g_a, g_s = self._transforms(rate_level)
        y = g_a(x)
        z = self.hyper_analysis(y)
        # The entropy path runs in float32 whatever autocast says: h_s simulates integers and
        # the likelihoods need the precision.
        with torch.autocast(device_type=x.device.type, enabled=False):
            y, z = _at_least_float32(y), _at_least_float32(z)
            z_hat = _round_ste(z)  # h_s sees the integers the decoder will have
            noisy_rates = self.training and self.config.transform != "wavelet"
            if noisy_rates:
                z_rate = z + torch.empty_like(z).uniform_(-0.5, 0.5)
            else:
                z_rate = z_hat
            likelihoods_z = self.z_prior.likelihood(z_rate)
            index, mean = self.h_s(z_hat)
            if mean is None:
                mean = torch.zeros_like(y)
            if noisy_rates:
                y_rate = y + torch.empty_like(y).uniform_(-0.5, 0.5)
            else:  # straight-through: the rate of what is coded, with y's gradient
                y_rate = _round_ste(y - mean) + mean
            likelihoods_y = self.y_prior.likelihood(y_rate, index, mean)
            y_hat = _round_ste(y - mean) + mean  # what the decoder will have: symbol + mean
            pixels = x.shape[0] * x.shape[2] * x.shape[3]
            bits = -(torch.log2(likelihoods_y).sum(dim=(1, 2, 3)) + torch.log2(likelihoods_z).sum(dim=(1, 2, 3)))
            bpp = bits.sum() / pixels
        x_hat = g_s(y_hat) if reconstruct else None
        return {"x_hat": x_hat, "likelihoods_y": likelihoods_y, "likelihoods_z": likelihoods_z, "bpp": bpp,
                "bits": bits}

    @torch.no_grad()
    def compress_parts(self, x: torch.Tensor) -> CompressedParts:
        """Float latent y and integer hyper-latent ẑ of (padded) images, for the codec pipeline.

        The pipeline codes ẑ with the z tables, runs the integer h_s on ẑ for indexes and means,
        and codes round(y − mean) with those indexes.
        """
        _check_size(x)
        y = self.g_a(x)
        z_hat = torch.round(_at_least_float32(self.hyper_analysis(y))).to(torch.int32)
        return CompressedParts(y, z_hat)

    @torch.no_grad()
    def decompress_parts(self, y_hat: torch.Tensor) -> torch.Tensor:
        """Reconstruction in [0, 1] from a decoded latent ``ŷ = symbol + mean`` (any size)."""
        return self.g_s(y_hat).clamp_(0.0, 1.0)

    @torch.no_grad()
    def initialize_entropy_model(self, x: torch.Tensor) -> None:
        """Starts h_s where a per-channel (factorized) model of y would be: each channel's table
        index at its standard deviation and its mean at its average over ``x`` [N, 3, H, W]
        (at the model's selected rate level). A warm-started transform is near a good codec
        from step 0; without this, h_s would need thousands of steps to move its outputs by
        tens of table steps or hundreds of latent units."""
        prior = self.y_prior
        if self.config.transform == "wavelet":
            wavelet.initialize_hyperprior(self.h_a, self.h_s, prior.log_min, prior.log_step)
        y = self.g_a(x)
        m = self.config.M
        last = self.h_s.convs[-1]
        # What the weights alone give each channel (the bias is set below): h_s without its last
        # bias and without rounding or clamping, in float.
        features = torch.round(self.hyper_analysis(y))
        for conv, block in zip(self.h_s.convs[:-1], self.h_s.blocks):
            features = F.relu(F.conv2d(features, conv.weight, conv.bias, padding=conv.padding))
            if block > 1:
                features = F.pixel_shuffle(features, block)
        from_weights = F.conv2d(features, last.weight[:m], None, padding=last.padding).mean(dim=(0, 2, 3))
        y = y.double()
        mean = y.mean(dim=(0, 2, 3))
        std = (y - mean.view(1, -1, 1, 1)).square().mean(dim=(0, 2, 3)).sqrt().clamp_min(1e-3)
        index = (std.log() - prior.log_min) / prior.log_step
        bias = last.bias
        bias[:m] = (index - from_weights.double()).to(bias.dtype)
        if self.config.predict_means:
            bias[m:] = mean.to(bias.dtype)

    def parameter_groups(self, lr: float, entropy_lr_scale: float) -> list[dict]:
        """Optimizer groups: the last layer of h_s and the z prior at ``entropy_lr_scale`` × lr
        (their outputs live in table and latent units, tens to hundreds, where Adam's steps of
        about lr would take tens of thousands of steps), everything else at lr."""
        fast = [*self.h_s.convs[-1].parameters(), *self.z_prior.parameters()]
        fast_ids = {id(p) for p in fast}
        rest = [p for p in self.parameters() if id(p) not in fast_ids]
        return [{"params": rest, "lr_scale": 1.0}, {"params": fast, "lr_scale": entropy_lr_scale}]

    def z_tables(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(pmfs [N, 2K+1], tail masses [N], offset −K) for ``CdfTables.from_pmfs``."""
        pmfs, tails = self.z_prior.integer_tables()
        return pmfs, tails, -self.config.z_bound


def _check_size(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images [N, 3, H, W], got shape {tuple(x.shape)}")
    if x.shape[2] % MULTIPLE or x.shape[3] % MULTIPLE:
        raise ValueError(f"height and width must be multiples of {MULTIPLE} (use pad_to_multiple), "
                         f"got {x.shape[2]}×{x.shape[3]}")


# --- Cost -------------------------------------------------------------------------------------

MAC_PARTS = ("g_a", "h_a", "h_s", "g_s", "encoder", "decoder", "all")


def _sequential_macs(layers: nn.Sequential, positions: float) -> tuple[float, float]:
    """(MACs per image pixel, positions per pixel at the output) of a conv stack whose input
    has ``positions`` positions per image pixel."""
    macs = 0.0
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            positions /= layer.stride[0] * layer.stride[1]
            k = layer.kernel_size[0] * layer.kernel_size[1]
            macs += k * layer.in_channels * layer.out_channels / layer.groups * positions
        elif isinstance(layer, nn.ConvTranspose2d):
            # Every input position scatters k²·C_in·C_out products.
            k = layer.kernel_size[0] * layer.kernel_size[1]
            macs += k * layer.in_channels * layer.out_channels / layer.groups * positions
            positions *= layer.stride[0] * layer.stride[1]
        elif isinstance(layer, GDN):
            macs += layer.channels**2 * positions  # the 1×1 channel-mixing convolution
    return macs, positions


def _hooked_macs(module: nn.Module, run, pixels: int) -> float:
    """MACs per image pixel of the convolutions and GDNs that ``run()`` calls in ``module``."""
    total = [0.0]

    def count(layer, inputs, output):
        if isinstance(layer, nn.Conv2d):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            total[0] += k * layer.in_channels * layer.out_channels / layer.groups * output.shape[-2] * output.shape[-1]
        elif isinstance(layer, GDN):
            total[0] += layer.channels**2 * output.shape[-2] * output.shape[-1]

    handles = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, (nn.Conv2d, GDN))]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return total[0] / pixels


@functools.lru_cache(maxsize=16)
def _mac_breakdown(config: CodecConfig) -> dict[str, float]:
    model = ImageCodecModel(config)
    if config.transform == "wavelet":
        x = torch.zeros(1, 3, 128, 128)
        y = model.g_a(x)
        g_a = _hooked_macs(model.g_a, lambda: model.g_a(x), 128 * 128)
        g_s = _hooked_macs(model.g_s, lambda: model.g_s(y), 128 * 128)
        h_a, hyper = _sequential_macs(model.h_a, 1 / 256)
    else:
        g_a, latent = _sequential_macs(model.g_a, 1.0)
        h_a, hyper = _sequential_macs(model.h_a, latent)
        g_s, _ = _sequential_macs(model.g_s, latent)
    h_s, positions = 0.0, hyper
    blocks = (*model.h_s.blocks, 1)  # depth-to-space after each conv (1: none)
    for conv, block in zip(model.h_s.convs, blocks):
        h_s += conv.kernel_size[0] * conv.kernel_size[1] * conv.in_channels * conv.out_channels * positions
        positions *= block * block
    parts = {"g_a": g_a, "h_a": h_a, "h_s": h_s, "g_s": g_s}
    parts["encoder"] = g_a + h_a + h_s  # the encoder runs h_s too, to pick the tables
    parts["decoder"] = h_s + g_s
    parts["all"] = g_a + h_a + h_s + g_s
    return parts


def macs_per_pixel(config: CodecConfig, part: str = "all") -> float:
    """Multiply-accumulates per image pixel of the convolutions (GDN's channel mixing counted as
    the 1×1 convolution it is; elementwise ops, biases and rounding not counted), computed from
    the layer shapes. ``part``: one of ``MAC_PARTS``. g_a, h_a and g_s run in float on the
    accelerator; h_s is the integer network on the CPU, run by both encoder and decoder."""
    if part not in MAC_PARTS:
        raise ValueError(f"part must be one of {MAC_PARTS}, not {part!r}")
    return _mac_breakdown(config)[part]  # the cached dict is never handed out
