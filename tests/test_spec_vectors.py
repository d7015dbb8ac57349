"""The bitstream spec (docs/) against the bytes: docs/spec/vectors/ decode to their stored
integers through the package, and a clean-room reader written from docs/ alone
(tests/spec_reference: numpy + stdlib, no edgesdk import) reaches the same integers and
rebuilds the shipped CDF tables and model ids. docs/spec/README.md describes the vectors."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.spec_reference import cdf as ref_cdf
from tests.spec_reference import codec as ref_codec
from tests.spec_reference import container as ref_container
from tests.spec_reference import ecdf as ref_ecdf
from tests.spec_reference import egv as ref_egv
from tests.spec_reference import rans as ref_rans

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "docs" / "spec" / "vectors"
BUNDLE = ROOT / "edgesdk" / "data" / "models" / "lite.edgesdk"
GOLDEN = ROOT / "edgesdk" / "data" / "golden"
INDEX = json.loads((VECTORS / "index.json").read_text())
IMAGES = sorted(name for name in INDEX if name.endswith(".eli"))
VIDEOS = sorted(name for name in INDEX if name.endswith(".elv"))


@pytest.fixture(scope="module")
def bundle():
    return ref_codec.open_bundle(BUNDLE)


@pytest.fixture(scope="module")
def inter_tables():
    rows, offsets, _ = ref_codec.inter_tables()
    return rows, offsets


def stored(name: str) -> dict[str, np.ndarray]:
    with np.load(VECTORS / (Path(name).stem + ".npz")) as arrays:
        return {key: arrays[key] for key in arrays.files}


def test_vector_set_is_small_and_complete():
    sizes = {p.name: p.stat().st_size for p in VECTORS.iterdir()}
    assert len(IMAGES) >= 4 and len(VIDEOS) >= 1
    assert max(sizes.values()) < 200_000 and sum(sizes.values()) < 2_000_000
    for name in IMAGES + VIDEOS:
        assert name in sizes and Path(name).stem + ".npz" in sizes
    types = [f["type"] for f in INDEX[VIDEOS[0]]["frames"]]
    assert types == ["KEY", "P", "B"]
    background = INDEX["kodim23_6frames_70x45_q2_background.elv"]["frames"]
    assert [(f["type"], f.get("compact", False), f.get("background_id"), f.get("background_reference"),
             f.get("latent_prediction", False)) for f in background] == [
        ("KEY", False, 0, None, False), ("P", True, None, None, True), ("B", True, None, None, False),
        ("P", False, None, 0, True), ("P", True, None, None, True), ("B", True, None, None, False)]
    skipping = INDEX["kodim23_6frames_70x45_q2_skips_copied.elv"]["frames"]
    assert [(f["type"], f.get("skips_copied", False), f.get("step_sixteenths")) for f in skipping] == [
        ("KEY", False, None), ("P", True, 16), ("B", True, 32), ("P", True, 16), ("B", True, 32), ("P", True, 16)]
    moving = INDEX["kodim23_6frames_70x45_q2_motion_p.elv"]["frames"]  # compact (flag bit 4) and from the background
    assert [(f["type"], f.get("compact", False), f.get("motion_compensated", False), f.get("motion", {}).get("mode"))
            for f in moving if f["type"] == "P"] == [("P", True, True, 1), ("P", False, True, 1), ("P", True, True, 1)]


def test_reference_imports_no_edgesdk():
    for path in (ROOT / "tests" / "spec_reference").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                assert name.split(".")[0] in {"numpy", "struct", "hashlib", "json", "zipfile", "math",
                                              "dataclasses", "__future__"}, f"{path.name} imports {name}"


# --------------------------------------------------------------- (a) the package


@pytest.mark.parametrize("name", IMAGES)
def test_package_decodes_image_vector(name):
    from edgesdk.bitstream.container import Frame, SectionKind
    from edgesdk.codecs.model import CodecModel

    data = (VECTORS / name).read_bytes()
    expected = stored(name)
    frame = Frame.parse(data)
    assert (frame.width, frame.height, frame.quality) == (INDEX[name]["width"], INDEX[name]["height"],
                                                          INDEX[name]["quality"])
    model = CodecModel.open("lite")
    entropy = model.entropy_model(frame.quality)
    assert frame.model_id == model.model_id(frame.quality)
    z_shape = expected["z"].shape
    z = entropy.hyper_tables.decode(frame.section(SectionKind.HYPER_LATENT).data,
                                    np.broadcast_to(np.arange(z_shape[0], dtype=np.int32)[:, None, None], z_shape))
    np.testing.assert_array_equal(z, expected["z"])
    params = entropy.parameters(z)
    np.testing.assert_array_equal(params.indexes, expected["indexes"])
    np.testing.assert_array_equal(params.means * 2**entropy.mean_fraction_bits, expected["means_fixed"])
    np.testing.assert_array_equal(entropy.hyper_synthesis.run(z), expected["hs_output"])
    y = entropy.latent_tables.decode(frame.section(SectionKind.LATENT).data, params.indexes)
    np.testing.assert_array_equal(y, expected["y"])
    # and the whole latent path: ŷ = y + mean
    from edgesdk.codecs.image.codec import HyperpriorImageCodec

    codec = HyperpriorImageCodec(entropy, quality=frame.quality, model_id=frame.model_id)
    _, y_hat = codec.decode_latent(data)
    np.testing.assert_array_equal(y_hat, expected["y"] + expected["means_fixed"] / 2.0**entropy.mean_fraction_bits)


@pytest.mark.parametrize("name", VIDEOS)
def test_package_decodes_video_vector(name):
    from edgesdk.codecs.model import CodecModel
    from edgesdk.bitstream.packets import PacketReader
    from edgesdk.codecs.video import parse_video_frame

    expected = stored(name)
    model = CodecModel.open("lite")
    quality = INDEX[name]["quality"]
    payloads = [p.payload for p in PacketReader().feed((VECTORS / name).read_bytes()) if len(p.payload)]
    assert len(payloads) == len(INDEX[name]["frames"])
    for k, payload in enumerate(payloads):
        frame, syntax = parse_video_frame(payload, model.entropy_model(quality).latent_channels)
        entry = INDEX[name]["frames"][k]
        assert syntax.frame_type.name == entry["type"] and frame.compact == entry.get("compact", False)
        assert syntax.latent_prediction == entry.get("latent_prediction", False)
        assert (syntax.background_id, syntax.background_reference) == (entry.get("background_id"),
                                                                        entry.get("background_reference"))
        if syntax.residual is not None:
            np.testing.assert_array_equal(syntax.residual, expected[f"f{k}_residual"])
            np.testing.assert_array_equal(syntax.copy_blocks, expected[f"f{k}_copy_blocks"].astype(bool))
        for field in ("past", "future") if syntax.motion is not None else ():  # a mode may use one field
            vectors = getattr(syntax.motion, field)
            assert (vectors is None) == (f"f{k}_motion_{field}" not in expected)
            if vectors is not None:
                np.testing.assert_array_equal(vectors, expected[f"f{k}_motion_{field}"])


# ---------------------------------------------------- (b) the clean-room reference


@pytest.mark.parametrize("name", IMAGES)
def test_reference_parses_image_vector(name, bundle):
    frame = ref_container.parse_frame((VECTORS / name).read_bytes())
    quality = ref_codec.Quality(*bundle, frame.quality)
    expected = stored(name)
    # the parse alone (z, then y with the stored table indexes) ...
    parsed = ref_codec.keyframe(quality, frame, indexes=expected["indexes"])
    np.testing.assert_array_equal(parsed["z"], expected["z"])
    np.testing.assert_array_equal(parsed["y"], expected["y"])
    # ... and with the reference's own integer hyper-synthesis
    full = ref_codec.keyframe(quality, frame)
    for key in ("hs_output", "indexes", "means_fixed", "y"):
        np.testing.assert_array_equal(full[key], expected[key], err_msg=key)


@pytest.mark.parametrize("name", VIDEOS)
def test_reference_parses_video_vector(name, bundle, inter_tables):
    expected = stored(name)
    packets = ref_container.parse_packets((VECTORS / name).read_bytes())
    assert packets[-1] == (2, b"") and packets[0][0] & 1
    frames = [ref_container.parse_frame(payload) for _, payload in packets[:-1]]
    quality = ref_codec.Quality(*bundle, INDEX[name]["quality"])
    for k, frame in enumerate(frames):
        entry = INDEX[name]["frames"][k]
        assert (frame.param(14), frame.param(15)) == (entry.get("background_id"), entry.get("background_reference"))
        assert frame.param(16) == (1 if entry.get("latent_prediction") else None)
        assert frame.param(8) == entry["display_index"] and frame.param(10) == entry.get("step_sixteenths")
        got = ref_codec.keyframe(quality, frame) if frame.frame_type == ref_codec.KEY else \
            ref_codec.inter_frame(frame, quality.latent_channels, inter_tables)
        keys = {key[len(f"f{k}_"):] for key in expected if key.startswith(f"f{k}_")}
        assert set(got) == keys
        for key in keys:
            np.testing.assert_array_equal(got[key], expected[f"f{k}_{key}"], err_msg=f"frame {k} {key}")


def test_reference_refuses_what_docs_forbid_of_moved_p_frames(inter_tables):
    """The clean-room reader, from docs alone, refuses flag bit 4 beside latent prediction (bit 1)
    or on a B frame, and a P frame's MOTION of another mode than forward."""
    import struct

    from tests.spec_reference.crc32c import crc32c

    name = "kodim23_6frames_70x45_q2_motion_p.elv"
    payloads = [p for _, p in ref_container.parse_packets((VECTORS / name).read_bytes())[:-1]]
    moved = next(p for p in payloads if p[:4] == b"EDGI" and p[5] == 1)
    assert moved[6] & 16 and ref_container.parse_frame(moved).sections[0][0] == 3

    def resealed(data: bytes) -> bytes:
        return data[:-4] + struct.pack("<I", crc32c(data[:-4]))

    bad = bytearray(moved)
    bad[6] |= 2
    with pytest.raises(ValueError):
        ref_container.parse_frame(resealed(bytes(bad)))
    b_frame = bytearray(next(p for p in payloads if p[:4] == b"EDGI" and p[5] == 2))
    b_frame[6] |= 16
    with pytest.raises(ValueError):
        ref_container.parse_frame(resealed(bytes(b_frame)))
    frame = ref_container.parse_frame(moved)
    motion = frame.sections[0][1]
    for mode in (0, 2, 3):
        frame.sections[0] = (3, bytes([mode]) + motion[1:])
        with pytest.raises(ValueError):
            ref_codec.inter_frame(frame, 128, inter_tables)


@pytest.mark.parametrize("name", ["rans_fixed", "rans_gaussian", "rans_tiny"])
def test_reference_rans_decodes_golden_vectors(name):
    """Escapes of every size, int32 extremes, streams shorter than four elements."""
    arrays = ref_egv.read((GOLDEN / f"{name}.egv").read_bytes())
    starts = np.concatenate([[0], np.cumsum(arrays["cdf_lengths"])[:-1]])
    tables = [arrays["cdf_values"][s : s + n] for s, n in zip(starts, arrays["cdf_lengths"])]
    got = ref_rans.decode(arrays["stream"].tobytes(), tables, arrays["offsets"], arrays["indexes"])
    np.testing.assert_array_equal(got, arrays["values"])


def test_reference_rans_refuses_damage():
    arrays = ref_egv.read((GOLDEN / "rans_tiny.egv").read_bytes())
    tables = [arrays["cdf_values"]]
    stream = arrays["stream"].tobytes()
    assert ref_rans.decode(b"", tables, arrays["offsets"], np.zeros(0, np.int32)).size == 0
    with pytest.raises(ref_rans.StreamError):
        ref_rans.decode(b"\0", tables, arrays["offsets"], np.zeros(0, np.int32))
    with pytest.raises(ref_rans.StreamError):
        ref_rans.decode(stream[:-1], tables, arrays["offsets"], arrays["indexes"])
    with pytest.raises(ref_rans.StreamError):
        ref_rans.decode(stream + b"\0", tables, arrays["offsets"], arrays["indexes"])


# ----------------------------------------------------------- (c) tables and ids


def test_reference_builds_all_shipped_gaussian_tables(bundle):
    """The 64 latent tables of every quality (and of the golden vector) from the documented builder."""
    golden = ref_egv.read((GOLDEN / "rans_gaussian.egv").read_bytes())
    scales, tail_mass = golden["scales"], float(golden["tail_mass"][0])
    documented = np.exp(np.linspace(math.log(0.11), math.log(256.0), 64))
    assert np.array_equal(scales, documented)  # docs/entropy.md, "Scales of the latent tables"
    built = [ref_cdf.gaussian_cdf(float(s), tail_mass) for s in scales]
    zipped, manifest = bundle
    for quality in manifest["qualities"]:
        rows, offsets = ref_ecdf.read_tables(zipped.read(manifest["qualities"][quality]["integer_data"]["latent_tables"]))
        assert len(rows) == 64
        for t, ((cdf, offset), row) in enumerate(zip(built, rows)):
            assert offsets[t] == offset and list(row) == cdf, f"quality {quality}, table {t}"


def test_reference_builder_matches_the_cpp_builder_off_grid():
    from edgesdk.bitstream import entropy

    rng = np.random.default_rng(11)
    for scale in list(rng.uniform(0.05, 300.0, 40)) + [0.05, 0.11, 1e-3, 1e4]:
        cdf, offset = entropy.gaussian_cdf(float(scale), 1e-9)
        assert (list(cdf), offset) == ref_cdf.gaussian_cdf(float(scale), 1e-9), scale
    for _ in range(20):  # quantize_pmf with surplus and deficit
        pmf = rng.dirichlet(np.full(int(rng.integers(2, 300)), 0.3))
        tail = float(rng.uniform(0, 1e-3))
        assert list(entropy.pmf_to_quantized_cdf(pmf, tail)) == ref_cdf.quantize_pmf(list(pmf), tail)


def test_hyper_tables_follow_the_table_rules(bundle):
    """Hyper tables come from float pmfs we do not ship; check what docs promise about them."""
    zipped, manifest = bundle
    for quality in manifest["qualities"]:
        rows, offsets = ref_ecdf.read_tables(zipped.read(manifest["qualities"][quality]["integer_data"]["hyper_tables"]))
        assert len(rows) == manifest["model"]["config"]["N"]
        assert all(r[0] == 0 and r[-1] == 65536 and np.all(np.diff(r) >= 1) for r in rows)


def test_inter_tables_digest():
    _, _, digest = ref_codec.inter_tables()
    assert digest == ref_codec.INTER_TABLES_SHA256
    from edgesdk.codecs.video import residual

    assert digest == residual.INTER_TABLES_SHA256


def test_model_id_recomputes_from_the_bundle(bundle):
    zipped, manifest = bundle
    for quality, entry in manifest["qualities"].items():
        assert ref_codec.model_id(zipped, manifest, int(quality)) == entry["model_id"]
