"""CompressAI's bmshj2018-factorized (``FactorizedPrior``) as one of our hyperprior bundles.

It has no hyper-latent: each latent channel has one learned density (an entropy bottleneck).
Our frames always carry ẑ and an integer hyper-synthesis, so the import gives the model a
hyper-latent of one channel that is always 0 (h_a's weights are zero; its table makes the 0
cost about 0.001 bit per element) and an integer h_s whose output is one table index and one
mean per channel (distilled like the other architectures'): every latent of a channel is coded
with a Gaussian table around its median. The float transforms are CompressAI's, unchanged.
The rate cost of trading each channel's learned density for a Gaussian is measured against
CompressAI's own density by the import (docs/import.md).
"""

from __future__ import annotations

import torch
from torch import nn

from edgesdk.errors import InvalidArgumentError
from edgesdk_export.models import CodecConfig, FactorizedPrior, ImageCodecModel

PRIOR_FILTERS = (3, 3, 3, 3)  # CompressAI's EntropyBottleneck default
STEEP = 30.0  # softplus(30) ≈ 30 per layer: the hyper-latent density is a step at 0


class CheckpointError(InvalidArgumentError):
    """A checkpoint cannot be read, or is not the architecture it was named as."""


def _get(state: dict, key: str, arch: str) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(f"the checkpoint has no {key!r}: it is not a CompressAI {arch} model")
    return state[key]


def config(state: dict, arch: str = "bmshj2018-factorized") -> CodecConfig:
    """Our configuration of the model: CompressAI's transforms, a one-channel hyper-latent."""
    n, m = _get(state, "g_a.0.weight", arch).shape[0], _get(state, "g_a.6.weight", arch).shape[0]
    if "h_a.0.weight" in state or tuple(_get(state, "entropy_bottleneck.quantiles", arch).shape) != (m, 1, 3):
        raise CheckpointError(f"the checkpoint has a hyperprior (h_a) or an entropy bottleneck of other than M={m} "
                              f"channels: is the checkpoint another architecture?")
    return CodecConfig(name=arch, N=1, M=int(m), widths=(int(n),) * 3, kernels=(5, 5, 5, 5), gdn="gdn",
                       hyper_kernels=(1, 1, 1), hyper_hidden=4, hyper_synthesis_kernel=1, predict_means=True)


def load(state: dict, model: ImageCodecModel, transforms: dict[str, torch.Tensor]) -> torch.Tensor:
    """Loads the transforms, a zero h_a and a step density for the hyper-latent into ``model``;
    returns the hyper-latent's medians (one 0)."""
    from edgesdk_export.compressai_import import load_weights

    weights = dict(transforms)
    for key, value in model.state_dict().items():
        if key.startswith("h_a."):
            weights[key] = torch.zeros_like(value)
        elif key.startswith("z_prior.matrices."):
            weights[key] = torch.full_like(value, STEEP)
        elif key.startswith(("z_prior.biases.", "z_prior.factors.")):
            weights[key] = torch.zeros_like(value)
    # Its input is always 0, so each hidden layer's output is set by its bias alone: keep them
    # positive (a ReLU that is never active leaves the integer network no activation scale).
    for conv in model.h_s.convs[:-1]:
        weights[f"h_s.{_name(model.h_s, conv)}.weight"] = conv.weight.detach().abs()
        weights[f"h_s.{_name(model.h_s, conv)}.bias"] = torch.ones_like(conv.bias)
    load_weights(model, weights)
    return torch.zeros(1)


def _name(parent: nn.Module, child: nn.Module) -> str:
    return next(name for name, module in parent.named_modules() if module is child)


class Teacher(nn.Module):
    """The entropy bottleneck of y as a constant "hyper-synthesis": per channel, the standard
    deviation of its density as the scale and its median as the mean; ``bits`` prices latents
    with the density itself, as CompressAI does."""

    def __init__(self, state: dict, arch: str = "bmshj2018-factorized") -> None:
        super().__init__()
        quantiles = _get(state, "entropy_bottleneck.quantiles", arch)
        m = quantiles.shape[0]
        self.prior = FactorizedPrior(m, PRIOR_FILTERS)
        self.prior.load_state_dict({f"{kind}.{i}": _get(state, f"entropy_bottleneck.{kind}.{i}", arch)
                                    for kind, count in (("matrices", 5), ("biases", 5), ("factors", 4))
                                    for i in range(count)})
        self.prior.requires_grad_(False)
        self.medians = quantiles[:, 0, 1]
        low, high = float(quantiles[:, 0, 0].min()), float(quantiles[:, 0, 2].max())
        grid = torch.arange(int(low) - 2, int(high) + 3, dtype=torch.float32)
        with torch.no_grad():
            p = self.prior.likelihood(grid.view(1, 1, -1, 1).expand(1, m, -1, 1))[0, :, :, 0]
            p = p / p.sum(dim=1, keepdim=True)
            variance = (p * (grid.view(1, -1) - self.medians.view(-1, 1)).square()).sum(dim=1)
        self.register_buffer("scales", variance.sqrt())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """[B, 2M, 4h, 4w]: the scales, then the medians, the same everywhere."""
        constants = torch.cat([self.scales, self.medians]).view(1, -1, 1, 1)
        return constants.expand(z.shape[0], -1, 4 * z.shape[2], 4 * z.shape[3])

    def bits(self, y: torch.Tensor) -> torch.Tensor:
        """Bits of round(y - median) + median under CompressAI's density of y."""
        medians = self.medians.view(1, -1, 1, 1)
        return -torch.log2(self.prior.likelihood(torch.round(y - medians) + medians)).sum()
