"""Fixtures of the tests marked ``torch`` (a small model, checkpoints, an exported bundle);
loaded by conftest.py."""

import sys

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread(request):
    """The tensors of torch tests are tiny: extra threads only add contention and noise."""
    torch = sys.modules.get("torch")
    if torch is None or request.node.get_closest_marker("torch") is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SMALL_CONFIG = dict(name="small", N=8, M=16, widths=(16, 16, 16), kernels=(3, 3, 3, 3), gdn="simplified",
                    hyper_kernels=(3, 3, 3), hyper_hidden=16)


@pytest.fixture(scope="session")
def small_model():
    """A tiny untrained model with its integer hyper-synthesis calibrated (seconds to build)."""
    torch = pytest.importorskip("torch")
    from edgesdk_export.models import CodecConfig, ImageCodecModel

    torch.manual_seed(0)
    model = ImageCodecModel(CodecConfig(**SMALL_CONFIG)).train()
    with torch.no_grad():  # calibrates the integer hyper-synthesis' activation scales
        model(torch.rand(2, 3, 128, 128))
    return model.eval()


@pytest.fixture(scope="session")
def textured_image():
    """A smooth gradient with noise, 90x130: not a multiple of 64 in either dimension."""
    import numpy as np

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:90, 0:130]
    base = np.stack([xx * 2, yy * 2, (xx + yy)], axis=-1) % 256
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def _checkpoint(model, path, quality, lmbda):
    import torch
    from edgesdk_export.train import CHECKPOINT_FORMAT, CHECKPOINT_VERSION

    torch.save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": 10 * quality,
                "elapsed_s": 1.5, "config": model.config.to_dict(), "quality": quality, "lmbda": lmbda,
                "model": model.state_dict()}, path)
    return path


@pytest.fixture(scope="session")
def make_checkpoint():
    """``make_checkpoint(model, path, quality, lmbda)`` writes a training checkpoint."""
    return _checkpoint


@pytest.fixture(scope="session")
def checkpoints(small_model, tmp_path_factory):
    """Two quality levels (1 and 4) of the small model, as training checkpoints."""
    folder = tmp_path_factory.mktemp("ckpt")
    return [_checkpoint(small_model, folder / f"q{q}.pt", q, lmbda) for q, lmbda in ((1, 0.0035), (4, 0.025))]


@pytest.fixture(scope="session")
def bundle_path(checkpoints, textured_image, tmp_path_factory):
    """The two checkpoints exported to a bundle (fp32 and fp16 graphs)."""
    from edgesdk_export.bundle_export import export_bundle

    out = tmp_path_factory.mktemp("bundle") / "small.edgesdk"
    return export_bundle(checkpoints, out, parity_image=textured_image, log=lambda line: None)
