"""Issue 18: a verified bundle runs only what it pins. Graphs with external data or foreign
operators are refused when the model is opened (for every backend); graph outputs are checked
whatever the backend; every ONNX Runtime failure is a BackendError."""

from __future__ import annotations

import numpy as np
import pytest

import edgesdk
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import CodecModel
from edgesdk.runtime import backends, register_backend
from trust_bundles import lite_parts, write_lite

onnx = pytest.importorskip("onnx")

GENERATOR = "q1/generator.fp32.onnx"


def check_graph(name, data):
    from edgesdk.bundle.graph_check import check_graph as check  # new in issue 18

    return check(name, data)


def _with_graph(tmp_path, name, model, suffix="b.edgesdk"):
    manifest, files = lite_parts()
    files[name] = model.SerializeToString() if hasattr(model, "SerializeToString") else model
    return write_lite(tmp_path / suffix, manifest, files)


def test_external_data_is_refused_at_load(tmp_path, monkeypatch):
    from onnx.external_data_helper import convert_model_to_external_data

    manifest, files = lite_parts()
    model = onnx.load_from_string(files[GENERATOR])
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="gen.bin", size_threshold=0)
    path = _with_graph(tmp_path, GENERATOR, model)
    edgesdk.Bundle.open(path)  # the bytes are what the manifest pins ...
    monkeypatch.chdir(tmp_path)  # ... but ONNX Runtime would read gen.bin from here
    for backend in ("onnxruntime", "tensorrt", "pytorch"):
        with pytest.raises(edgesdk.BundleIntegrityError, match="external data"):
            ImageCodec(path, backend=backend)
    # The fp16 graph too (it is not part of the model id, but it runs all the same).
    model16 = onnx.load_from_string(files["q1/generator.fp16.onnx"])
    convert_model_to_external_data(model16, all_tensors_to_one_file=True, location="gen.bin", size_threshold=0)
    with pytest.raises(edgesdk.BundleIntegrityError, match="external data"):
        CodecModel.open(_with_graph(tmp_path, "q1/generator.fp16.onnx", model16, "c.edgesdk"))


def test_a_data_location_flag_alone_is_refused():
    model = onnx.load_from_string(lite_parts()[1][GENERATOR])
    model.graph.initializer[0].data_location = onnx.TensorProto.EXTERNAL
    with pytest.raises(edgesdk.BundleIntegrityError, match="external data"):
        check_graph("g", model.SerializeToString())


def test_unknown_operator_domains_and_opset_imports_are_refused(tmp_path):
    files = lite_parts()[1]
    model = onnx.load_from_string(files[GENERATOR])
    model.graph.node[0].domain = "com.example.plugin"
    with pytest.raises(edgesdk.BundleIntegrityError, match="domain 'com.example.plugin'"):
        CodecModel.open(_with_graph(tmp_path, GENERATOR, model))
    model = onnx.load_from_string(files[GENERATOR])
    model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(edgesdk.BundleIntegrityError, match="com.microsoft"):
        check_graph("g", model.SerializeToString())
    # Inside a subgraph (an If branch) too.
    inner = onnx.helper.make_graph([onnx.helper.make_node("Evil", [], ["o"], domain="x.y")], "b", [],
                                   [onnx.helper.make_tensor_value_info("o", onnx.TensorProto.FLOAT, [1])])
    node = onnx.helper.make_node("If", ["c"], ["o"], then_branch=inner, else_branch=inner)
    outer = onnx.helper.make_graph([node], "g", [onnx.helper.make_tensor_value_info("c", onnx.TensorProto.BOOL, [])],
                                   [onnx.helper.make_tensor_value_info("o", onnx.TensorProto.FLOAT, [1])])
    with pytest.raises(edgesdk.BundleIntegrityError, match="domain 'x.y'"):
        check_graph("g", onnx.helper.make_model(outer).SerializeToString())


@pytest.mark.parametrize("data", [b"", b"\x0f", b"\x3a\xff\xff\xff\xff\x0f", b"graph bytes " * 4])
def test_malformed_graphs_are_refused_with_a_typed_error(data):
    with pytest.raises(edgesdk.BundleIntegrityError):
        check_graph("g", data)


def test_shipped_graphs_pass():
    model = CodecModel.open()
    for quality in model.qualities:
        for graph in ("compressor", "generator"):
            for precision in model.precisions(quality, graph):
                check_graph(graph, model.graph(quality, graph, precision))


class _Fake:
    def __init__(self, graph, make):
        self.input_names = ("image",) if graph == "compressor" else ("y_hat",)
        self.output_names = ("y", "z") if graph == "compressor" else ("image",)
        self.make = make

    def run(self, inputs):
        return self.make(next(iter(inputs.values())))

    def close(self):
        pass


GENERATOR_FAULTS = {
    "nan": lambda y: {"image": np.full((1, 3, 16 * y.shape[2], 16 * y.shape[3]), np.nan, np.float32)},
    "four channels": lambda y: {"image": np.zeros((1, 4, 16 * y.shape[2], 16 * y.shape[3]), np.float32)},
    "constant 8x8": lambda y: {"image": np.zeros((1, 3, 8, 8), np.float32)},
    "float64": lambda y: {"image": np.zeros((1, 3, 16 * y.shape[2], 16 * y.shape[3]), np.float64)},
    "wrong name": lambda y: {"picture": np.zeros((1, 3, 16 * y.shape[2], 16 * y.shape[3]), np.float32)},
}


@pytest.mark.parametrize("fault", sorted(GENERATOR_FAULTS))
def test_generator_outputs_are_checked_on_every_backend(fault):
    frame = ImageCodec(quality=1).encode(np.full((64, 64, 3), 128, np.uint8))
    register_backend("faulty-test", lambda m, q, graph, p, d, t: _Fake(graph, GENERATOR_FAULTS[fault]))
    try:
        with pytest.raises(edgesdk.BackendError):
            ImageCodec(quality=1, generator_backend="faulty-test").decode(frame)
    finally:
        backends._BACKENDS.pop("faulty-test")


def test_compressor_outputs_are_checked():
    def wrong_y(x):
        return {"y": np.zeros((1, 128, 8, 8), np.float32), "z": np.zeros((1, 64, 1, 1), np.float32)}

    register_backend("faulty-test", lambda m, q, graph, p, d, t: _Fake(graph, wrong_y))
    try:
        with pytest.raises(edgesdk.BackendError, match="'y' has shape"):
            ImageCodec(quality=1, compressor_backend="faulty-test").encode(np.zeros((64, 64, 3), np.uint8))
    finally:
        backends._BACKENDS.pop("faulty-test")


def test_onnxruntime_failures_are_backend_errors():
    from edgesdk.runtime.onnxruntime import OnnxRuntimeRunner

    with pytest.raises(edgesdk.BackendError, match="cannot load"):
        OnnxRuntimeRunner(b"\x08\x07not a graph")
    runner = OnnxRuntimeRunner(CodecModel.open().graph(1, "generator"))
    with pytest.raises(edgesdk.BackendError, match="failed to run"):
        runner.run({"y_hat": np.zeros((1, 5, 4, 4), np.float32)})  # wrong channel count
    with pytest.raises(edgesdk.BackendError, match="needs inputs"):
        runner.run({})


def test_tensorrt_engine_builds_refuse_external_data(tmp_path, monkeypatch):
    """build-engine opens the bundle without a CodecModel: the builder checks the graph itself,
    before TensorRT's parser (which would read gen.bin from the disk) sees it."""
    from onnx.external_data_helper import convert_model_to_external_data

    from edgesdk.runtime.tensorrt import build

    manifest, files = lite_parts()
    model = onnx.load_from_string(files[GENERATOR])
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="gen.bin", size_threshold=0)
    bundle = edgesdk.Bundle.open(_with_graph(tmp_path, GENERATOR, model))

    class FakeTensorRT:
        __version__ = "10.3.0"

    built = []
    monkeypatch.setattr(build, "import_tensorrt", lambda: FakeTensorRT)
    monkeypatch.setattr(build, "import_cudart", lambda: None)
    monkeypatch.setattr(build, "gpu_identity", lambda cudart: ("Fake GPU", "8.9"))
    monkeypatch.setattr(build, "_build_serialized", lambda *a: built.append(a) or (b"", b""))
    profile = build.load_profile("x86-dgpu")
    with pytest.raises(edgesdk.BundleIntegrityError, match="external data"):
        build.prepare_engine(bundle, "generator", 1, profile, precision="fp32", cache_dir=tmp_path / "cache")
    assert not built
