"""Smoke run of the bundle-loading fuzz target (cpp/fuzz/fuzz_bundle.py, docs/fuzzing.md): a few
thousand structure-aware mutants of a small bundle must each end in success or an edgesdk.Error."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

FUZZ = Path(__file__).resolve().parents[2] / "cpp" / "fuzz" / "fuzz_bundle.py"


def test_bundle_loading_fuzz_smoke():
    spec = importlib.util.spec_from_file_location("fuzz_bundle", FUZZ)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = module.run(inputs=1500, seed=7)
    assert stats["untyped"] == 0, stats["findings"][:3]
    assert stats["inputs"] == 1500
    # The mutants reach past the archive: some open, some pass or fail the model-level checks.
    assert stats["outcomes"].get("opened", 0) + stats["outcomes"].get("opened, model refused", 0) > 0
