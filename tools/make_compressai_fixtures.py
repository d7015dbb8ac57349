#!/usr/bin/env python3
"""Writes the CompressAI fixtures of tests/codecs/image/compressai/: small, randomly initialised
CompressAI modules (bmshj2018-factorized, bmshj2018-hyperprior, mbt2018-mean) saved as
checkpoints in three of the key spellings users have, and what CompressAI itself computes
from them on a crop of the sample photograph (latents, hyper-latents, scales, means,
reconstructions, and the byte sizes of CompressAI's own streams).

Run once, in a throwaway virtual environment, never in the project's (docs/import.md):
the compressai wheel asks for numpy<2 and torchvision, and the registry's torchvision is built
for another torch. For example:

    python -m venv /tmp/venv-compressai && . /tmp/venv-compressai/bin/activate
    pip install torch==2.13.0 numpy pillow
    pip install --no-deps compressai==1.2.8 requests urllib3 idna certifi torch_geometric xxhash \
        pandas scipy einops pytorch_msssim
    python tools/make_compressai_fixtures.py tests/codecs/image/compressai

CompressAI imports torchvision.transforms only to list its classes in a registry; where
torchvision cannot load, this script puts empty stand-ins for those two modules in
sys.modules (nothing here uses them). The tests need no compressai.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np

try:
    import torchvision.transforms  # noqa: F401
except Exception:  # noqa: BLE001 - absent, or present and unable to load its operators
    for name in ("torchvision", "torchvision.transforms"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["torchvision"].transforms = sys.modules["torchvision.transforms"]

import compressai  # noqa: E402
import torch  # noqa: E402
from compressai.models import FactorizedPrior, MeanScaleHyperprior, ScaleHyperprior  # noqa: E402
from PIL import Image  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "edgesdk" / "data" / "samples" / "kodim23.png"
SIZES = {"bmshj2018-factorized": (8, 12), "bmshj2018-hyperprior": (8, 12), "mbt2018-mean": (8, 12)}
CLASSES = {"bmshj2018-factorized": FactorizedPrior, "bmshj2018-hyperprior": ScaleHyperprior,
           "mbt2018-mean": MeanScaleHyperprior}


def spelled(arch: str, state: dict) -> object:
    """The checkpoint as saved: three spellings users meet (a bare state dict; DataParallel's
    "module." prefix under "state_dict"; CompressAI < 1.2's "_matrix0"-style names under "model")."""
    if arch == "bmshj2018-hyperprior":
        return state
    if arch == "mbt2018-mean":
        return {"epoch": 3, "state_dict": {"module." + k: v for k, v in state.items()}}
    old = {}
    for key, value in state.items():
        for kind, short in (("matrices", "_matrix"), ("biases", "_bias"), ("factors", "_factor")):
            key = key.replace(f"entropy_bottleneck.{kind}.", f"entropy_bottleneck.{short}")
        old[key] = value
    return {"model": old}


def spread(arch: str, model) -> None:
    """Scales the random weights so that the latents span many quantization bins (at CompressAI's
    initialisation they are all below 0.5, and every stream would code zeros), the hyper-latents
    a few, and moves the hyper-latents' medians off zero: the models stay random, but every
    path is exercised."""
    with torch.no_grad():
        model.g_a[-1].weight.mul_(60.0)
        model.g_s[0].weight.div_(60.0)
        if arch == "bmshj2018-factorized":
            model.entropy_bottleneck.quantiles.add_(torch.linspace(-0.4, 0.4, model.M).view(-1, 1, 1))
            return
        model.h_a[-1].weight.mul_(4.0)
        model.entropy_bottleneck.quantiles.add_(torch.linspace(-0.4, 0.4, model.N).view(-1, 1, 1))
        last = [layer for layer in model.h_s if hasattr(layer, "weight")][-1]
        last.weight.mul_(8.0)
        last.bias[: model.M].add_(3.0)  # scales of a few units (the first M channels are the scales)


def reference(arch: str, model, pixels: np.ndarray) -> dict[str, np.ndarray]:
    """What CompressAI computes from ``pixels`` (HxWx3 uint8, stored as they are; the model's
    input is pixels / 255 in float32): its transforms' outputs and its own streams' sizes."""
    out: dict[str, np.ndarray] = {"pixels": pixels}
    x = torch.from_numpy(pixels.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255.0))
    with torch.no_grad():
        y = model.g_a(x)
        out["y"] = y.numpy()
        if arch == "bmshj2018-factorized":
            y_hat = model.entropy_bottleneck.quantize(y, "dequantize", model.entropy_bottleneck._get_medians())
            likelihoods = [model.entropy_bottleneck(y, training=False)[1]]
        else:
            z = model.h_a(torch.abs(y) if arch == "bmshj2018-hyperprior" else y)
            out["z"] = z.numpy()
            out["z_medians"] = model.entropy_bottleneck._get_medians().reshape(-1).numpy()
            z_hat, z_likelihoods = model.entropy_bottleneck(z, training=False)
            params = model.h_s(z_hat)
            if arch == "mbt2018-mean":
                scales, means = params.chunk(2, 1)
                out["means"] = means.numpy()
            else:
                scales, means = params, None
            out["scales"] = scales.numpy()
            y_hat = model.gaussian_conditional.quantize(y, "dequantize", means)
            _, y_likelihoods = model.gaussian_conditional(y, scales, means=means, training=False)
            likelihoods = [y_likelihoods, z_likelihoods]
        out["y_hat"] = y_hat.numpy()
        out["x_hat"] = model.g_s(y_hat).numpy()
        out["float_bits"] = np.array(sum(float(-torch.log2(p).sum()) for p in likelihoods))
        strings = model.compress(x)["strings"]
        out["stream_bytes"] = np.array(sum(len(s) for group in strings for s in group))
    return out


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/codecs/image/compressai")
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.asarray(Image.open(SAMPLE).convert("RGB"))[96:160, 160:288]
    about = {"compressai": compressai.__version__, "torch": torch.__version__, "image": f"{SAMPLE.name}[96:160, 160:288]"}
    for seed, (arch, (n, m)) in enumerate(SIZES.items()):
        torch.manual_seed(seed)
        model = CLASSES[arch](n, m).eval()
        spread(arch, model)
        # Saved before update(), as CompressAI's training script saves: no CDF tables inside.
        torch.save(spelled(arch, model.state_dict()), folder / f"{arch}.pth.tar")
        model.update(force=True)
        np.savez_compressed(folder / f"{arch}.reference.npz", **reference(arch, model, np.ascontiguousarray(pixels)))
        about[arch] = {"N": n, "M": m, "seed": seed}
    (folder / "README.json").write_text(json.dumps(about, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
