"""CompressAI checkpoints → edgesdk bundles (``edgesdk import compressai``, docs/import.md).

The float transforms are taken from the checkpoint as they are: CompressAI's g_a, g_s (5×5
stride-2 convolutions with GDN) and h_a are this package's ``conv`` transforms with widths
(N, N, N), kernels 5 and full GDN, so the weights load one to one (GDN's reparametrised β and
γ are resolved to values first). The hyper-latent's medians are folded into h_a's last bias
and the z density's first bias, so ẑ is CompressAI's own symbols and our per-channel integer
tables price them as CompressAI's density does. CompressAI's float hyper-synthesis decides
table indexes in floats, which is what breaks its streams across machines; it becomes our
integer network (``intnet.QuantizedHyperSynthesis``) by a short distillation that minimises
the bits of the latents of the user's photographs, teacher-initialised from the float h_s.
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgesdk.errors import InvalidArgumentError, NotFoundError
from edgesdk_export import compressai_factorized as factorized
from edgesdk_export.models import CodecConfig, ImageCodecModel, _round_ste

ARCHITECTURES = ("bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean")
# CompressAI's MSE λ per quality (its zoo's training table), recorded in the bundle for refinement.
COMPRESSAI_LAMBDAS = {1: 0.0018, 2: 0.0035, 3: 0.0067, 4: 0.0130, 5: 0.0250, 6: 0.0483, 7: 0.0932, 8: 0.1800}
_PEDESTAL = 2.0**-36  # CompressAI's NonNegativeParametrizer: (2^-18)^2
_GDN_BETA_MIN = 1e-6
_OLD_PRIOR_NAMES = {"_matrix": "matrices.", "_bias": "biases.", "_factor": "factors."}


CheckpointError = factorized.CheckpointError

@dataclass
class ImportReport:
    """What the import measured: the bits of the user's photographs under CompressAI's float
    hyper-synthesis and under the distilled integer one (the streams' real cost)."""

    float_bits: float
    integer_bits: float
    pixels: int
    distill_steps: int
    distill_seconds: float

    @property
    def rate_cost_percent(self) -> float:
        """How many more bits the integer hyper-synthesis spends than the float one, in percent."""
        return 100.0 * (self.integer_bits / self.float_bits - 1.0)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under CompressAI's current names, whatever the spelling: a bare
    state dict or one under "state_dict"/"model"/"net", DataParallel's "module." prefix, and the
    entropy bottleneck's names before CompressAI 1.2 (``_matrix0`` for ``matrices.0``)."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols: the error below says it
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - pickle, zip and torch raise many kinds
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(error).__name__})") from None
    for wrapper in ("state_dict", "model", "net"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: holds no state dict of tensors")
    tensors = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        for old, new in _OLD_PRIOR_NAMES.items():
            if key.startswith(f"entropy_bottleneck.{old}"):
                key = f"entropy_bottleneck.{new}{key.removeprefix(f'entropy_bottleneck.{old}')}"
        tensors[key] = value.float() if value.is_floating_point() else value
    return tensors


def _tensor(state: dict, key: str, arch: str) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(f"the checkpoint has no {key!r}: it is not a CompressAI {arch} model")
    return state[key]


def config_of(arch: str, state: dict) -> CodecConfig:
    """Our configuration of a CompressAI model (N and M read from the weights)."""
    if arch not in ARCHITECTURES:
        raise InvalidArgumentError(f"--arch must be one of {', '.join(ARCHITECTURES)}, not {arch!r}")
    if arch == "bmshj2018-factorized":
        return factorized.config(state, arch)
    n, m = _tensor(state, "g_a.0.weight", arch).shape[0], _tensor(state, "g_a.6.weight", arch).shape[0]
    mean_scale = arch == "mbt2018-mean"
    expected = {"h_a.0.weight": (n, m, 3, 3), "h_a.4.weight": (n, n, 5, 5), "g_s.6.weight": (n, 3, 5, 5),
                "h_s.4.weight": (2 * m, m * 3 // 2, 3, 3) if mean_scale else (m, n, 3, 3)}
    for key, shape in expected.items():
        if tuple(_tensor(state, key, arch).shape) != shape:
            raise CheckpointError(f"{key} is {tuple(state[key].shape)}, a {arch} model with N={n}, M={m} has {shape}: "
                                  f"is the checkpoint another architecture?")
    return CodecConfig(name=arch, N=int(n), M=int(m), widths=(int(n),) * 3, kernels=(5, 5, 5, 5), gdn="gdn",
                       hyper_kernels=(3, 5, 5), hyper_activation="leaky_relu" if mean_scale else "relu",
                       predict_means=mean_scale, prior_filters=(3, 3, 3, 3))


def _gdn_roots(state: dict, prefix: str) -> dict[str, torch.Tensor]:
    """Our GDN's stored roots from CompressAI's reparametrised β and γ (β ≥ 1e-6, γ ≥ 0)."""
    beta_bound = math.sqrt(_GDN_BETA_MIN + _PEDESTAL)
    beta = state[prefix + "beta"].clamp_min(beta_bound).square() - _PEDESTAL
    gamma = state[prefix + "gamma"].clamp_min(math.sqrt(_PEDESTAL)).square() - _PEDESTAL
    return {prefix + "beta_root": (beta - _GDN_BETA_MIN).clamp_min(0).sqrt(), prefix + "gamma_root": gamma.clamp_min(0).sqrt()}


def transform_weights(arch: str, state: dict) -> dict[str, torch.Tensor]:
    """g_a's and g_s's weights under our names (GDN resolved to our roots)."""
    ours = {}
    for transform in ("g_a", "g_s"):
        for layer in (0, 2, 4, 6):
            for kind in ("weight", "bias"):
                key = f"{transform}.{layer}.{kind}"
                ours[key] = _tensor(state, key, arch)
        for layer in (1, 3, 5):
            _tensor(state, f"{transform}.{layer}.beta", arch)
            ours.update(_gdn_roots(state, f"{transform}.{layer}."))
    return ours


def load_weights(model: ImageCodecModel, weights: dict[str, torch.Tensor]) -> None:
    """Replaces ``model``'s tensors named in ``weights`` (shapes checked)."""
    current = model.state_dict()
    for key, value in weights.items():
        if tuple(value.shape) != tuple(current[key].shape):
            raise CheckpointError(f"{key}: {tuple(value.shape)} in the checkpoint, {tuple(current[key].shape)} expected")
        current[key] = value.to(current[key].dtype)
    model.load_state_dict(current)


def float_weights(arch: str, state: dict, model: ImageCodecModel) -> torch.Tensor:
    """Loads g_a, g_s, h_a and the z density into ``model`` (its h_s is left to distillation);
    returns CompressAI's hyper-latent medians [N]."""
    if arch == "bmshj2018-factorized":
        return factorized.load(state, model, transform_weights(arch, state))
    ours = transform_weights(arch, state)
    medians = _tensor(state, "entropy_bottleneck.quantiles", arch)[:, 0, 1]
    for layer in (0, 2, 4):
        for kind in ("weight", "bias"):
            ours[f"h_a.{layer}.{kind}"] = _tensor(state, f"h_a.{layer}.{kind}", arch)
    ours["h_a.4.bias"] = ours["h_a.4.bias"] - medians  # z - median: ẑ is CompressAI's symbols
    prior = model.z_prior
    for kind, count in (("matrices", len(prior.matrices)), ("biases", len(prior.biases)), ("factors", len(prior.factors))):
        for i in range(count):
            ours[f"z_prior.{kind}.{i}"] = _tensor(state, f"entropy_bottleneck.{kind}.{i}", arch)
    # The density of z - median at x is CompressAI's at x + median: shift the first layer's input.
    ours["z_prior.biases.0"] = ours["z_prior.biases.0"] + F.softplus(ours["z_prior.matrices.0"]) * medians.view(-1, 1, 1)
    load_weights(model, ours)
    return medians


def teacher(arch: str, state: dict) -> nn.Module:
    """CompressAI's float h_s with the checkpoint's weights: ẑ + median → scales (and means);
    for bmshj2018-factorized, its per-channel density as constant scales and medians."""
    if arch == "bmshj2018-factorized":
        return factorized.Teacher(state)
    mean_scale = arch == "mbt2018-mean"
    activation = (lambda: nn.LeakyReLU(0.01)) if mean_scale else nn.ReLU
    layers: list[nn.Module] = []
    for layer in (0, 2, 4):
        weight = _tensor(state, f"h_s.{layer}.weight", arch)
        if layer < 4:
            conv = nn.ConvTranspose2d(weight.shape[0], weight.shape[1], 5, stride=2, padding=2, output_padding=1)
        else:
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
        conv.load_state_dict({"weight": weight, "bias": _tensor(state, f"h_s.{layer}.bias", arch)})
        layers.append(conv)
        if layer < 4 or not mean_scale:
            layers.append(activation())
    return nn.Sequential(*layers).eval().requires_grad_(False)


def teacher_parameters(net: nn.Sequential, z_symbols: torch.Tensor, medians: torch.Tensor, m: int,
                       scale_min: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(scales, means or None) of CompressAI's float h_s for our ẑ symbols."""
    out = net(z_symbols + medians.view(1, -1, 1, 1))
    if out.shape[1] == 2 * m:
        return out[:, :m].clamp_min(scale_min), out[:, m:]
    return out.clamp_min(scale_min), None


def gaussian_bits(y: torch.Tensor, scales: torch.Tensor, means: torch.Tensor | None) -> torch.Tensor:
    """Bits of round(y - means) under Gaussians of the given (float) scales, as CompressAI prices them."""
    means = torch.zeros_like(y) if means is None else means
    v = (torch.round(y - means)).abs()
    normal = torch.distributions.Normal(0.0, 1.0)
    p = normal.cdf((0.5 - v) / scales) - normal.cdf((-0.5 - v) / scales)
    return -torch.log2(p.clamp_min(1e-9)).sum()


def distill(model: ImageCodecModel, net: nn.Sequential, medians: torch.Tensor, images: list[np.ndarray], steps: int,
            log: Callable[[str], None], crop: int = 256, lr: float = 1e-3) -> None:
    """Trains ``model.h_s`` (integer arithmetic in the loop) to minimise the bits of the latents
    of ``images``' crops under its tables, from where CompressAI's float h_s is."""
    with torch.no_grad():
        ys, zs = [], []
        for pixels in images:
            x = _crop_tensor(pixels, crop)
            ys.append(model.g_a(x))
            zs.append(torch.round(model.hyper_analysis(ys[-1])))
    prior, config = model.y_prior, model.config
    h_s = model.h_s.train()
    h_s.requires_grad_(True)
    last = list(h_s.convs[-1].parameters())  # in table and latent units: a faster rate (as in training)
    rest = [p for p in h_s.parameters() if all(p is not q for q in last)]
    optimizer = torch.optim.Adam([{"params": rest}, {"params": last, "lr": 10 * lr}], lr=lr)
    for step in range(steps):
        i = step % len(ys)
        index, mean = h_s(zs[i])
        scales, means = teacher_parameters(net, zs[i], medians, config.M, config.scale_min)
        target = (scales.log() - prior.log_min) / prior.log_step
        # First match the teacher (a good start), then minimise the bits themselves.
        warm = max(0.0, 1.0 - 2.0 * step / max(1, steps))
        loss = warm * (index - target).square().mean()
        if mean is not None:
            loss = loss + warm * (mean - means).square().mean()
        else:
            mean = torch.zeros_like(ys[i])
        bits = -torch.log2(prior.likelihood(_round_ste(ys[i] - mean) + mean, index, mean)).sum()
        loss = loss + bits / ys[i].numel()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            log(f"  distillation step {step + 1}/{steps}: {bits.item() / ys[i].numel():.3f} bits per latent")
    h_s.eval().requires_grad_(False)


def _crop_tensor(pixels: np.ndarray, crop: int) -> torch.Tensor:
    """The central crop (at most ``crop`` square, multiples of 64) as a [1, 3, h, w] tensor."""
    h, w = (min(crop, side) // 64 * 64 for side in pixels.shape[:2])
    if h < 64 or w < 64:
        raise InvalidArgumentError(f"photographs for distillation must be at least 64x64, not {pixels.shape[1]}x{pixels.shape[0]}")
    top, left = (pixels.shape[0] - h) // 2, (pixels.shape[1] - w) // 2
    return torch.from_numpy(pixels[top:top + h, left:left + w].transpose(2, 0, 1)[None].astype(np.float32) / 255.0)


def measure(model: ImageCodecModel, net: nn.Sequential, medians: torch.Tensor, images: list[np.ndarray],
            crop: int) -> tuple[float, float, int]:
    """(bits under the float h_s, bits of the integer streams, pixels) over ``images``' crops:
    the same ẑ bits on both sides, so the difference is the hyper-synthesis' alone."""
    from edgesdk_export.codec import torch_codec

    codec = torch_codec(model)
    float_bits = integer_bits = 0.0
    pixels = 0
    with torch.no_grad():
        for image in images:
            x = _crop_tensor(image, crop)
            y = model.g_a(x)
            z = torch.round(model.hyper_analysis(y))
            hyper, latent = codec.entropy_model.encode(y[0].numpy(), z[0].numpy())
            if isinstance(net, factorized.Teacher):  # CompressAI's own density of y
                float_bits += float(net.bits(y)) + 8 * len(hyper)
            else:
                scales, means = teacher_parameters(net, z, medians, model.config.M, model.config.scale_min)
                float_bits += float(gaussian_bits(y, scales, means)) + 8 * len(hyper)
            integer_bits += 8 * (len(hyper) + len(latent))
            pixels += x.shape[2] * x.shape[3]
    return float_bits, integer_bits, pixels


def import_compressai(checkpoint: str | Path, arch: str, out: str | Path, images: list[np.ndarray], *,
                      quality: int = 3, steps: int = 300, crop: int = 256, overwrite: bool = False,
                      precisions: tuple[str, ...] = ("fp32", "fp16"), log: Callable[[str], None] = print) -> ImportReport:
    """Writes the bundle ``out`` (one quality level) from a CompressAI checkpoint; distils the
    integer h_s on ``images`` (HxWx3 uint8) and returns what it measured on them."""
    from edgesdk_export.bundle_export import export_bundle
    from edgesdk_export.train import CHECKPOINT_FORMAT, CHECKPOINT_VERSION

    if quality not in COMPRESSAI_LAMBDAS:
        raise InvalidArgumentError(f"--quality must be one of CompressAI's 1..8, not {quality}")
    if not images:
        raise InvalidArgumentError("distillation needs at least one photograph")
    state = read_state_dict(checkpoint)
    config = config_of(arch, state)
    torch.manual_seed(0)
    model = ImageCodecModel(config).eval()
    medians = float_weights(arch, state, model)
    net = teacher(arch, state)
    log(f"{arch}: N={config.N}, M={config.M}; distilling the integer hyper-synthesis on {len(images)} photograph(s)")
    start = time.perf_counter()
    distill(model, net, medians, images, steps, log, crop)
    elapsed = time.perf_counter() - start
    float_bits, integer_bits, pixels = measure(model, net, medians, images, crop)
    report = ImportReport(float_bits, integer_bits, pixels, steps, elapsed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "imported.pt"
        torch.save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": steps, "elapsed_s": elapsed,
                    "config": config.to_dict(), "quality": quality, "lmbda": COMPRESSAI_LAMBDAS[quality],
                    "model": model.state_dict()}, path)
        export_bundle([path], out, precisions=precisions, overwrite=overwrite,
                      log=lambda line: log(line.replace(str(path), str(checkpoint))))
    return report
