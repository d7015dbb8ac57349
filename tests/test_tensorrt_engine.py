import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from edgesdk import tensorrt_engine as te
from edgesdk.devices import ShapeProfile
from edgesdk.errors import DependencyError, InvalidArgumentError
from edgesdk.tensorrt_engine import BuildPlan, EngineKey, plan_build

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
    lambda path: te.sidecar_path(path).write_bytes(b" " * (te._MAX_SIDECAR_BYTES + 2)),
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


@pytest.mark.skipif(HAVE_TENSORRT, reason="TensorRT is installed here")
def test_runner_without_tensorrt_says_what_to_install(tmp_path):
    path = te.store_engine(KEY, b"not an engine", None, tmp_path)
    with pytest.raises(DependencyError) as error:
        te.TensorRTRunner(path)
    assert 'pip install "edgesdk[tensorrt]"' in str(error.value) and "NVIDIA GPU" in str(error.value)
