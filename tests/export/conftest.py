import sys

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """The tensors here are tiny: extra threads only add contention and noise."""
    torch = sys.modules.get("torch")
    if torch is None:
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
