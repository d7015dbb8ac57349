"""The backend registry: register_backend, the pytorch backend registered from edgesdk_export,
and what a caller sees when it is absent."""

import subprocess
import sys

import numpy as np
import pytest

import edgesdk
from edgesdk.codecs.model import default_model
from edgesdk.runtime import backends, open_runner, register_backend


class _Echo:
    input_names = ("image",)
    output_names = ("y", "z")

    def __init__(self, graph):
        self.graph = graph

    def run(self, inputs):
        x = inputs["image"]
        return {"y": x, "z": x}

    def close(self):
        pass


def test_a_registered_backend_opens_runners_and_its_precisions_are_enforced():
    opened = []
    register_backend("echo-test", lambda model, q, graph, precision, device, threads: opened.append(precision)
                     or _Echo(graph), precisions=("fp32",))
    try:
        runner = open_runner(default_model(), 1, "compressor", "echo-test", "fp32")
        assert runner.run({"image": np.zeros((1, 3, 64, 64), np.float32)})["y"].shape == (1, 3, 64, 64)
        assert opened == ["fp32"]
        with pytest.raises(edgesdk.InvalidArgumentError, match="echo-test backend runs fp32"):
            open_runner(default_model(), 1, "compressor", "echo-test", "fp16")
        assert "echo-test" in backends.backend_names()
    finally:
        backends._BACKENDS.pop("echo-test")
    with pytest.raises(edgesdk.InvalidArgumentError, match="backend must be one of"):
        open_runner(default_model(), 1, "compressor", "echo-test", "fp32")


def test_pytorch_without_the_export_extra_says_what_to_install():
    code = (
        "import sys; sys.modules['edgesdk_export'] = None\n"  # as if the export extra were not installed
        "import edgesdk\n"
        "try:\n"
        "    edgesdk.ImageCodec(backend='pytorch').encode(edgesdk.codecs.model.default_sample_image()[:64, :64])\n"
        "except edgesdk.DependencyError as error:\n"
        "    print(error)\n"
        "assert 'torch' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert 'pip install "edgesdk[export]"' in out


@pytest.mark.torch
def test_the_pytorch_backend_registers_itself_through_its_entry_point():
    code = (
        "import sys, edgesdk\n"
        "from edgesdk.codecs.model import default_model\n"
        "from edgesdk.runtime import open_runner\n"
        "assert 'edgesdk_export' not in sys.modules\n"
        "runner = open_runner(default_model(), 1, 'generator', 'pytorch', 'fp32')\n"
        "assert 'edgesdk_export' in sys.modules and runner.input_names == ('y_hat',)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
