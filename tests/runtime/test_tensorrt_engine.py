import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from edgesdk.runtime import tensorrt as te
from edgesdk.runtime.tensorrt import build as te_build
from edgesdk.runtime.tensorrt import cache as te_cache
from edgesdk.runtime.devices import ShapeProfile
from edgesdk.errors import DependencyError, InvalidArgumentError
from edgesdk.runtime.tensorrt import BuildPlan, EngineKey, plan_build

HAVE_TENSORRT = importlib.util.find_spec("tensorrt") is not None

KEY = EngineKey(
    bundle_id="ab" * 32, graph="compressor", quality=3, precision="fp16", tensorrt_version="10.3.0.30",
    gpu_name="Orin (nvgpu)", compute_capability="8.7", dla_core=None,
    shape_range=ShapeProfile((64, 64), (768, 1280), (1088, 1920)),
)


# --- Planning: TensorRT 10 vs 11 ---------------------------------------------------------------

FP32_FP16 = ("fp32", "fp16")


@pytest.mark.parametrize(("major", "precision", "graphs", "expected"), [
    # TensorRT 11: always strongly typed, the graph carries the precision.
    (11, "fp32", FP32_FP16, BuildPlan("fp32", "fp32", True, (), None, False)),
    (11, "fp16", FP32_FP16, BuildPlan("fp16", "fp16", True, (), None, True)),
    (11, "int8", ("fp32", "int8"), BuildPlan("int8", "int8", True, (), None, True)),
    (12, "bf16", ("fp32", "bf16"), BuildPlan("bf16", "bf16", True, (), None, True)),
    # TensorRT 10: the typed graph when the bundle has it ...
    (10, "fp32", FP32_FP16, BuildPlan("fp32", "fp32", True, (), None, False)),
    (10, "fp16", FP32_FP16, BuildPlan("fp16", "fp16", True, (), None, True)),
    (10, "fp8", ("fp32", "fp8"), BuildPlan("fp8", "fp8", True, (), None, True)),
    # ... else a builder flag over the fp32 graph.
    (10, "fp16", ("fp32",), BuildPlan("fp16", "fp32", False, ("FP16",), None, True)),
    (10, "bf16", FP32_FP16, BuildPlan("bf16", "fp32", False, ("BF16",), None, True)),
])
def test_plan_without_dla(major, precision, graphs, expected):
    assert plan_build(major, precision, graphs) == expected


@pytest.mark.parametrize(("major", "precision", "graphs", "message"), [
    (11, "fp16", ("fp32",), "TensorRT 11 takes precision from the graph"),
    (11, "bf16", FP32_FP16, "no bf16 graph"),
    (11, "int8", FP32_FP16, "int8 needs a graph quantized with explicit Q/DQ nodes"),
    (10, "int8", FP32_FP16, "int8 needs a graph quantized with explicit Q/DQ nodes"),
    (10, "fp8", FP32_FP16, "fp8 needs a graph quantized"),
    (10, "fp32", ("fp16",), "this bundle has no fp32 graph"),
    (10, "fp16", ("fp16",), None),  # fine: the typed graph alone suffices
    (10, "fp4", FP32_FP16, "precision must be one of"),
])
def test_plan_refusals(major, precision, graphs, message):
    if message is None:
        assert plan_build(major, precision, graphs).graph_precision == "fp16"
        return
    with pytest.raises(InvalidArgumentError, match=message):
        plan_build(major, precision, graphs)


def test_plan_refuses_tensorrt_before_10():
    with pytest.raises(DependencyError, match="TensorRT 8 is too old"):
        plan_build(8, "fp16", FP32_FP16)


def test_plan_with_dla():
    # TensorRT 10 builds DLA engines weakly typed with GPU fallback; TensorRT 11 strongly typed.
    assert plan_build(10, "fp16", FP32_FP16, dla_core=1, dla_cores=2) == \
        BuildPlan("fp16", "fp32", False, ("FP16", "GPU_FALLBACK"), 1, True)
    assert plan_build(10, "int8", ("fp32", "int8"), dla_core=0, dla_cores=2) == \
        BuildPlan("int8", "int8", False, ("INT8", "FP16", "GPU_FALLBACK"), 0, True)
    assert plan_build(11, "fp16", FP32_FP16, dla_core=0, dla_cores=2) == \
        BuildPlan("fp16", "fp16", True, ("GPU_FALLBACK",), 0, True)
    with pytest.raises(InvalidArgumentError, match="no DLA cores"):
        plan_build(10, "fp16", FP32_FP16, dla_core=0, dla_cores=0)
    with pytest.raises(InvalidArgumentError, match="DLA core 2 does not exist; this device has cores 0..1"):
        plan_build(10, "fp16", FP32_FP16, dla_core=2, dla_cores=2)
    for precision in ("fp32", "bf16"):
        with pytest.raises(InvalidArgumentError, match="DLA runs fp16 or int8"):
            plan_build(10, precision, FP32_FP16 + ("bf16",), dla_core=0, dla_cores=2)


# --- Manifest shapes -> optimization profile ---------------------------------------------------


def test_axis_sizes_and_input_ranges():
    assert te.axis_size(3, 512, 768) == 3
    assert te.axis_size("height", 512, 768) == 512
    assert te.axis_size("width/16", 512, 768) == 48
    assert te.axis_size("height/64", 512, 768) == 8
    for bad in ("depth", "height*2", "height/0", "width/-4", 0, True, None, 2.0):
        with pytest.raises(InvalidArgumentError, match="unsupported dimension"):
            te.axis_size(bad, 512, 768)
    with pytest.raises(InvalidArgumentError, match="not divisible"):
        te.axis_size("height/64", 96, 64)
    inputs = [{"name": "y_hat", "dtype": "float32", "shape": [1, 128, "height/16", "width/16"]}]
    assert te.input_shape_ranges(inputs, KEY.shape_range) == {
        "y_hat": ((1, 128, 4, 4), (1, 128, 48, 80), (1, 128, 68, 120))}


# --- Engine keys and the cache -----------------------------------------------------------------


def test_engine_key_digest_is_stable():
    again = EngineKey(**{f.name: getattr(KEY, f.name) for f in dataclasses.fields(EngineKey)})
    assert again.digest == KEY.digest and len(KEY.digest) == 64
    # Pinned: a different value means every user's cache is invalidated; bump
    # ENGINE_CACHE_FORMAT on purpose instead of changing the key encoding by accident.
    assert KEY.digest == "a7241f015acdf7628c68b7c2b045ba47f357a866d32a02f274df0c921f846533"


@pytest.mark.parametrize(("field", "value"), [
    ("bundle_id", "cd" * 32), ("graph", "generator"), ("quality", 4), ("precision", "fp32"),
    ("tensorrt_version", "10.3.0.31"), ("gpu_name", "NVIDIA RTX A4000"), ("compute_capability", "8.6"),
    ("dla_core", 0), ("dla_core", 1), ("shape_range", ShapeProfile((64, 64), (768, 1280), (2176, 3840))),
    ("shape_range", ShapeProfile((64, 64), (512, 512), (1088, 1920))),
])
def test_engine_key_digest_changes_with_every_field(field, value):
    changed = dataclasses.replace(KEY, **{field: value})
    assert changed.digest != KEY.digest
    assert changed.file_stem != KEY.file_stem


@pytest.mark.parametrize(("field", "value", "message"), [
    ("bundle_id", "AB" * 32, "bundle id"), ("bundle_id", "ab" * 31, "bundle id"), ("graph", "encoder", "graph"),
    ("quality", -1, "quality"), ("quality", True, "quality"), ("precision", "fp12", "precision"),
    ("gpu_name", " ", "gpu_name"), ("dla_core", -1, "dla_core"), ("shape_range", {"min": [64, 64]}, "ShapeProfile"),
])
def test_engine_key_validation(field, value, message):
    with pytest.raises(InvalidArgumentError, match=message):
        dataclasses.replace(KEY, **{field: value})


def test_cache_layout(tmp_path, monkeypatch):
    monkeypatch.delenv(te.CACHE_DIR_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert te.default_cache_dir() == tmp_path / "xdg" / "edgesdk" / "engines"
    monkeypatch.setenv(te.CACHE_DIR_VARIABLE, str(tmp_path / "mine"))
    assert te.default_cache_dir() == tmp_path / "mine"
    path = te.engine_path(KEY)
    assert path == tmp_path / "mine" / f"compressor-q3-fp16-{KEY.digest[:32]}.engine"
    assert te.engine_path(dataclasses.replace(KEY, dla_core=1), tmp_path).name.startswith("compressor-q3-fp16-dla1-")
    timing = te.timing_cache_path("10.3.0.30", "Orin (nvgpu)", "8.7", tmp_path)
    assert timing.parent == tmp_path / "timing" and timing.name.startswith("trt10.3.0.30-orin-nvgpu-cc8.7-")
    assert timing == te.timing_cache_path("10.3.0.30", "Orin (nvgpu)", "8.7", tmp_path)
    assert timing != te.timing_cache_path("10.3.0.31", "Orin (nvgpu)", "8.7", tmp_path)
    assert timing != te.timing_cache_path("10.3.0.30", "NVIDIA RTX A4000", "8.6", tmp_path)


def test_stored_engine_is_found_and_described(tmp_path):
    payload = bytes(range(256)) * 100
    plan = plan_build(10, "fp16", FP32_FP16)
    path = te.store_engine(KEY, payload, plan, tmp_path)
    assert te.cached_engine(KEY, tmp_path) == path and path.read_bytes() == payload
    sidecar = json.loads(te.sidecar_path(path).read_text())
    assert sidecar["meta"]["key"] == KEY.to_json() and sidecar["meta"]["plan"] == plan.to_json()
    assert sidecar["size"] == len(payload)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, path.name + ".json"]  # no temp files left
    assert te.cached_engine(dataclasses.replace(KEY, quality=4), tmp_path) is None


def _damage_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [
    _damage_flip,
    lambda path: path.write_bytes(path.read_bytes()[:1000]),
    lambda path: te.sidecar_path(path).unlink(),
    lambda path: te.sidecar_path(path).write_text("{not json"),
    lambda path: te.sidecar_path(path).write_bytes(b" " * (te_cache.MAX_SIDECAR_BYTES + 2)),
    lambda path: path.unlink(),
], ids=["flipped-byte", "truncated", "no-sidecar", "garbled-sidecar", "huge-sidecar", "no-engine"])
def test_damaged_cache_entries_are_not_loaded(tmp_path, damage):
    path = te.store_engine(KEY, b"engine bytes " * 500, None, tmp_path)
    damage(path)
    assert te.cached_engine(KEY, tmp_path) is None


def test_a_sidecar_for_another_key_does_not_validate_an_engine(tmp_path):
    other = dataclasses.replace(KEY, tensorrt_version="10.3.0.31")
    payload = b"same bytes" * 100
    mine, theirs = te.store_engine(KEY, payload, None, tmp_path), te.store_engine(other, payload, None, tmp_path)
    te.sidecar_path(mine).write_bytes(te.sidecar_path(theirs).read_bytes())
    assert te.cached_engine(KEY, tmp_path) is None
    assert te.cached_engine(other, tmp_path) == theirs


# --- Missing TensorRT ----------------------------------------------------------------------------


@pytest.mark.tensorrt  # depends on TensorRT being absent: may skip under CI
@pytest.mark.skipif(HAVE_TENSORRT, reason="TensorRT is installed here")
def test_runner_without_tensorrt_says_what_to_install(tmp_path):
    path = te.store_engine(KEY, b"not an engine", None, tmp_path)
    with pytest.raises(DependencyError) as error:
        te.TensorRTRunner(path)
    assert 'pip install "edgesdk[tensorrt]"' in str(error.value) and "NVIDIA GPU" in str(error.value)


# --- Requests against a real bundle (tiny graphs) ------------------------------------------------

CHANNELS_Y, CHANNELS_Z = 8, 4


def _tiny_graph(graph: str, precision: str, seed: int) -> bytes:
    """A stand-in codec graph with the manifest's I/O: stride-16 conv to y, stride-4 conv to z;
    the generator a stride-16 transposed conv. fp16 graphs cast inside (float32 at the boundary)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    dtype = np.float16 if precision == "fp16" else np.float32
    onnx_type = TensorProto.FLOAT16 if precision == "fp16" else TensorProto.FLOAT
    nodes, inits = [], []

    def weight(name, shape):
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(dtype), name))
        return name

    def cast_in(name):
        if precision != "fp16":
            return name
        nodes.append(helper.make_node("Cast", [name], [name + "_h"], to=onnx_type))
        return name + "_h"

    def cast_out(inner, name):
        nodes.append(helper.make_node("Cast", [inner], [name], to=TensorProto.FLOAT) if precision == "fp16"
                     else helper.make_node("Identity", [inner], [name]))

    def io(name, channels, scale):
        suffix = f"/{scale}" if scale > 1 else ""
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, channels, f"height{suffix}", f"width{suffix}"])

    if graph == "compressor":
        x = cast_in("image")
        nodes.append(helper.make_node("Conv", [x, weight("w1", [CHANNELS_Y, 3, 16, 16]), weight("b1", [CHANNELS_Y])],
                                      ["y_i"], strides=[16, 16]))
        nodes.append(helper.make_node("Relu", ["y_i"], ["y_r"]))
        nodes.append(helper.make_node("Conv", ["y_r", weight("w2", [CHANNELS_Z, CHANNELS_Y, 4, 4])], ["z_i"],
                                      strides=[4, 4]))
        cast_out("y_r", "y")
        cast_out("z_i", "z")
        inputs, outputs = [io("image", 3, 1)], [io("y", CHANNELS_Y, 16), io("z", CHANNELS_Z, 64)]
    else:
        x = cast_in("y_hat")
        nodes.append(helper.make_node("ConvTranspose", [x, weight("w3", [CHANNELS_Y, 3, 16, 16])], ["img_i"],
                                      strides=[16, 16]))
        cast_out("img_i", "image")
        inputs, outputs = [io("y_hat", CHANNELS_Y, 16)], [io("image", 3, 1)]
    model = helper.make_model(helper.make_graph(nodes, graph, inputs, outputs, inits),
                              opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    return model.SerializeToString()


def _io(graph):
    def entry(name, channels, scale):
        suffix = f"/{scale}" if scale > 1 else ""
        return {"name": name, "dtype": "float32", "shape": [1, channels, f"height{suffix}", f"width{suffix}"]}
    if graph == "compressor":
        return [entry("image", 3, 1)], [entry("y", CHANNELS_Y, 16), entry("z", CHANNELS_Z, 64)]
    return [entry("y_hat", CHANNELS_Y, 16)], [entry("image", 3, 1)]


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    pytest.importorskip("onnx")
    from edgesdk.bundle import Bundle, write_bundle

    files, graphs = {}, {}
    for seed, graph in enumerate(("compressor", "generator")):
        inputs, outputs = _io(graph)
        for precision in ("fp32", "fp16"):
            name = f"q3/{graph}.{precision}.onnx"
            files[name] = _tiny_graph(graph, precision, seed)
            graphs.setdefault(graph, {})[precision] = {"file": name, "inputs": inputs, "outputs": outputs}
    manifest = {
        "model": {"family": "tiny-test", "preset": "tiny", "config": {}},
        "onnx_opset": 17,
        "qualities": {"3": {"lambda": 0.013, "model_id": "00" * 32, "graphs": graphs}},
        "shape_range": {"min": [64, 64], "opt": [256, 256], "max": [512, 768]},
    }
    path = write_bundle(tmp_path_factory.mktemp("bundle") / "tiny", manifest, files)
    return Bundle.open(path)


def test_request_defaults_come_from_the_profile_and_the_bundle(tiny_bundle):
    from edgesdk.runtime.devices import load_profile

    nano = load_profile("jetson-orin-nano-8gb")
    request = te.resolve_request(tiny_bundle, "generator", 3, nano)
    assert request.precision == "fp16" and sorted(request.variants) == ["fp16", "fp32"]
    # The profile's 64..1088x1920 range cut to the bundle's 64..512x768; opt moved inside.
    assert request.shape_range == ShapeProfile((64, 64), (512, 768), (512, 768))
    explicit = ShapeProfile((64, 64), (128, 128), (256, 256))
    assert te.resolve_request(tiny_bundle, "compressor", 3, nano, "fp32", explicit).shape_range == explicit
    assert te.resolve_request(tiny_bundle, "compressor", 3, nano, "fp32", explicit.to_json()).shape_range == explicit


@pytest.mark.parametrize(("args", "message"), [
    (("encoder", 3, "jetson-orin-nano-8gb"), "graph must be one of"),
    (("compressor", 3, "cpu-accessory"), "has no GPU for TensorRT; its backend is onnxruntime-cpu"),
    (("compressor", 5, "jetson-orin-nano-8gb"), r"quality 5 is not in this bundle; it has \['3'\]"),
    (("compressor", 3, "jetson-orin-nano-8gb", "fp8"), "does not run fp8"),
    (("compressor", 3, "jetson-orin-nano-8gb", None, {"min": [64, 64], "opt": [64, 64], "max": [1024, 1024]}),
     "exceeds what the bundle supports"),
    (("compressor", 3, "jetson-orin-nano-8gb", None, {"min": [64, 64], "opt": [64, 64], "max": [100, 64]}),
     "not a multiple of 64"),
])
def test_request_refusals(tiny_bundle, args, message):
    from edgesdk.runtime.devices import load_profile

    graph, quality, profile, *rest = args
    with pytest.raises(InvalidArgumentError, match=message):
        te.resolve_request(tiny_bundle, graph, quality, load_profile(profile), *rest)


@pytest.mark.tensorrt  # depends on TensorRT being absent: may skip under CI
@pytest.mark.skipif(HAVE_TENSORRT, reason="TensorRT is installed here")
def test_build_without_tensorrt_says_what_to_install(tiny_bundle, tmp_path, capsys):
    with pytest.raises(DependencyError, match=r'pip install "edgesdk\[tensorrt\]"'):
        te.build_engine(tiny_bundle, "compressor", 3, "x86-dgpu", cache_dir=tmp_path)
    from edgesdk import cli

    assert cli.main(["build-engine", str(tiny_bundle.path), "--device", "x86-dgpu", "--cache-dir", str(tmp_path)]) == 1
    assert 'pip install "edgesdk[tensorrt]"' in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# --- Real builds and runs (TensorRT + GPU) -------------------------------------------------------


@pytest.fixture(scope="module")
def gpu_profile():
    pytest.importorskip("tensorrt")
    if importlib.util.find_spec("cuda") is None:
        pytest.skip("cuda-python is not installed")
    try:
        name, capability = te_build.gpu_identity(te_build.import_cudart())
    except DependencyError as error:
        pytest.skip(str(error))
    from edgesdk.runtime.devices import load_profile

    x86 = load_profile("x86-dgpu")
    # The dGPU profile fixes no compute capability, so it builds on whatever GPU runs the tests.
    return dataclasses.replace(x86, precisions=("fp32", "fp16"))


def _onnxruntime(model: bytes, inputs):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))


@pytest.mark.gpu
@pytest.mark.tensorrt
@pytest.mark.parametrize(("graph", "precision", "tolerance"), [
    ("compressor", "fp32", 1e-4), ("generator", "fp32", 1e-4), ("compressor", "fp16", 2e-2), ("generator", "fp16", 2e-2),
])
def test_engine_matches_onnxruntime(tiny_bundle, gpu_profile, tmp_path, graph, precision, tolerance):
    import numpy as np

    prepared = te.prepare_engine(tiny_bundle, graph, 3, gpu_profile, precision=precision, cache_dir=tmp_path)
    assert not prepared.reused and prepared.path.is_file()
    reference_model = tiny_bundle.read(f"q3/{graph}.fp32.onnx")
    rng = np.random.default_rng(1)
    with te.TensorRTRunner(prepared.path) as runner:
        (name,) = runner.input_names
        for height, width in ((64, 128), (512, 768), (128, 64)):  # grows, then shrinks, the buffers
            shape = (1, 3, height, width) if graph == "compressor" else (1, CHANNELS_Y, height // 16, width // 16)
            feed = {name: rng.standard_normal(shape).astype(np.float32)}
            got, expected = runner.run(feed), _onnxruntime(reference_model, feed)
            assert sorted(got) == sorted(expected)
            for output in expected:
                assert got[output].dtype == np.float32 and got[output].shape == expected[output].shape
                scale = float(np.abs(expected[output]).max()) or 1.0
                np.testing.assert_allclose(got[output], expected[output], atol=tolerance * scale, rtol=tolerance)


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_engine_cache_reuse_and_rebuild(tiny_bundle, gpu_profile, tmp_path):
    first = te.prepare_engine(tiny_bundle, "generator", 3, gpu_profile, precision="fp32", cache_dir=tmp_path)
    again = te.prepare_engine(tiny_bundle, "generator", 3, gpu_profile, precision="fp32", cache_dir=tmp_path)
    assert again.reused and again.path == first.path and again.key == first.key
    assert list((tmp_path / "timing").glob("*.timing"))
    other = te.prepare_engine(tiny_bundle, "generator", 3, gpu_profile, precision="fp32", cache_dir=tmp_path,
                              shape_range=ShapeProfile((64, 64), (128, 128), (256, 256)))
    assert not other.reused and other.path != first.path
    _damage_flip(first.path)
    repaired = te.prepare_engine(tiny_bundle, "generator", 3, gpu_profile, precision="fp32", cache_dir=tmp_path)
    assert not repaired.reused and any("damaged" in note for note in repaired.notes)
    assert te.cached_engine(first.key, tmp_path) == first.path
    forced = te.prepare_engine(tiny_bundle, "generator", 3, gpu_profile, precision="fp32", cache_dir=tmp_path,
                               force=True)
    assert not forced.reused


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_runner_rejects_bad_inputs(tiny_bundle, gpu_profile, tmp_path):
    import numpy as np

    path = te.build_engine(tiny_bundle, "generator", 3, gpu_profile, precision="fp32", cache_dir=tmp_path,
                           shape_range=ShapeProfile((64, 64), (128, 128), (256, 256)))
    runner = te.TensorRTRunner(path)
    assert runner.input_names == ("y_hat",) and runner.output_names == ("image",)
    with pytest.raises(InvalidArgumentError, match="accepts"):
        runner.run({"y_hat": np.zeros((1, CHANNELS_Y, 32, 32), np.float32)})  # 512x512 > 256x256
    with pytest.raises(InvalidArgumentError, match="missing"):
        runner.run({"image": np.zeros((1, 3, 64, 64), np.float32)})
    with pytest.raises(InvalidArgumentError, match="float"):
        runner.run({"y_hat": np.zeros((1, CHANNELS_Y, 4, 4), np.int32)})
    runner.close()
    runner.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        runner.run({"y_hat": np.zeros((1, CHANNELS_Y, 4, 4), np.float32)})
