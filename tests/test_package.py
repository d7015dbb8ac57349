import subprocess
import sys

from edgesdk import cli
from edgesdk.bitstream import golden


def test_runtime_imports_pull_in_no_ml_framework_or_optional_library():
    # Every module of the package, found by walking it, so a new module cannot be forgotten here.
    code = (
        "import sys, pkgutil, importlib, edgesdk;"
        "names = [m.name for m in pkgutil.walk_packages(edgesdk.__path__, 'edgesdk.')];"
        "[importlib.import_module(n) for n in names];"
        "assert len(names) > 10, names;"
        "loaded = {'torch', 'tensorrt', 'onnxruntime', 'onnx', 'PIL', 'matplotlib', 'scipy', 'av', 'cryptography',"
        " 'cuda', 'edgesdk_export'} & set(sys.modules);"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_golden_vectors_verify_and_cover_every_file():
    report = golden.verify()
    assert len(report) == len(list(golden.GOLDEN_DIR.glob("*.egv")))
    assert all("exact" in line for line in report)


def test_golden_generation_is_reproducible(tmp_path):
    golden.generate(tmp_path)
    for path in golden.GOLDEN_DIR.glob("*.egv"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_golden_verify_detects_a_changed_stream(tmp_path):
    golden.generate(tmp_path)
    vector = golden.read_vector(tmp_path / "rans_fixed.egv")
    vector["stream"][100] ^= 1
    golden.write_vector(tmp_path / "rans_fixed.egv", vector)
    try:
        golden.verify(tmp_path)
    except Exception as error:  # noqa: BLE001 - any edgesdk error is the expected outcome
        assert "rans_fixed.egv" in str(error)
    else:
        raise AssertionError("a damaged golden stream verified")


def test_selfcheck_command(capsys):
    assert cli.main(["selfcheck"]) == 0
    assert "all golden vectors bit-exact" in capsys.readouterr().out


def test_console_script_runs():
    result = subprocess.run(["edgesdk", "selfcheck"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_public_classes_and_functions_have_docstrings_and_modules_stay_small():
    import ast
    from pathlib import Path

    import edgesdk

    root = Path(edgesdk.__file__).parent
    missing, large = [], []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        if not ast.get_docstring(tree):
            missing.append(f"{path.relative_to(root)}: module")
        for node in tree.body:
            members = node.body if isinstance(node, ast.ClassDef) and not node.name.startswith("_") else []
            for item in [node, *members]:
                if (isinstance(item, (ast.FunctionDef, ast.ClassDef)) and not item.name.startswith("_")
                        and not ast.get_docstring(item)):
                    missing.append(f"{path.relative_to(root)}:{item.lineno} {item.name}")
        if len(text.splitlines()) > 400 and not text.startswith("# Over 400 lines"):
            large.append(str(path.relative_to(root)))
    assert not missing, missing
    assert not large, f"over 400 lines without a reason at the top: {large}"
