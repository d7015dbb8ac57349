"""Feature identifiers: the integer input, the integer code, the bundle entry."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from edgesdk.errors import BundleIntegrityError, InvalidArgumentError
from edgesdk.search.identifier import Component, FeatureIdentifier, attach_identifier, latent_input
from edgesdk.search.labels import COMPONENTS
from search_helpers import picking_components, picking_entry, picking_network


def test_latent_input_rounds_half_up_clips_and_crops():
    y_hat = np.zeros((2, 4, 4), np.float32)
    y_hat[0, 0, :4] = [0.125, -0.125, 0.0625, 40.0]  # 4ŷ = 0.5 → 1, -0.5 → 0, 0.25 → 0, 160 → 127
    y_hat[1, 3, 3] = 9.0  # outside the visible 2×3 cells of a 40×20 frame
    x = latent_input(y_hat, 20, 40)
    assert x.dtype == np.int8 and x.shape == (2, 2, 3)
    assert x[0, 0].tolist() == [1, 0, 0] and x[1].max() == 0
    assert latent_input(y_hat, 64, 64)[0, 0, 3] == 127
    with pytest.raises(InvalidArgumentError, match="does not fit"):
        latent_input(y_hat, 65, 64)


def test_integer_code_pools_visible_cells_exactly(search_codec):
    from edgesdk.search.store import frame_code

    rng = np.random.default_rng(3)
    pixels = np.clip(rng.normal(120, 40, (72, 100, 3)), 0, 255).astype(np.uint8)
    data = search_codec.encode(pixels)
    frame, y_hat = search_codec.codec().decode_latent(data)
    identifier = search_codec.model.feature_identifier(1)
    x = latent_input(y_hat, 72, 100).astype(np.int64)  # 5×7 visible cells of an 8×8 latent
    assert x.shape[1:] == (5, 7)
    expected = [x[k].sum() // x[k].size for k in range(6)] + [x[6].max()]
    assert identifier.integer_code(y_hat, 72, 100).tolist() == expected
    assert np.array_equal(frame_code(search_codec, data), np.float32(expected) * np.float32(0.25))


def test_components_clamp_and_dequantize():
    components = [Component("a", "mean", 0.5, 1.0, -2, 3), Component("b", "max", 2.0)]
    weight = np.zeros((2, 3, 1, 1), np.int8)
    weight[0, 0] = weight[1, 1] = 1
    from edgesdk.bitstream.intnet import IntConv, IntNetworkSpec

    conv = IntConv(weight=weight, bias=np.zeros(2, np.int32), multiplier=np.full(2, 1 << 30, np.int32),
                   shift=np.full(2, 30, np.uint8))
    identifier = FeatureIdentifier(IntNetworkSpec(3, -127, 127, [conv]).to_blob(), components)
    y_hat = np.zeros((3, 1, 2), np.float32)
    y_hat[0] = [5.0, 5.0]  # 4ŷ = 20: mean 20, clamped to 3
    y_hat[1] = [-1.0, 0.5]  # 4ŷ = -4, 2: max 2
    assert identifier.integer_code(y_hat, 16, 32).tolist() == [3, 2]
    assert identifier.code(y_hat, 16, 32).tolist() == [2.5, 4.0]
    with pytest.raises(BundleIntegrityError, match="channels per cell"):
        FeatureIdentifier(IntNetworkSpec(3, -127, 127, [conv]).to_blob(), components[:1])


@pytest.mark.parametrize("entry", [
    {"name": "face", "pooling": "median", "scale": 1.0},
    {"name": "2x", "pooling": "mean", "scale": 1.0},
    {"name": "face", "pooling": "max"},
    {"name": "face", "pooling": "max", "scale": 1.0, "low": 5, "high": 4},
    {"name": "face", "pooling": "max", "scale": True},
    ["face"],
])
def test_malformed_components_are_refused(entry):
    with pytest.raises(BundleIntegrityError, match="components"):
        Component.from_manifest(entry, "qualities.1.search.components[0]")


def test_bundle_with_identifier_keeps_model_ids(search_bundle, search_codec):
    from edgesdk.codecs.model import CodecModel

    model, lite = search_codec.model, CodecModel.open("lite")
    assert [model.model_id(q) for q in model.qualities] == [lite.model_id(q) for q in model.qualities]
    assert model.feature_identifier(1).names == COMPONENTS
    # the shipped lite model carries its identifier at quality 2 only; quality 1's is the one attached here
    assert lite.feature_identifier(1) is None and lite.feature_identifier(2) is not None
    assert model.bundle.read("q1/search.eint") == picking_network()
    assert CodecModel.open(search_bundle).manifest["qualities"]["1"]["search"]["file"] == "q1/search.eint"


def test_identifier_is_pinned_by_the_manifest(search_bundle, tmp_path):
    from edgesdk.codecs.model import CodecModel

    changed = tmp_path / "changed"
    shutil.copytree(search_bundle, changed)
    blob = bytearray((changed / "q1" / "search.eint").read_bytes())
    blob[40] ^= 1
    (changed / "q1" / "search.eint").write_bytes(bytes(blob))
    with pytest.raises(BundleIntegrityError, match="search.eint"):
        CodecModel.open(changed)


def test_broken_entries_are_refused(search_bundle, tmp_path):
    from edgesdk.codecs.model import CodecModel, LITE_MODEL

    with pytest.raises(BundleIntegrityError, match="not a usable identifier"):
        attach_identifier(LITE_MODEL, tmp_path / "bad", 1, b"EINT" + bytes(30), picking_entry())
    with pytest.raises(BundleIntegrityError, match="channels per cell"):
        attach_identifier(LITE_MODEL, tmp_path / "bad", 1, picking_network(),
                          {"components": [c.to_manifest() for c in picking_components()[:3]]})
    unlisted = tmp_path / "unlisted"
    shutil.copytree(search_bundle, unlisted)
    manifest = json.loads((unlisted / "manifest.json").read_text())
    manifest["qualities"]["1"]["search"]["file"] = "q1/other.eint"
    (unlisted / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    with pytest.raises(BundleIntegrityError, match="search.file names"):
        CodecModel.open(unlisted)
