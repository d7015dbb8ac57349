"""The PyTorch latent refiner (``ImageCodec(refine=N)``; registered with the runtime through the
entry point group ``edgesdk.refiners``): N Adam steps on one image's latent y against

    loss = bits / pixels + λ · 255² · MSE(g_s(ŷ), x)

with g_s (the bundle's own fp32 generator weights) and the entropy model fixed. The hyper-latent
ẑ stays the compressor's, so every element keeps the table and the mean the integer
hyper-synthesis gave it, and the rate term is priced by those very integer tables:
:class:`TableRate` gives an integer value ``v`` the bits the coder spends on it (the table's
``−log2(freq / 2^16)``, or the escape's cost plus its bypass chunks, docs/entropy.md) and
interpolates the probability linearly between integers, so the relaxed rate is exact at every
integer and differentiable between them. The distortion sees the rounded latent (straight
through). Every iterate is scored exactly (its rounded symbols' bits and its 8-bit picture's
squared error) and the best one is coded: refinement never does worse on the loss than the
compressor's latent, which is iterate 0.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from edgesdk.bitstream.entropy import PRECISION, CdfTables
from edgesdk.codecs.image.refine import RefineTask, register_refiner
from edgesdk.errors import InvalidArgumentError

LEARNING_RATE = 0.02  # Adam, latent units (a quantization bin is 1); cosine decay over the steps
FINAL_LEARNING_RATE_FRACTION = 0.05  # of LEARNING_RATE at the last step
BYPASS_CHUNK_BITS = 4
INITIAL_TEMPERATURE = 0.5
FINAL_TEMPERATURE = 0.05
ATANH_EPSILON = 1e-5
NOISE_SEED = 0


class TableRate:
    """Bits of integer values under integer CDF tables, and their relaxation (float64)."""

    def __init__(self, tables: CdfTables) -> None:
        cdfs = torch.from_numpy(tables.cdfs.astype(np.int64))
        self.lengths = torch.from_numpy(tables.cdf_lengths.astype(np.int64))
        self.offsets = torch.from_numpy(tables.offsets.astype(np.int64))
        frequencies = (cdfs[:, 1:] - cdfs[:, :-1]).to(torch.float64)
        self.escapes = self.lengths - 2  # the escape symbol's number (= direct symbols)
        rows = torch.arange(len(self.lengths))
        escape_frequency = frequencies[rows, self.escapes]
        # Direct symbols' bits; entries past a table's end are never read.
        self.direct = PRECISION - torch.log2(frequencies.clamp_min(1.0))
        self.escape = PRECISION - torch.log2(escape_frequency)

    def bits(self, values: torch.Tensor, indexes: torch.Tensor) -> torch.Tensor:
        """What coding the integer ``values`` (int64) with tables ``indexes`` costs, element by element."""
        symbols = values - self.offsets[indexes]
        escapes = self.escapes[indexes]
        direct = (symbols >= 0) & (symbols < escapes)
        table_bits = self.direct[indexes, torch.minimum(symbols.clamp_min(0), escapes - 1)]
        payload = torch.where(symbols >= escapes, 2 * (symbols - escapes), -2 * symbols - 1).clamp_min(0)
        payload_bits = torch.ceil(torch.log2(payload.to(torch.float64) + 1.0))
        chunks = torch.ceil(payload_bits / BYPASS_CHUNK_BITS).clamp_min(1.0)
        escaped_bits = self.escape[indexes] + BYPASS_CHUNK_BITS * (1.0 + chunks)
        return torch.where(direct, table_bits, escaped_bits)

    def relaxed_bits(self, values: torch.Tensor, indexes: torch.Tensor) -> torch.Tensor:
        """Bits of real ``values``: −log2 of the probability interpolated linearly between the
        neighbouring integers' (equal to :meth:`bits` at integers, differentiable between)."""
        values = values.to(torch.float64)
        below = torch.floor(values.detach())
        fraction = values - below
        low = torch.exp2(-self.bits(below.to(torch.int64), indexes))
        high = torch.exp2(-self.bits(below.to(torch.int64) + 1, indexes))
        return -torch.log2((1.0 - fraction) * low + fraction * high)


class TorchRefiner:
    """Refines latents for one quality level of a bundle (see the module's docstring)."""

    def __init__(self, model, quality: int, steps: int, threads: int | None = None) -> None:
        from edgesdk_export.models import CodecConfig
        from edgesdk_export.onnx_export import graph_module, load_graph_weights

        entry = model.check_quality(quality)
        if entry.get("lambda") is None:
            raise InvalidArgumentError(f"quality {quality} of this bundle records no λ (rate-distortion weight); "
                                       f"refinement needs it (re-export the bundle, or encode without refine)")
        self.lmbda = float(entry["lambda"])
        self.steps = steps
        self.threads = threads
        generator = graph_module(CodecConfig.from_dict(model.config), "generator")
        self.generator = load_graph_weights(generator, model.graph(quality, "generator", "fp32"))
        self.generator.requires_grad_(False)
        self.rate = TableRate(model.entropy_model(quality).latent_tables)
        self.history: list[float] = []  # the exact loss of every iterate of the last call

    def __call__(self, task: RefineTask) -> np.ndarray:
        """The refined y of ``task`` (float32, y's shape): the best iterate's ``symbols + mean``."""
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            return self._refine(task)
        finally:
            torch.set_num_threads(previous)

    def _refine(self, task: RefineTask) -> np.ndarray:
        indexes = torch.from_numpy(task.parameters.indexes.astype(np.int64))
        means = (torch.zeros(task.y.shape, dtype=torch.float64) if task.parameters.means is None
                 else torch.from_numpy(task.parameters.means))
        target = torch.from_numpy(task.pixels[: task.height, : task.width].transpose(2, 0, 1).astype(np.float32) / 255.0)
        pixels = task.height * task.width
        centred = torch.nn.Parameter(torch.from_numpy(task.y.astype(np.float64)) - means)
        optimizer = torch.optim.Adam([centred], lr=LEARNING_RATE)
        best_loss, best_symbols = math.inf, None
        noise = torch.Generator().manual_seed(NOISE_SEED)  # the same image refines the same way
        self.history = []
        for step in range(self.steps + 1):
            symbols = torch.round(centred.detach())
            with torch.no_grad():  # the exact loss of this iterate: coded bits, 8-bit picture
                picture = self.generator((symbols + means).to(torch.float32)[None])[0, :, : task.height, : task.width]
                coded_mse = (torch.round(picture * 255.0) / 255.0 - target).square().mean()
                loss = float(self.rate.bits(symbols.to(torch.int64), indexes).sum()) / pixels \
                    + self.lmbda * 255.0**2 * float(coded_mse)
            self.history.append(loss)
            if loss < best_loss:
                best_loss, best_symbols = loss, symbols
            if step == self.steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, self.steps)
            optimizer.zero_grad()
            soft = annealed_rounding(centred, temperature(step, self.steps), noise)
            picture = self.generator((soft + means).to(torch.float32)[None])[0, :, : task.height, : task.width]
            mse = (picture - target).square().mean().to(torch.float64)
            (self.rate.relaxed_bits(soft, indexes).sum() / pixels + self.lmbda * 255.0**2 * mse).backward()
            optimizer.step()
        return (best_symbols + means).numpy().astype(np.float32)


def annealed_rounding(values: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
    """Stochastic Gumbel annealing (Yang et al. 2020): each value becomes a random soft mix of
    its floor and ceiling, the nearer one likelier, harder (closer to rounding) as ``tau`` falls.
    The noise comes from ``generator``, so a refinement is repeatable."""
    below = torch.floor(values.detach())
    distances = torch.stack([values - below, below + 1.0 - values], dim=-1)
    logits = -torch.atanh(distances.clamp(-1.0 + ATANH_EPSILON, 1.0 - ATANH_EPSILON)) / tau
    uniform = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp(1e-20, 1.0 - 1e-7)
    weights = torch.softmax((logits - torch.log(-torch.log(uniform))) / tau, dim=-1)
    return below + weights[..., 1]


def temperature(step: int, steps: int) -> float:
    """The annealing temperature: INITIAL_TEMPERATURE down to FINAL_TEMPERATURE, geometrically."""
    return INITIAL_TEMPERATURE * (FINAL_TEMPERATURE / INITIAL_TEMPERATURE) ** (step / max(1, steps))


def learning_rate(step: int, steps: int) -> float:
    """Cosine decay from LEARNING_RATE to FINAL_LEARNING_RATE_FRACTION of it over ``steps``."""
    floor = FINAL_LEARNING_RATE_FRACTION
    return LEARNING_RATE * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * step / max(1, steps))))


def register() -> None:
    """Registers the ``pytorch`` refiner (the ``edgesdk.refiners`` entry point)."""
    register_refiner("pytorch", TorchRefiner)
