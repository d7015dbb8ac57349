"""Trains a search feature identifier on (integer latent, pixel labels) pairs and quantizes it
to an integer network (docs/latent-search.md, "Training").

Float network per latent cell: 1×1 conv → ReLU → 3×3 conv → ReLU → 1×1 conv to one channel
per component; each component pools over the frame's cells (mean, or max for ``face``).
Brightness/colour targets are standardised for training; the quantized network's last
layer keeps a fine integer step, and each component's ``scale``/``offset`` maps the pooled
integer back to label units. Quantization is post-training (int8 weights per output channel,
int8 activations calibrated on the training latents); the report gives the float and the
integer network's errors on held-out images.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgesdk.bitstream.intnet import IntNetwork
from edgesdk.search.identifier import INPUT_LIMIT, Component, FeatureIdentifier
from edgesdk.search.labels import COMPONENTS
from edgesdk_export.intnet import INT8_MAX, IntConv, IntNetworkSpec, requant_parameters

FACE = COMPONENTS.index("face")
OUTPUT_STEPS = 4096  # integer steps per label standard deviation (per unit for face)


def split_pairs(pairs: dict) -> tuple[list[np.ndarray], np.ndarray]:
    """The per-image int8 latents [M, h, w] and the labels [n, K] of a pairs file."""
    inputs, offset = [], 0
    for shape in pairs["shapes"]:
        size = int(np.prod(shape))
        inputs.append(pairs["inputs"][offset:offset + size].reshape(shape))
        offset += size
    return inputs, np.asarray(pairs["labels"], np.float64)


class CellNetwork(nn.Module):
    """The float network the integer identifier is quantized from."""

    def __init__(self, channels: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(channels, hidden, 1), nn.Conv2d(hidden, hidden, 3, padding=1),
                                    nn.Conv2d(hidden, outputs, 1)])

    def forward(self, x: torch.Tensor, activations: list | None = None) -> torch.Tensor:
        """Per-cell outputs [B, K, h, w] of integer inputs [B, M, h, w] (as floats)."""
        for index, conv in enumerate(self.convs):
            x = conv(x)
            if index < len(self.convs) - 1:
                x = F.relu(x)
                if activations is not None:
                    activations.append(x)
        return x


def pool(cells: torch.Tensor) -> torch.Tensor:
    """Per-image components [B, K]: the mean over cells, the maximum for ``face``."""
    pooled = cells.mean(dim=(2, 3))
    return torch.cat([pooled[:, :FACE], cells[:, FACE:FACE + 1].amax(dim=(2, 3)), pooled[:, FACE + 1:]], dim=1)


def _batches(inputs: list[np.ndarray], order: np.ndarray, size: int):
    """Indexes grouped by latent shape, ``size`` at a time."""
    by_shape: dict[tuple, list[int]] = {}
    for i in order:
        by_shape.setdefault(inputs[i].shape, []).append(int(i))
    for group in by_shape.values():
        for start in range(0, len(group), size):
            yield group[start:start + size]


def train_float(inputs, targets, weights, steps: int, seed: int, hidden: int = 32) -> CellNetwork:
    """Adam on the float network: weighted MSE of the pooled components, random horizontal flips."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = CellNetwork(inputs[0].shape[0], hidden, targets.shape[1])
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    target_t, weight_t = torch.as_tensor(targets, dtype=torch.float32), torch.as_tensor(weights, dtype=torch.float32)
    tensors = [torch.from_numpy(x.astype(np.float32)) for x in inputs]  # converted once: int8 → float is slow
    step = 0
    while step < steps:
        for batch in _batches(inputs, rng.permutation(len(inputs)), 16):
            x = torch.stack([tensors[i] for i in batch])
            if rng.random() < 0.5:
                x = torch.flip(x, dims=[3])
            loss = (weight_t[batch] * (pool(net(x)) - target_t[batch]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step >= steps:
                break
    return net


@torch.no_grad()
def quantize(net: CellNetwork, inputs: list[np.ndarray]) -> IntNetworkSpec:
    """The integer network of ``net``: int8 weights per output channel, hidden activations in
    [0, 127] at scales calibrated on ``inputs`` (99.99th percentile), the last layer at
    1/OUTPUT_STEPS of a training unit."""
    peaks = [[] for _ in range(len(net.convs) - 1)]
    for x in inputs:
        activations: list = []
        net(torch.from_numpy(x[None].astype(np.float32)), activations)
        for layer, a in enumerate(activations):
            peaks[layer].append(a.flatten())
    scales = [1.0] + [max(_high_quantile(torch.cat(p)), 1e-6) / INT8_MAX for p in peaks]
    scales.append(1.0 / OUTPUT_STEPS)
    ops = []
    for layer, conv in enumerate(net.convs):
        weight = conv.weight.double()
        weight_scale = weight.abs().amax(dim=(1, 2, 3)).clamp_min(1e-12) / INT8_MAX
        weight_code = torch.round(weight / weight_scale[:, None, None, None]).clamp(-INT8_MAX, INT8_MAX)
        accumulator_scale = scales[layer] * weight_scale
        bias_code = torch.round(conv.bias.double() / accumulator_scale)
        multiplier, shift = requant_parameters(accumulator_scale / scales[layer + 1])
        hidden = layer < len(net.convs) - 1
        ops.append(IntConv(weight=weight_code.numpy().astype(np.int8), bias=bias_code.numpy().astype(np.int32),
                           multiplier=multiplier.numpy().astype(np.int32), shift=shift.numpy().astype(np.uint8),
                           relu=hidden, out_min=0 if hidden else -(2**30), out_max=INT8_MAX if hidden else 2**30))
    spec = IntNetworkSpec(net.convs[0].in_channels, -INPUT_LIMIT, INPUT_LIMIT, ops)
    spec.validate()
    return spec


def _high_quantile(values: torch.Tensor) -> float:
    """The 99.99th percentile (of an evenly spaced subset when there are too many for torch)."""
    step = max(1, values.numel() // (1 << 23))
    return float(torch.quantile(values[::step], 0.9999))


def components(mean: np.ndarray, std: np.ndarray) -> list[Component]:
    """The manifest components: label = integer · scale + offset; face clamped to [0, 1]."""
    result = []
    for k, name in enumerate(COMPONENTS):
        if k == FACE:
            result.append(Component(name, "max", 1.0 / OUTPUT_STEPS, 0.0, 0, OUTPUT_STEPS))
        else:
            result.append(Component(name, "mean", float(std[k]) / OUTPUT_STEPS, float(mean[k])))
    return result


def evaluate(identifier: FeatureIdentifier, inputs, labels) -> dict:
    """Mean absolute error per component and the face detector's agreement (at 0.5)."""
    codes = np.array([identifier.dequantize(_integer_code(identifier, x)) for x in inputs], np.float64)
    errors = np.abs(codes - labels).mean(axis=0)
    report = {name: round(float(errors[k]), 4) for k, name in enumerate(COMPONENTS) if k != FACE}
    truth, found = labels[:, FACE] > 0.5, codes[:, FACE] > 0.5
    report["face_precision"] = round(float((truth & found).sum() / max(found.sum(), 1)), 3)
    report["face_recall"] = round(float((truth & found).sum() / max(truth.sum(), 1)), 3)
    return report


def _integer_code(identifier: FeatureIdentifier, x: np.ndarray) -> np.ndarray:
    """The integer code of an already-prepared int8 input (cells = visible cells)."""
    return identifier.integer_code(x.astype(np.float32) / 4, x.shape[1] * 16, x.shape[2] * 16)


def train_identifier(pairs: dict, steps: int = 1500, seed: int = 0, hidden: int = 32, holdout: float = 0.2):
    """(EINT blob, manifest entry without ``file``, report) of an identifier trained on ``pairs``."""
    inputs, labels = split_pairs(pairs)
    order = np.random.default_rng(seed).permutation(len(inputs))
    cut = int(len(inputs) * (1 - holdout))
    train, test = order[:cut], order[cut:]
    mean, std = labels[train].mean(axis=0), labels[train].std(axis=0).clip(1e-3)
    mean[FACE], std[FACE] = 0.0, 1.0
    targets = (labels - mean) / std
    positives = max(labels[train, FACE].mean(), 1e-3)
    weights = np.ones_like(labels)
    weights[:, FACE] = np.where(labels[:, FACE] > 0.5, np.sqrt((1 - positives) / positives), 1.0)
    train_inputs = [inputs[i] for i in train]
    net = train_float(train_inputs, targets[train], weights[train], steps, seed, hidden)
    spec = quantize(net, train_inputs)
    identifier = FeatureIdentifier(IntNetwork(spec.to_blob()), components(mean, std))
    entry = {"components": [c.to_manifest() for c in identifier.components],
             "training": {"images": int(cut), "steps": int(steps), "seed": int(seed)}}
    report = {"train": evaluate(identifier, train_inputs, labels[train]),
              "test": evaluate(identifier, [inputs[i] for i in test], labels[test]),
              "test_images": int(len(test)), "faces_in_test": int(labels[test, FACE].sum())}
    return spec.to_blob(), entry, report
