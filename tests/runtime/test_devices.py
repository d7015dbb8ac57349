import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgesdk import cli

from edgesdk.runtime import devices
from edgesdk.runtime.devices import DeviceProfile, ShapeProfile, detect_profile, list_profiles, load_profile
from edgesdk.errors import DeviceProfileError, InvalidArgumentError

REPO_DEVICES = Path(__file__).resolve().parents[2] / "devices"
SHIPPED = sorted(path.stem for path in REPO_DEVICES.glob("*.json"))


def profile_json(name: str) -> dict:
    return json.loads((REPO_DEVICES / f"{name}.json").read_text())


def write_profile(folder: Path, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['name']}.json"
    path.write_text(json.dumps(data))
    return path


def test_every_shipped_profile_loads_and_round_trips():
    assert SHIPPED == ["cpu-accessory", "generic-aarch64", "generic-x86-64", "jetson-agx-orin-64gb",
                       "jetson-orin-nano-8gb", "jetson-orin-nx-16gb",
                       "jetson-thor", "x86-dgpu"]
    assert set(SHIPPED) <= set(list_profiles())
    for name in SHIPPED:
        profile = load_profile(name)
        assert profile.name == name
        assert profile.to_json() == {**profile_json(name), "detect": profile.to_json()["detect"]}
        assert DeviceProfile.from_json(profile.to_json()) == profile


def test_hardware_facts_of_the_shipped_profiles():
    facts = {name: load_profile(name) for name in SHIPPED}
    for name in ("jetson-orin-nano-8gb", "jetson-orin-nx-16gb", "jetson-agx-orin-64gb"):
        assert facts[name].cuda_compute_capability == "8.7"
        assert facts[name].tensorrt[0] == 10
    assert facts["jetson-thor"].cuda_compute_capability == "11.0"
    assert [facts[n].dla_cores for n in ("jetson-orin-nano-8gb", "jetson-orin-nx-16gb", "jetson-agx-orin-64gb",
                                         "jetson-thor")] == [0, 2, 2, 0]
    assert "fp8" in facts["jetson-thor"].precisions and "fp8" not in facts["jetson-agx-orin-64gb"].precisions
    cpu = facts["cpu-accessory"]
    assert (cpu.gpu, cpu.tensorrt, cpu.default_backend, cpu.precisions) == ("none", None, "onnxruntime-cpu", ("fp32",))
    assert facts["x86-dgpu"].cuda_compute_capability is None


def _set(data, path, value):
    *parents, last = path.split(".")
    for part in parents:
        data = data[part]
    if value is _DELETE:
        del data[last]
    else:
        data[last] = value


_DELETE = object()
BAD_FIELDS = [
    ("x86-dgpu", "colour", "blue", "unknown field 'colour'"),
    ("x86-dgpu", "schema_version", 2, "schema_version 2 is not supported"),
    ("x86-dgpu", "name", 7, "name: expected a string"),
    ("x86-dgpu", "description", " ", "description"),
    ("x86-dgpu", "precisions", _DELETE, "missing field 'precisions'"),
    ("x86-dgpu", "precisions", ["fp32", "fp12"], "precisions: 'fp12'"),
    ("x86-dgpu", "precisions", ["fp16"], "precisions: must include fp32"),
    ("x86-dgpu", "precisions", ["fp32", "fp32"], "precisions: listed twice"),
    ("x86-dgpu", "architecture", "riscv64", "architecture: 'riscv64'"),
    ("x86-dgpu", "gpu", "external", "gpu: 'external'"),
    ("x86-dgpu", "jetpack", "6.2", "jetpack"),
    ("jetson-orin-nx-16gb", "jetpack", "six", "jetpack: 'six'"),
    ("x86-dgpu", "tensorrt", {"major": 10}, "tensorrt: missing field 'minor'"),
    ("x86-dgpu", "tensorrt", {"major": "10", "minor": 3}, "tensorrt.major: expected an integer"),
    ("x86-dgpu", "tensorrt", None, "tensorrt: required"),
    ("jetson-thor", "cuda_compute_capability", "11", "cuda_compute_capability: '11'"),
    ("jetson-thor", "cuda_compute_capability", None, "cuda_compute_capability: required"),
    ("cpu-accessory", "cuda_compute_capability", "8.7", "cuda_compute_capability: must be null"),
    ("jetson-orin-nx-16gb", "dla_cores", "2", "dla_cores: expected an integer"),
    ("jetson-orin-nx-16gb", "dla_cores", True, "dla_cores: expected an integer"),
    ("jetson-orin-nx-16gb", "dla_cores", -1, "dla_cores: -1"),
    ("x86-dgpu", "dla_cores", 2, "dla_cores: only Jetson"),
    ("x86-dgpu", "memory_budget_mib", 0, "memory_budget_mib: 0"),
    ("x86-dgpu", "shape_profile.min", [100, 64], "shape_profile: min: 100 is not a multiple of 64"),
    ("x86-dgpu", "shape_profile.min", [64], "shape_profile.min: expected [height, width]"),
    ("x86-dgpu", "shape_profile.opt", [4096, 1920], "height: need min <= opt <= max"),
    ("x86-dgpu", "shape_profile.max", [2176, 1024], "width: need min <= opt <= max"),
    ("x86-dgpu", "shape_profile.step", 64, "shape_profile: unknown field 'step'"),
    ("x86-dgpu", "default_backend", "tflite", "default_backend: 'tflite'"),
    ("cpu-accessory", "default_backend", "tensorrt", "default_backend: tensorrt needs a GPU"),
    ("cpu-accessory", "default_precision.generator", "fp16", "default_precision.generator: 'fp16' is not in"),
    ("x86-dgpu", "default_precision.decoder", "fp16", "default_precision: unknown field 'decoder'"),
    ("x86-dgpu", "onnxruntime_providers", ["CUDAExecutionProvider"], "must end with CPUExecutionProvider"),
    ("x86-dgpu", "onnxruntime_providers", ["cuda", "CPUExecutionProvider"], "onnxruntime_providers"),
    ("x86-dgpu", "onnxruntime_providers", [], "onnxruntime_providers: expected a non-empty list"),
    ("x86-dgpu", "detect.gpu", True, "detect: unknown field 'gpu'"),
    ("x86-dgpu", "detect.fallback", "yes", "detect.fallback: expected true or false"),
    ("jetson-thor", "detect.device_tree_model", ["Thor", ""], "detect.device_tree_model: empty substring"),
]


@pytest.mark.parametrize(("name", "field", "value", "message"), BAD_FIELDS, ids=[f"{f}={v!r}" for _, f, v, _ in BAD_FIELDS])
def test_each_bad_field_is_rejected_with_its_name(tmp_path, name, field, value, message):
    data = copy.deepcopy(profile_json(name))
    _set(data, field, value)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DeviceProfileError) as error:
        load_profile(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert isinstance(error.value, InvalidArgumentError)


def test_file_name_must_match_the_profile_name(tmp_path):
    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(profile_json("x86-dgpu")))
    with pytest.raises(DeviceProfileError, match="must match the file name"):
        load_profile(path)


def test_unreadable_profiles_are_rejected(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "broken",\n  oops}')
    with pytest.raises(DeviceProfileError, match="invalid JSON at line 2"):
        load_profile(broken)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (devices.MAX_PROFILE_BYTES + 1))
    with pytest.raises(DeviceProfileError, match="larger than"):
        load_profile(huge)
    with pytest.raises(DeviceProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.json")
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(DeviceProfileError, match="expected an object"):
        load_profile(listed)


def test_unknown_and_malformed_names(tmp_path):
    with pytest.raises(DeviceProfileError, match="no device profile named 'jetson-nano-2gb'; known profiles: cpu-acc"):
        load_profile("jetson-nano-2gb")
    with pytest.raises(DeviceProfileError, match="not a profile name"):
        load_profile("Jetson Orin")


def test_adding_a_device_is_adding_a_json_file(tmp_path, monkeypatch):
    data = {**profile_json("x86-dgpu"), "name": "lab-rtx-4000", "description": "The lab's workstation"}
    data["shape_profile"] = {"min": [64, 64], "opt": [512, 512], "max": [1024, 1024]}
    write_profile(tmp_path, data)
    assert "lab-rtx-4000" in list_profiles(tmp_path)
    assert set(SHIPPED) <= set(list_profiles(tmp_path))
    assert load_profile("lab-rtx-4000", directory=tmp_path).shape_profile == ShapeProfile((64, 64), (512, 512),
                                                                                         (1024, 1024))
    assert "lab-rtx-4000" not in list_profiles()
    monkeypatch.setenv(devices.DEVICE_DIR_VARIABLE, str(tmp_path))
    assert load_profile("lab-rtx-4000").description == "The lab's workstation"
    # A folder of your own comes first, so it can also replace a shipped profile.
    write_profile(tmp_path, {**profile_json("jetson-thor"), "memory_budget_mib": 2048})
    assert load_profile("jetson-thor").memory_budget_mib == 2048


def test_shape_profile_range_operations():
    device = ShapeProfile((64, 64), (1088, 1920), (2176, 3840))
    bundle = ShapeProfile((128, 128), (512, 768), (1088, 1920))
    assert device.clamp_to(bundle) == ShapeProfile((128, 128), (1088, 1920), (1088, 1920))
    assert device.contains(bundle) and not bundle.contains(device)
    with pytest.raises(DeviceProfileError, match="do not overlap"):
        ShapeProfile((64, 64), (64, 64), (128, 128)).clamp_to(ShapeProfile((192, 192), (192, 192), (256, 256)))
    assert ShapeProfile.from_json(device.to_json()) == device


def fake_root(tmp_path: Path, files: dict[str, str | None]) -> Path:
    for relative, text in files.items():
        path = tmp_path / relative
        if text is None:
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(("files", "expected"), [
    ({}, "generic-x86-64"),
    ({"proc/device-tree/model": "NVIDIA Jetson Orin NX Engineering Reference Developer Kit\x00"}, "jetson-orin-nx-16gb"),
    ({"proc/device-tree/model": "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super\x00"},
     "jetson-orin-nano-8gb"),
    ({"sys/firmware/devicetree/base/model": "Jetson AGX Orin\x00"}, "jetson-agx-orin-64gb"),
    ({"proc/device-tree/model": "NVIDIA Jetson AGX Thor Developer Kit\x00",
      "proc/driver/nvidia/gpus/0000:01:00.0/information": "Model: Thor"}, "jetson-thor"),
    ({"proc/driver/nvidia/gpus/0000:01:00.0/information": "Model: NVIDIA RTX A4000"}, "x86-dgpu"),
    ({"dev/nvidia0": ""}, "x86-dgpu"),
    ({"proc/driver/nvidia/gpus": None}, "generic-x86-64"),
    ({"proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0\x00"}, "generic-x86-64"),
])
def test_detect_profile_from_a_host_root(tmp_path, files, expected):
    root = fake_root(tmp_path / "root", files)
    assert detect_profile(root, machine="x86_64") == expected
    aarch64 = detect_profile(root, machine="aarch64")
    assert aarch64 == (expected.replace("x86-64", "aarch64") if expected.startswith("generic") else expected)


def test_detect_prefers_the_longest_device_tree_match(tmp_path):
    extra = tmp_path / "profiles"
    write_profile(extra, {**profile_json("jetson-orin-nx-16gb"), "name": "jetson-orin-nx-8gb", "dla_cores": 1,
                          "detect": {"device_tree_model": ["Orin NX 8GB"]}})
    root = fake_root(tmp_path / "root", {"proc/device-tree/model": "NVIDIA Jetson Orin NX 8GB Module\x00"})
    assert detect_profile(root, directory=extra) == "jetson-orin-nx-8gb"
    assert detect_profile(root) == "jetson-orin-nx-16gb"


@pytest.mark.gpu  # skips on a host with an NVIDIA GPU or a device tree (allowed under CI)
def test_detect_profile_on_this_host():
    host_has_gpu_or_tegra = any(Path(p).exists() for p in ("/proc/driver/nvidia/gpus", "/dev/nvidia0",
                                                           "/proc/device-tree/model", "/etc/nv_tegra_release"))
    if host_has_gpu_or_tegra:
        pytest.skip("this host has an NVIDIA GPU or a device tree; the fake-root tests cover detection")
    from edgesdk.runtime.devices import host_architecture

    assert detect_profile() == f"generic-{host_architecture().replace('_', '-')}"


def test_devices_command(capsys):
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out
    detected = detect_profile()
    assert f"* {detected} " in out
    for name in SHIPPED:
        assert name in out
    assert cli.main(["devices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed] == list_profiles()
    assert [p["name"] for p in listed if p["detected"]] == [detected]


def test_devices_and_engine_modules_import_without_tensorrt_cuda_or_frameworks():
    code = ("import sys, edgesdk.runtime.devices, edgesdk.runtime.tensorrt, edgesdk.cli;"
            "edgesdk.runtime.devices.detect_profile();"
            "loaded = {'torch', 'tensorrt', 'cuda', 'onnxruntime', 'onnx'} & set(sys.modules);"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)
