"""From a trained ImageCodecModel to the runtime's integer entropy model and a PyTorch
reference codec (the float transforms in torch, everything that parses bits in C++)."""

from __future__ import annotations

import copy

import numpy as np
import torch

from edgesdk.bitstream.entropy import CdfTables
from edgesdk.codecs.image.codec import HyperpriorImageCodec
from edgesdk.bitstream.intnet import IntNetwork
from edgesdk.codecs.image.entropy_model import HyperpriorEntropyModel
from edgesdk_export.models import ImageCodecModel


def entropy_model(model: ImageCodecModel) -> HyperpriorEntropyModel:
    """The integer data a bundle ships: z tables, the integer h_s and the y scale tables."""
    config = model.config
    pmfs, tails, offset = model.z_tables()
    hyper_tables = CdfTables.from_pmfs(list(pmfs), [offset] * config.N, list(tails))
    hyper_synthesis = IntNetwork(model.h_s.to_integer().to_blob())
    latent_tables = CdfTables.gaussian(config.scale_table())
    return HyperpriorEntropyModel(
        hyper_tables,
        hyper_synthesis,
        latent_tables,
        latent_channels=config.M,
        mean_fraction_bits=config.mean_fraction_bits if config.predict_means else None,
    )


def torch_codec(model: ImageCodecModel, quality: int = 0, model_id: bytes = bytes(32),
                dtype: torch.dtype = torch.float32) -> HyperpriorImageCodec:
    """A codec whose compressor and generator run in PyTorch at ``dtype`` (a copy of the model)."""
    integer_path = entropy_model(model)
    net = copy.deepcopy(model).to(dtype).eval()

    def analyze(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            y = net.g_a(torch.from_numpy(x).to(dtype))
            return y.float().numpy(), net.hyper_analysis(y).float().numpy()

    def synthesize(y_hat: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net.g_s(torch.from_numpy(y_hat).to(dtype)).float().numpy()

    return HyperpriorImageCodec(integer_path, analyze, synthesize, quality, model_id)
