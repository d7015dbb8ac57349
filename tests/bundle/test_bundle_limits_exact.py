"""Checks that pin the bundle reader's refusals to the exact rule, written to kill mutants that
survived the older tests (docs/testing.md: the schema check and the folder-walk bound)."""

from __future__ import annotations

import json

import pytest

import edgesdk
from edgesdk import bundle as B

FILES = {"q1/graph.onnx": b"graph bytes " * 50, "q1/tables.ecdf": bytes(range(256))}
MANIFEST = {"model": {"family": "test"},
            "qualities": {"1": {"graphs": {"generator": {"fp32": {"file": "q1/graph.onnx"}}},
                                "integer_data": {"latent_tables": "q1/tables.ecdf", "latent_channels": 8}}}}


@pytest.fixture(autouse=True)
def isolated_trust(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("EDGESDK_TRUSTED_KEYS", raising=False)
    monkeypatch.delenv("EDGESDK_REQUIRE_SIGNATURE", raising=False)


@pytest.mark.parametrize("schema", ["other", "edgesdk.bundle2", "", None, 1])
def test_a_foreign_schema_is_refused_as_such_even_when_everything_else_is_valid(tmp_path, schema):
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["schema"] = schema
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(edgesdk.BundleIntegrityError, match="is not an edgesdk bundle manifest"):
        B.Bundle.open(path)


def test_the_schema_string_read_from_json_is_accepted(tmp_path):
    """The schema compares by value (a JSON string is never the module's own str object)."""
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["schema"] == B.SCHEMA
    assert B.Bundle.open(path).manifest["schema"] == B.SCHEMA


def test_folder_walk_bound_is_four_entries_per_allowed_file(tmp_path):
    """Empty folders count towards the walk's bound of 4·MAX_FILES entries, and only beyond it
    is a folder bundle refused."""
    path = B.write_bundle(tmp_path / "b", MANIFEST, FILES)
    bound = 4 * B.MAX_FILES
    present = 5  # manifest.json, q1/, q1's two files, and spare/ below
    spare = path / "spare"
    spare.mkdir()
    for i in range(bound - present):  # exactly at the bound: opens
        (spare / f"{i}").mkdir()
    B.Bundle.open(path)
    (spare / "one-more").mkdir()
    with pytest.raises(edgesdk.BundleLimitError, match=f"more than {bound} entries"):
        B.Bundle.open(path)
