"""edgesdk.eval: metrics, Bjøntegaard deltas, Pillow anchors, plots, reference data."""

import math

import numpy as np
import pytest

import shared_data
import edgesdk.eval as ev

KODAK = shared_data.DATA / "kodak"


def _rng(seed=0):
    return np.random.default_rng(seed)


def _smooth_image(h, w, seed=0):
    """A natural-looking test image: smooth gradients plus texture, uint8 RGB."""
    rng = _rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack(
        [
            120 + 80 * np.sin(xx / 17.0) * np.cos(yy / 23.0),
            100 + 0.4 * xx - 0.3 * yy,
            140 + 60 * np.cos((xx + yy) / 31.0),
        ],
        axis=2,
    )
    return np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


def _add_noise(image, sigma, seed=1):
    noisy = image.astype(np.float64) + _rng(seed).normal(0, sigma, image.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


# -------------------------------------------------------------------------------- PSNR


def test_psnr_exact_on_constructed_cases():
    a = np.full((4, 6, 3), 100, dtype=np.uint8)
    b = a + 1  # every sample off by 1: MSE = 1
    assert ev.psnr(a, b) == pytest.approx(20 * math.log10(255), abs=1e-12)
    c = a.copy()
    c[0, 0, 0] = 110  # one sample off by 10 among 72: MSE = 100 / 72
    assert ev.psnr(a, c) == pytest.approx(10 * math.log10(255**2 * 72 / 100), abs=1e-12)
    d = a.astype(np.int16)
    d[::2] -= 4  # half the rows off by 4: MSE = 8
    assert ev.psnr(a, d.astype(np.uint8)) == pytest.approx(10 * math.log10(255**2 / 8), abs=1e-12)
    assert ev.psnr(a, a) == math.inf
    # symmetric, and no uint8 wrap-around
    z, m = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)
    assert ev.psnr(z, m) == ev.psnr(m, z) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        ev.psnr(a, a[:2])


# ----------------------------------------------------------------------------- MS-SSIM


def test_ms_ssim_identity_and_monotone_in_noise():
    image = _smooth_image(176, 192)
    assert ev.ms_ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    values = [ev.ms_ssim(image, _add_noise(image, sigma)) for sigma in (1, 3, 8, 20, 50)]
    assert all(0 < v < 1 for v in values)
    assert all(x > y for x, y in zip(values, values[1:])), values
    # symmetric in its arguments
    noisy = _add_noise(image, 8)
    assert ev.ms_ssim(image, noisy) == pytest.approx(ev.ms_ssim(noisy, image), abs=1e-12)
    # a constant shift changes luminance only a little at data range 255
    assert ev.ms_ssim(image, np.clip(image.astype(int) + 3, 0, 255).astype(np.uint8)) > 0.99


def _reference_ms_ssim(a, b, data_range=255.0):
    """Straightforward MS-SSIM, written independently of edgesdk.eval.metrics.

    Non-separable 11x11 Gaussian window applied by explicit loops over the window
    offsets (shift and add), one channel at a time; 2x2 average pooling over an
    explicitly zero-padded array; same conventions as pytorch_msssim (valid filtering,
    smoothing skipped along a dimension shorter than the window, relu, per-channel
    MS-SSIM then mean over channels).
    """
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    g = [math.exp(-((i - 5) ** 2) / (2 * 1.5**2)) for i in range(11)]
    g = [v / sum(g) for v in g]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(img):
        h, w = img.shape
        gy = g if h >= 11 else [1.0]
        gx = g if w >= 11 else [1.0]
        oh, ow = h - len(gy) + 1, w - len(gx) + 1
        out = np.zeros((oh, ow))
        for i, wy in enumerate(gy):
            for j, wx in enumerate(gx):
                out += wy * wx * img[i : i + oh, j : j + ow]
        return out

    def pool(img):
        h, w = img.shape
        ph, pw = h % 2, w % 2
        padded = np.zeros((h + 2 * ph, w + 2 * pw))
        padded[ph : ph + h, pw : pw + w] = img
        oh, ow = (h + 2 * ph) // 2, (w + 2 * pw) // 2
        out = np.zeros((oh, ow))
        for i in range(oh):
            for j in range(ow):
                out[i, j] = padded[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].sum() / 4
        return out

    per_channel = []
    for ch in range(a.shape[2]):
        x, y = a[:, :, ch].astype(np.float64), b[:, :, ch].astype(np.float64)
        value = 1.0
        for level in range(5):
            mx, my = blur(x), blur(y)
            vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
            cs = float(np.mean((2 * cxy + c2) / (vx + vy + c2)))
            if level < 4:
                value *= max(cs, 0.0) ** weights[level]
                x, y = pool(x), pool(y)
            else:
                lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
                ssim = float(np.mean(lum * (2 * cxy + c2) / (vx + vy + c2)))
                value *= max(ssim, 0.0) ** weights[level]
        per_channel.append(value)
    return sum(per_channel) / len(per_channel)


@pytest.mark.parametrize("shape", [(176, 180), (181, 167), (40, 27)])
def test_ms_ssim_matches_independent_implementation(shape):
    image = _smooth_image(*shape, seed=3)
    distorted = _add_noise(image, 15, seed=4)
    expected = _reference_ms_ssim(image, distorted)
    assert 0.3 < expected < 0.999
    assert ev.ms_ssim(image, distorted) == pytest.approx(expected, rel=1e-10)


def test_ms_ssim_single_channel():
    image = _smooth_image(180, 176, seed=5)
    noisy = _add_noise(image, 10)
    per_channel = [ev.ms_ssim(image[:, :, c], noisy[:, :, c]) for c in range(3)]
    assert ev.ms_ssim(image, noisy) == pytest.approx(np.mean(per_channel), rel=1e-12)


# ----------------------------------------------------------------------------- BD-rate

ANCHOR_RATES = [0.12, 0.21, 0.35, 0.55, 0.90, 1.45]
ANCHOR_PSNRS = [27.1, 29.0, 30.9, 32.6, 34.8, 37.0]


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_bd_rate_identical_scaled_and_symmetric(method):
    assert ev.bd_rate(ANCHOR_RATES, ANCHOR_PSNRS, ANCHOR_RATES, ANCHOR_PSNRS, method=method) == pytest.approx(0, abs=1e-9)
    cheaper = [0.9 * r for r in ANCHOR_RATES]
    saving = ev.bd_rate(ANCHOR_RATES, ANCHOR_PSNRS, cheaper, ANCHOR_PSNRS, method=method)
    assert saving == pytest.approx(-10.0, abs=1e-9)
    reverse = ev.bd_rate(cheaper, ANCHOR_PSNRS, ANCHOR_RATES, ANCHOR_PSNRS, method=method)
    assert reverse > 0
    assert (1 + saving / 100) * (1 + reverse / 100) == pytest.approx(1.0, abs=1e-12)
    # better quality at equal rate: fewer bits for the same PSNR (only over the overlap)
    better = [p + 0.5 for p in ANCHOR_PSNRS]
    assert ev.bd_rate(ANCHOR_RATES, ANCHOR_PSNRS, ANCHOR_RATES, better, method=method) < 0
    # point order does not matter
    assert ev.bd_rate(ANCHOR_RATES[::-1], ANCHOR_PSNRS[::-1], cheaper, ANCHOR_PSNRS, method=method) == pytest.approx(
        saving, abs=1e-9
    )


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_bd_psnr(method):
    assert ev.bd_psnr(ANCHOR_RATES, ANCHOR_PSNRS, ANCHOR_RATES, ANCHOR_PSNRS, method=method) == pytest.approx(0, abs=1e-9)
    better = [p + 0.5 for p in ANCHOR_PSNRS]
    assert ev.bd_psnr(ANCHOR_RATES, ANCHOR_PSNRS, ANCHOR_RATES, better, method=method) == pytest.approx(0.5, abs=1e-9)
    assert ev.bd_psnr(ANCHOR_RATES, better, ANCHOR_RATES, ANCHOR_PSNRS, method=method) == pytest.approx(-0.5, abs=1e-9)


def test_bd_rate_pchip_close_to_cubic_on_smooth_curves():
    # log-rate exactly linear in PSNR: both fits are exact, 2x rate -> +100 %
    psnrs = [28.0, 30.0, 32.0, 34.0, 36.0]
    rates = [0.1 * 2 ** ((p - 28) / 6) for p in psnrs]
    doubled = [2 * r for r in rates]
    for method in ("cubic", "pchip"):
        assert ev.bd_rate(rates, psnrs, doubled, psnrs, method=method) == pytest.approx(100.0, abs=1e-9)


def test_anchor_points_bracket_the_test_range():
    """The anchor's points for a BD-rate: those inside the test curve's PSNR range plus the
    nearest on each side (not the nearest two on one side), then more up to four."""
    from edgesdk.eval.video_evaluation import overlapping

    anchor = [{"kbps": 10.0 * k, "psnr": psnr} for k, psnr in enumerate([26.6, 28.1, 29.6, 31.2, 32.7, 34.3, 35.7, 37.2], 1)]
    chosen = [p["psnr"] for p in overlapping(anchor, 30.44, 35.09)]
    assert chosen == [29.6, 31.2, 32.7, 34.3, 35.7]  # 29.6 is further than 35.7 from the range, and kept
    assert [p["psnr"] for p in overlapping(anchor, 36.0, 40.0)] == [32.7, 34.3, 35.7, 37.2]  # none above
    assert [p["psnr"] for p in overlapping(anchor, 31.0, 32.0)] == [29.6, 31.2, 32.7, 34.3]
    assert [p["psnr"] for p in overlapping(anchor[:3], 20.0, 21.0)] == [26.6, 28.1, 29.6]  # fewer than 4 exist


def test_anchor_bytes_leave_out_sei_units_only():
    """SEI NAL units (3- or 4-byte start codes) are cut; parameter sets and slices are kept
    byte for byte, in order; a codec without NAL units is left alone."""
    from edgesdk.eval.video_evaluation import without_sei

    sps, pps, sei, idr = b"\x00\x00\x00\x01\x67\x42\x11", b"\x00\x00\x01\x68\xce", b"\x00\x00\x01\x06\x05\x10xx", b"\x00\x00\x01\x65\x88\x84"
    assert without_sei(sps + pps + sei + idr, "x264") == sps + pps + idr
    assert without_sei(sei + idr + sei, "x264") == idr
    hevc_sei, hevc_slice = b"\x00\x00\x00\x01\x4e\x01\x05abc", b"\x00\x00\x01\x28\x01\xaf"  # types 39, 20
    assert without_sei(hevc_slice + hevc_sei + hevc_slice, "x265") == hevc_slice * 2
    assert without_sei(b"\x00\x00\x01\x50\x01\x05", "x265") == b""  # suffix SEI (type 40)
    assert without_sei(sei, "x265") == sei  # an H.264 SEI header is an HEVC slice type
    assert without_sei(b"\x12\x00\x0a\x0b", "svt-av1") == b"\x12\x00\x0a\x0b"
    assert without_sei(b"", "x264") == b"" and without_sei(b"\x65\x00", "x264") == b"\x65\x00"


@pytest.mark.parametrize("anchor", ["x264", "x265"])
def test_anchor_rate_counts_what_the_decoder_needs(anchor):
    """x264 and x265 write their settings string as SEI (x265 at every keyframe); the rate
    leaves it out, and the pictures decoded without it are the same."""
    pytest.importorskip("av")
    from edgesdk.eval.video_evaluation import anchor_packets, decode_anchor, evaluate_anchor, without_sei

    frames = [_smooth_image(64, 96, seed) for seed in range(4)]
    point, = evaluate_anchor(anchor, frames, keyframe_interval=2, crfs=[30])
    assert point["sei_bytes"] > 300  # the settings string, measured 0.7 kB (x264) / 2.3 kB (x265) a copy

    packets = anchor_packets(anchor, frames, keyframe_interval=2, crf=30)
    stripped = [without_sei(p, anchor) for p in packets]
    # (x264's slices differ by a few bytes between threaded runs; its settings string does not)
    assert sum(map(len, packets)) - sum(map(len, stripped)) == point["sei_bytes"]
    original, without = decode_anchor(anchor, packets), decode_anchor(anchor, stripped)
    assert len(without) == len(frames) and all(np.array_equal(a, b) for a, b in zip(original, without))


def test_bd_rate_rejects_bad_input():
    with pytest.raises(ValueError):
        ev.bd_rate([0.1, 0.2, 0.3], [28, 30, 32], [0.1, 0.2, 0.3], [28, 30, 32])  # fewer than 4 points
    with pytest.raises(ValueError):
        ev.bd_rate(ANCHOR_RATES, ANCHOR_PSNRS, ANCHOR_RATES, [p + 20 for p in ANCHOR_PSNRS])  # no overlap
    with pytest.raises(ValueError):
        ev.bd_rate(ANCHOR_RATES, ANCHOR_PSNRS, ANCHOR_RATES, ANCHOR_PSNRS, method="linear")


# ----------------------------------------------------------------------- codecs, images


@pytest.fixture(scope="module")
def kodak_crops():
    pytest.importorskip("PIL")
    shared_data.require("kodak")  # skips locally when absent, fails in CI
    from PIL import Image

    crops = []
    for name in ("kodim03.png", "kodim19.png"):
        with Image.open(KODAK / name) as im:
            array = np.asarray(im.convert("RGB"))
        crops.append((name, array[100:228, 200:328].copy()))
    return crops


def test_load_images_reads_kodak():
    pytest.importorskip("PIL")
    shared_data.require("kodak")  # skips locally when absent, fails in CI
    images = ev.load_images(KODAK)
    assert len(images) == 24
    assert images[0][0] == "kodim01.png"
    assert all(a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 for _, a in images)
    assert {a.shape[:2] for _, a in images} == {(512, 768), (768, 512)}


@pytest.mark.parametrize("codec", ["jpeg", "webp", "avif"])
def test_pillow_codec_points_increase_with_quality(kodak_crops, codec):
    if not ev.pillow_codecs()[codec]:
        pytest.skip(f"Pillow here cannot encode {codec}")
    points = ev.pillow_codec_points(kodak_crops, codec, [20, 50, 90])
    assert [p["quality"] for p in points] == [20, 50, 90]
    bpps = [p["bpp"] for p in points]
    assert all(x < y for x, y in zip(bpps, bpps[1:])), bpps
    psnrs = [p["psnr"] for p in points]
    assert all(x < y for x, y in zip(psnrs, psnrs[1:])), psnrs
    for p in points:
        assert p["n_images"] == 2 and p["codec"] == codec
        assert 0.0 < p["bpp"] < 24.0 and 20.0 < p["psnr"] < 60.0 and 0.5 < p["ms_ssim"] <= 1.0


def test_pillow_bpp_counts_the_actual_bytes(kodak_crops):
    import io

    from PIL import Image

    (point,) = ev.pillow_codec_points(kodak_crops, "jpeg", [75], per_image=True)
    for (name, array), row in zip(kodak_crops, point["images"]):
        buf = io.BytesIO()
        Image.fromarray(array).save(buf, format="JPEG", quality=75)
        assert row["name"] == name and row["bytes"] == len(buf.getvalue())
        assert row["bpp"] == 8 * len(buf.getvalue()) / (128 * 128)
    assert point["bpp"] == pytest.approx(np.mean([r["bpp"] for r in point["images"]]))
    assert point["psnr"] == pytest.approx(np.mean([r["psnr"] for r in point["images"]]))


def test_evaluate_codec_with_callables():
    images = [_smooth_image(32, 40, seed=s) for s in range(2)]

    def encode(a):
        return a.shape[0].to_bytes(2, "little") + a.tobytes()

    def decode(data):
        h = int.from_bytes(data[:2], "little")
        return np.frombuffer(data[2:], np.uint8).reshape(h, -1, 3)

    result = ev.evaluate_codec(images, encode, decode, "raw")
    assert result["label"] == "raw" and result["n_images"] == 2
    assert result["bpp"] == pytest.approx(24 + 16 / (32 * 40))
    assert result["psnr"] == math.inf and result["ms_ssim"] == pytest.approx(1.0)

    def lossy_decode(data):
        return (decode(data) // 4) * 4

    lossy = ev.evaluate_codec(images, encode, lossy_decode, "lossy")
    assert 30 < lossy["psnr"] < 60 and lossy["ms_ssim"] < 1
    with pytest.raises(ValueError):
        ev.evaluate_codec(images, encode, lambda d: decode(d)[:-1], "broken")


# --------------------------------------------------------------------- plots, references


def test_reference_curves_three_models_monotone():
    curves = ev.reference_curves()
    assert set(curves) == {"bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean"}
    for name, curve in curves.items():
        assert curve["quality"] == list(range(1, 9))
        for key in ("bpp", "psnr", "ms_ssim"):
            values = curve[key]
            assert len(values) == 8
            assert all(x < y for x, y in zip(values, values[1:])), (name, key)
        assert 0.1 < curve["bpp"][0] and curve["bpp"][-1] < 2.0
        assert all(0.9 < v < 1 for v in curve["ms_ssim"])
        assert curve["source"]["repository"] == "InterDigitalInc/CompressAI"
        assert curve["source"]["path"].startswith("results/image/kodak/compressai-")
        assert len(curve["source"]["commit"]) == 40
    # the published mbt2018-mean beats the factorized prior (sanity of the data)
    fac, mean = curves["bmshj2018-factorized"], curves["mbt2018-mean"]
    assert ev.bd_rate(fac["bpp"], fac["psnr"], mean["bpp"], mean["psnr"]) < -15
    anchors = ev.reference_curves(include_anchors=True)
    assert {"jpeg", "webp"} <= set(anchors)


def test_rd_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    curves = ev.reference_curves()
    points = [{"codec": "toy", "quality": q, "bpp": 0.2 * q, "psnr": 26 + 2 * q, "ms_ssim": 1 - 0.05 / q} for q in (1, 2, 3)]
    mixed = {**curves, "toy": points}
    for metric in ("psnr", "ms_ssim", "ms_ssim_db"):
        path = ev.rd_plot(mixed, tmp_path / f"rd_{metric}.png", metric=metric)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    list_form = ev.rd_plot([ev.as_curve(points, label="toy")], tmp_path / "list.png", title="toy")
    assert list_form.stat().st_size > 0
    with pytest.raises(ValueError):
        ev.rd_plot(mixed, tmp_path / "x.png", metric="vmaf")
