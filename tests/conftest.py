import sys
from pathlib import Path

# Test helpers (native_build) live beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest_plugins = ["torch_fixtures"]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``torch`` are skipped where torch or edgesdk_export is absent."""
    import importlib.util

    import pytest

    if importlib.util.find_spec("torch") and importlib.util.find_spec("edgesdk_export"):
        return
    skip = pytest.mark.skip(reason="needs torch and the export extra: pip install 'edgesdk[export]'")
    for item in items:
        if item.get_closest_marker("torch"):
            item.add_marker(skip)
