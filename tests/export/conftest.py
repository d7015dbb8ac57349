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
