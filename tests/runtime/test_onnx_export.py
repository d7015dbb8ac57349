"""ONNX export of the compressor and generator: validity, dynamic sizes, parity bounds, and the
PyTorch reference rebuilt from the exported weights."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from edgesdk_export import onnx_export as ox  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def graphs(small_model):
    return {(g, p): ox.export_graph(small_model, g, p) for g in ox.GRAPHS for p in ox.PRECISIONS}


def test_graphs_pass_checker_and_strict_shape_inference(graphs):
    for data in graphs.values():
        ox.check_graph(data)


def test_garbage_graph_fails_the_check():
    with pytest.raises(ox.ExportError, match="not valid ONNX"):
        ox.check_graph(b"\x08\x01garbage")


def test_dynamic_axes_carry_manifest_names(graphs, small_model):
    import onnx

    proto = onnx.load_from_string(graphs[("compressor", "fp32")])
    assert [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == \
        [1, 3, "height", "width"]
    assert [d.dim_param or d.dim_value for d in proto.graph.output[1].type.tensor_type.shape.dim] == \
        [1, small_model.config.N, "height/64", "width/64"]


@pytest.mark.parametrize("size", [(64, 64), (128, 320), (256, 192)])
def test_one_graph_runs_every_size_and_matches_pytorch(graphs, small_model, size):
    x = np.random.default_rng(1).random((1, 3, *size), dtype=np.float32)
    session = ox.onnxruntime_session(graphs[("compressor", "fp32")])
    y, z = session.run(None, {"image": x})
    assert y.shape == (1, small_model.config.M, size[0] // 16, size[1] // 16)
    assert z.shape == (1, small_model.config.N, size[0] // 64, size[1] // 64)
    with torch.no_grad():
        ref_y = small_model.g_a(torch.from_numpy(x))
        ref_z = small_model.hyper_analysis(ref_y)
    np.testing.assert_allclose(y, ref_y.numpy(), atol=1e-4)
    np.testing.assert_allclose(z, ref_z.numpy(), atol=1e-4)


def test_parity_of_every_graph_and_precision_is_within_bounds(graphs, small_model):
    x = np.random.default_rng(2).random((1, 3, 128, 128), dtype=np.float32)
    with torch.no_grad():
        y_hat = np.rint(small_model.g_a(torch.from_numpy(x)).numpy())
    inputs = {"compressor": x, "generator": y_hat}
    for (graph, precision), data in graphs.items():
        parity = ox.measure_parity(small_model, graph, precision, data, inputs[graph])
        ox.check_parity(graph, precision, parity)
        assert parity.max_abs_error < (1e-3 if precision == "fp32" else 0.5)


def test_parity_outside_bounds_fails_with_the_numbers():
    with pytest.raises(ox.ExportError, match=r"max abs error 0\.5.*PSNR 30\.0 dB"):
        ox.check_parity("generator", "fp32", ox.Parity(0.5, 30.0))


def test_compare_reports_worst_output():
    ref = [np.zeros(4, np.float32) + [0, 1, 2, 3], np.ones(3, np.float32)]
    parity = ox.compare(ref, [ref[0] + 0.25, ref[1]])
    assert parity.max_abs_error == pytest.approx(0.25)
    assert parity.psnr_db == pytest.approx(10 * np.log10(9 / 0.0625))


def test_pytorch_reference_rebuilt_from_onnx_weights_is_identical(graphs, small_model):
    x = torch.rand(1, 3, 128, 64)
    for graph, example in (("compressor", x), ("generator", torch.randn(1, small_model.config.M, 4, 8))):
        rebuilt = ox.load_graph_weights(ox.graph_module(small_model.config, graph), graphs[(graph, "fp32")])
        original = ox.GRAPHS[graph](small_model).eval()
        with torch.no_grad():
            a, b = rebuilt(example), original(example)
        for left, right in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            assert torch.equal(left, right)


def test_loading_weights_from_a_foreign_graph_fails(graphs, small_model):
    with pytest.raises(ox.ExportError, match="no weight named"):
        ox.load_graph_weights(ox.graph_module(small_model.config, "compressor"), graphs[("generator", "fp32")])
