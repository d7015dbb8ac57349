"""Media I/O by URI (edgesdk.media): sources, sinks, colour conversion, errors, RTSP, V4L2."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import edgesdk
import shared_data
from testenv import in_ci
from edgesdk.media import YUVFrame, open_sink, open_source, register_sink, rgb_to_yuv, yuv_to_rgb

HERE = Path(__file__).resolve().parent
DATA = shared_data.DATA
AKIYO = DATA / "video" / "akiyo_cif.mp4"
KODAK = DATA / "kodak"
needs_akiyo = pytest.mark.skipif(not AKIYO.is_file(), reason=f"test video {AKIYO} is absent")
needs_kodak = pytest.mark.skipif(not (KODAK / "kodim23.png").is_file(), reason=f"Kodak images in {KODAK} are absent")
try:
    import av
except ImportError:  # only the PyAV-backed tests need it (pip install 'edgesdk[video]')
    av = None
needs_av = pytest.mark.skipif(av is None, reason="PyAV is not installed")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def random_planes(rng, width, height, chroma):
    from edgesdk.media.frames import plane_shapes

    return tuple(rng.integers(0, 256, shape, dtype=np.uint8) for shape in plane_shapes(width, height, chroma))


def smooth_rgb(width=64, height=48, seed=0) -> np.ndarray:
    """A synthetic RGB image with gradients and an edge (no data files needed)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) * 127 // (width + height)], -1)
    image[height // 3 :, width // 2 :] = rng.integers(0, 256, 3)
    return image.astype(np.uint8)


@pytest.fixture(scope="module")
def akiyo_frames():
    if not AKIYO.is_file():
        pytest.skip(f"test video {AKIYO} is absent")
    with open_source(AKIYO) as source:
        return [source.read() for _ in range(6)]


# ------------------------------------------------------------------------- colour


def test_known_bt601_limited_values():
    colors = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    y, u, v = rgb_to_yuv(colors, "444")
    # ITU-R BT.601 studio-range codes of black, white and the primaries.
    assert y.tolist() == [[16, 235, 81, 145, 41]]
    assert u.tolist() == [[128, 128, 90, 54, 240]]
    assert v.tolist() == [[128, 128, 240, 34, 110]]
    assert np.array_equal(yuv_to_rgb((y, u, v), "444")[0, :2], colors[0, :2])


@pytest.mark.parametrize("matrix", ["bt601", "bt709"])
@pytest.mark.parametrize("color_range, bound", [("limited", 2), ("full", 1)])
def test_rgb_yuv444_rgb_round_trip_error_over_the_rgb_cube(matrix, color_range, bound):
    levels = np.arange(0, 256, 3, dtype=np.uint8)  # 86^3 colours, both ends included
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    cube = np.stack([r, g, b], -1).reshape(-1, 86, 3)
    back = yuv_to_rgb(rgb_to_yuv(cube, "444", matrix=matrix, color_range=color_range), "444", matrix=matrix, color_range=color_range)
    error = np.abs(back.astype(int) - cube)
    assert error.max() == bound
    assert error.mean() < 0.45


def test_grey_has_neutral_chroma_and_subsampled_round_trip_is_close():
    grey = np.full((5, 7, 3), 77, np.uint8)
    for chroma in ("420", "422", "444"):
        y, u, v = rgb_to_yuv(grey, chroma)
        assert (u == 128).all() and (v == 128).all()
        assert np.array_equal(yuv_to_rgb((y, u, v), chroma), grey)
    image = smooth_rgb(33, 17)  # odd sizes: chroma rounds up, edges replicate
    planes = rgb_to_yuv(image, "420")
    assert [p.shape for p in planes] == [(17, 33), (9, 17), (9, 17)]
    assert psnr(yuv_to_rgb(planes, "420"), image) > 32


@needs_kodak
def test_chroma_subsampling_quality_on_a_photo():
    from PIL import Image

    photo = np.asarray(Image.open(KODAK / "kodim23.png").convert("RGB"))
    quality = {c: psnr(yuv_to_rgb(rgb_to_yuv(photo, c), c), photo) for c in ("420", "422", "444")}
    assert quality["444"] > 50 and quality["422"] > 46 and quality["420"] > 43
    assert quality["420"] < quality["422"] < quality["444"]


# ------------------------------------------------------------------------- video files


@needs_av
@needs_akiyo
def test_akiyo_mp4_properties_and_first_frames(akiyo_frames):
    with open_source(f"file://{AKIYO}") as source:
        # The clip's own tags (MANIFEST.md): 352x288, 25/1 fps, 300 frames.
        assert (source.width, source.height, source.fps, source.frame_count) == (352, 288, 25, 300)
        frames = [source.read() for _ in range(3)]
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.timestamp for f in frames] == [0, Fraction(1, 25), Fraction(2, 25)]
    assert all(f.pixels.shape == (288, 352, 3) and f.pixels.dtype == np.uint8 for f in frames)
    # Same matrix as FFmpeg's own converter; only chroma interpolation differs.
    container = av.open(str(AKIYO))
    reference = next(container.decode(video=0)).to_ndarray(format="rgb24")
    container.close()
    assert np.abs(frames[0].pixels.astype(int) - reference).mean() < 2
    assert psnr(frames[0].pixels, reference) > 35
    assert not np.array_equal(frames[0].pixels, frames[1].pixels) or not np.array_equal(frames[1].pixels, frames[2].pixels)


@needs_av
@needs_akiyo
def test_x264_mp4_write_and_read_back(tmp_path, akiyo_frames):
    out = tmp_path / "clip.mp4"
    with open_sink(out, 352, 288, 25, crf=18, preset="veryfast") as sink:
        for frame in akiyo_frames:
            sink.write(frame)
        assert sink.frames_written == len(akiyo_frames)
    with open_source(out) as source:
        assert (source.width, source.height, source.fps, source.frame_count) == (352, 288, 25, len(akiyo_frames))
        back = list(source)
    assert [f.index for f in back] == list(range(len(akiyo_frames)))
    for original, decoded in zip(akiyo_frames, back):
        assert psnr(decoded.pixels, original.pixels) > 40


@needs_av
@pytest.mark.parametrize("chroma, pixel_format", [("420", "yuv420p"), ("444", "yuv444p")])
def test_ffv1_mkv_is_lossless_in_yuv(tmp_path, chroma, pixel_format):
    rng = np.random.default_rng(1)
    frames = [YUVFrame(random_planes(rng, 48, 32, chroma), chroma) for _ in range(3)]
    out = tmp_path / "lossless.mkv"
    with open_sink(out, 48, 32, Fraction(30000, 1001), codec="ffv1", pixel_format=pixel_format) as sink:
        for frame in frames:
            sink.write_yuv(frame)
    with open_source(out) as source:
        assert source.fps == Fraction(30000, 1001)
        back = list(source.yuv_frames())
    assert len(back) == 3
    for original, decoded in zip(frames, back):
        assert decoded.chroma == chroma
        assert all(np.array_equal(a, b) for a, b in zip(original.planes, decoded.planes))


@needs_av
def test_same_planes_give_the_same_rgb_from_y4m_and_ffv1(tmp_path):
    image = smooth_rgb(40, 24)
    for uri, options in ((tmp_path / "a.y4m", {}), (tmp_path / "a.mkv", {"codec": "ffv1"})):
        with open_sink(uri, 40, 24, 25, **options) as sink:
            sink.write(image)
    with open_source(tmp_path / "a.y4m") as y4m, open_source(tmp_path / "a.mkv") as mkv:
        assert np.array_equal(y4m.read().pixels, mkv.read().pixels)


@needs_av
def test_truncated_and_garbage_video_files_raise_edgesdk_errors(tmp_path):
    image = smooth_rgb(64, 48)
    good = tmp_path / "good.mp4"
    with open_sink(good, 64, 48, 25, preset="ultrafast") as sink:
        for shift in range(10):
            sink.write(np.roll(image, shift, axis=1))
    data = good.read_bytes()
    (tmp_path / "half.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.mp4").write_bytes(b"not a video at all " * 50)
    (tmp_path / "empty.mkv").write_bytes(b"")
    for name in ("half.mp4", "garbage.mp4", "empty.mkv"):
        with pytest.raises(edgesdk.CorruptedError, match=name):
            with open_source(tmp_path / name) as source:
                list(source)


@needs_av
def test_video_sink_rejects_bad_settings(tmp_path):
    with pytest.raises(edgesdk.DependencyError, match="no encoder"):
        open_sink(tmp_path / "x.mp4", 64, 48, 25, codec="no-such-codec")
    with pytest.raises(edgesdk.InvalidArgumentError, match="even sizes"):
        open_sink(tmp_path / "x.mp4", 63, 47, 25)
    with pytest.raises(edgesdk.InvalidArgumentError, match="needs fps"):
        open_sink(tmp_path / "x.mp4", 64, 48, None)
    with pytest.raises(edgesdk.InvalidArgumentError, match="unknown option"):
        open_sink(tmp_path / "x.mp4", 64, 48, 25, crf_value=20)


def test_runtime_import_needs_no_pyav_and_missing_pyav_is_a_dependency_error(tmp_path):
    code = (
        "import sys; sys.modules['av'] = None\n"  # as if PyAV were not installed
        "import edgesdk.media as media, edgesdk\n"
        "assert not {'av', 'PIL', 'torch'} & {m for m in sys.modules if sys.modules[m] is not None}\n"
        f"open({str(tmp_path / 'x.mp4')!r}, 'wb').write(b'x')\n"
        "try:\n"
        f"    media.open_source({str(tmp_path / 'x.mp4')!r})\n"
        "except edgesdk.DependencyError as e:\n"
        "    assert 'edgesdk[video]' in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no DependencyError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------- y4m


@pytest.mark.parametrize("chroma, tag", [("420", "C420jpeg"), ("422", "C422"), ("444", "C444"), ("mono", "Cmono")])
def test_y4m_yuv_round_trip_is_exact(tmp_path, chroma, tag):
    rng = np.random.default_rng(2)
    frames = [YUVFrame(random_planes(rng, 17, 9, chroma), chroma) for _ in range(4)]
    out = tmp_path / "clip.y4m"
    with open_sink(out, 17, 9, 24, chroma=chroma) as sink:
        for frame in frames:
            sink.write_yuv(frame)
    assert out.read_bytes().split(b"\n", 1)[0] == f"YUV4MPEG2 W17 H9 F24:1 Ip A1:1 {tag}".encode()
    with open_source(out) as source:
        assert (source.width, source.height, source.fps, source.frame_count, source.chroma) == (17, 9, 24, 4, chroma)
        back = list(source.yuv_frames())
    assert [f.timestamp for f in back] == [Fraction(i, 24) for i in range(4)]
    for original, decoded in zip(frames, back):
        assert all(np.array_equal(a, b) for a, b in zip(original.planes, decoded.planes))


def test_y4m_from_rgb_has_bounded_error(tmp_path):
    image = smooth_rgb(64, 48)
    for chroma in ("444", "420"):
        out = tmp_path / f"{chroma}.y4m"
        with open_sink(out, 64, 48, 25, chroma=chroma) as sink:
            sink.write(image)
        with open_source(out) as source:
            back = source.read().pixels
        if chroma == "444":
            assert np.abs(back.astype(int) - image).max() <= 2
        else:
            assert psnr(back, image) > 38  # the block edge costs most of it


def test_y4m_full_range_is_written_and_read(tmp_path):
    image = smooth_rgb(32, 16)
    out = tmp_path / "full.y4m"
    with open_sink(out, 32, 16, 25, chroma="444", color_range="full") as sink:
        sink.write(image)
    assert b"XCOLORRANGE=FULL" in out.read_bytes().split(b"\n", 1)[0]
    with open_source(out) as source:
        assert source.color_range == "full"
        assert np.abs(source.read().pixels.astype(int) - image).max() <= 1
        assert source.read() is None


def test_y4m_frame_parameters_and_unknown_rate_are_accepted(tmp_path):
    planes = random_planes(np.random.default_rng(3), 4, 2, "444")
    body = b"FRAME Ixyz\n" + b"".join(p.tobytes() for p in planes)
    (tmp_path / "a.y4m").write_bytes(b"YUV4MPEG2 C444 W4 H2 F0:0 Ip A0:0 XSOMETHING\n" + body)
    with open_source(tmp_path / "a.y4m") as source:
        assert source.fps is None and source.frame_count is None
        frame = source.read_yuv()
        assert frame.timestamp is None and np.array_equal(frame.planes[2], planes[2])


@pytest.mark.parametrize(
    "header, error, match",
    [
        (b"YUV4MPEG W4 H2\n", edgesdk.BadMagicError, "not a YUV4MPEG2"),
        (b"RIFF....\n", edgesdk.BadMagicError, "not a YUV4MPEG2"),
        (b"YUV4MPEG2 W4\n", edgesdk.CorruptedError, "lacks W"),
        (b"YUV4MPEG2 W4 H-2\n", edgesdk.CorruptedError, "not a frame size"),
        (b"YUV4MPEG2 W0 H2\n", edgesdk.InvalidArgumentError, "must be positive"),
        (b"YUV4MPEG2 W100000 H100000\n", edgesdk.LimitExceededError, "exceeds the limit"),
        (b"YUV4MPEG2 W8192 H8193\n", edgesdk.LimitExceededError, "MAX_PIXELS"),
        (b"YUV4MPEG2 W4 H2 F25\n", edgesdk.CorruptedError, "numerator:denominator"),
        (b"YUV4MPEG2 W4 H2 C420p10\n", edgesdk.UnsupportedFormatError, "not supported"),
        (b"YUV4MPEG2 W4 H2 Iz\n", edgesdk.CorruptedError, "interlacing"),
        (b"YUV4MPEG2 W4 H2 XCOLORRANGE=HALF\n", edgesdk.CorruptedError, "COLORRANGE"),
        (b"YUV4MPEG2 W4 H2 \xff\n", edgesdk.CorruptedError, "non-ASCII"),
        (b"YUV4MPEG2 W4 H2" + b" X" * 3000, edgesdk.CorruptedError, "newline"),
    ],
)
def test_y4m_bad_headers(tmp_path, header, error, match):
    (tmp_path / "bad.y4m").write_bytes(header)
    with pytest.raises(error, match=match):
        open_source(tmp_path / "bad.y4m")


def test_y4m_truncated_and_bad_frames(tmp_path):
    frame_bytes = 4 * 2 + 2 * 2 * 1  # 4x2 4:2:0
    header = b"YUV4MPEG2 W4 H2 F25:1\n"
    whole = b"FRAME\n" + bytes(range(frame_bytes))
    cases = {
        "short_data": (header + whole + b"FRAME\n" + bytes(5), edgesdk.TruncatedError),
        "no_data": (header + whole + b"FRAME\n", edgesdk.TruncatedError),
        "cut_marker": (header + whole + b"FRA", edgesdk.TruncatedError),
        "bad_marker": (header + whole + b"FRAMX\n" + bytes(frame_bytes), edgesdk.CorruptedError),
        # A header that declares a huge frame in a small file: refused before reading.
        "huge_frame": (b"YUV4MPEG2 W8192 H8192\nFRAME\n" + bytes(1000), edgesdk.TruncatedError),
    }
    for name, (data, error) in cases.items():
        (tmp_path / f"{name}.y4m").write_bytes(data)
        with open_source(tmp_path / f"{name}.y4m") as source:
            if name != "huge_frame":
                assert source.read() is not None  # the whole first frame still reads
            tracemalloc.start()
            with pytest.raises(error):
                source.read()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak < 1 << 20, f"{name}: {peak} bytes allocated to reject it"


def test_mutated_y4m_gives_only_edgesdk_errors_or_valid_frames(tmp_path):
    """Fuzz-style: byte flips, insertions and cuts anywhere, mostly in the header."""
    rng = np.random.default_rng(4)
    valid = tmp_path / "valid.y4m"
    with open_sink(valid, 6, 4, 25, chroma="420") as sink:
        for i in range(3):
            sink.write(np.full((4, 6, 3), 40 * i, np.uint8))
    original = valid.read_bytes()
    header_length = original.index(b"\n") + 1
    alphabet = np.frombuffer(b"0123456789 :WHFCIAX\nFRAME-x\xff", dtype=np.uint8)
    outcomes = {"frames": 0, "errors": 0}
    for trial in range(400):
        data = bytearray(original)
        for _ in range(int(rng.integers(1, 4))):
            position = int(rng.integers(0, header_length + 8 if rng.random() < 0.8 else len(data)))
            position = min(position, len(data) - 1)
            action = rng.integers(0, 4)
            if action == 0:
                data[position] = int(rng.choice(alphabet))
            elif action == 1:
                data.insert(position, int(rng.choice(alphabet)))
            elif action == 2:
                del data[position]
            else:
                del data[position:]
                break
        path = tmp_path / f"m{trial}.y4m"
        path.write_bytes(bytes(data))
        try:
            with open_source(path) as source:
                for frame in source:
                    assert frame.pixels.shape == (source.height, source.width, 3)
                    outcomes["frames"] += 1
        except edgesdk.Error:
            outcomes["errors"] += 1
    assert outcomes["frames"] > 0 and outcomes["errors"] > 0


# ------------------------------------------------------------------------- raw yuv


def test_raw_yuv_size_from_name_query_or_options(tmp_path):
    rng = np.random.default_rng(5)
    frames = [YUVFrame(random_planes(rng, 10, 6, "420"), "420") for _ in range(2)]
    named = tmp_path / "clip_10x6.yuv"
    with open_sink(named, 10, 6, 30) as sink:
        for frame in frames:
            sink.write_yuv(frame)
    assert named.stat().st_size == 2 * (60 + 2 * 15)
    with open_source(named, fps=30) as source:
        assert (source.width, source.height, source.frame_count, source.fps) == (10, 6, 2, 30)
        back = list(source.yuv_frames())
    assert all(np.array_equal(a, b) for f, g in zip(frames, back) for a, b in zip(f.planes, g.planes))
    plain = tmp_path / "plain.yuv"
    shutil.copy(named, plain)
    with open_source(f"file://{plain}?width=10&height=6&format=i420&fps=30000/1001") as source:
        assert source.fps == Fraction(30000, 1001)
        assert np.array_equal(source.read_yuv().planes[1], frames[0].planes[1])
    with pytest.raises(edgesdk.InvalidArgumentError, match="frame size"):
        open_source(plain)
    with pytest.raises(edgesdk.TruncatedError, match="check width, height and format"):
        open_source(plain, width=12, height=6)
    with pytest.raises(edgesdk.InvalidArgumentError, match="both in the URI and as arguments"):
        open_source(f"file://{plain}?width=10&height=6", width=10)


@pytest.mark.parametrize("layout", ["yv12", "nv12", "yuv444p", "yuv422p", "gray"])
def test_raw_yuv_layouts_round_trip(tmp_path, layout):
    from edgesdk.media.yuvfile import RAW_FORMATS

    chroma = RAW_FORMATS[layout][0]
    frame = YUVFrame(random_planes(np.random.default_rng(6), 8, 4, chroma), chroma)
    out = tmp_path / f"{layout}_8x4.yuv"
    with open_sink(out, 8, 4, None, format=layout) as sink:
        sink.write_yuv(frame)
    with open_source(out, format=layout) as source:
        back = source.read_yuv()
    assert all(np.array_equal(a, b) for a, b in zip(frame.planes, back.planes))
    if layout == "nv12":  # U and V interleave after Y
        data = out.read_bytes()
        assert data[32:34] == bytes([frame.planes[1][0, 0], frame.planes[2][0, 0]])


# ------------------------------------------------------------------------- images


def test_image_folder_round_trip_is_exact_and_natural_order(tmp_path):
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (12, 20, 3), dtype=np.uint8) for _ in range(12)]
    with open_sink(f"{tmp_path}/out/", 20, 12, None) as sink:
        for frame in frames:
            sink.write(frame)
    assert sorted(p.name for p in (tmp_path / "out").iterdir())[:2] == ["00000.png", "00001.png"]
    with open_source(tmp_path / "out", fps=10) as source:
        assert (source.width, source.height, source.frame_count, source.fps) == (20, 12, 12, 10)
        back = list(source)
    assert all(np.array_equal(a, b.pixels) for a, b in zip(frames, back))
    assert back[3].timestamp == Fraction(3, 10)
    # Unpadded numbers sort naturally (2 before 10), and the %d pattern writes them.
    with open_sink(tmp_path / "nat" / "f%d.png", 20, 12, None) as sink:
        for frame in frames:
            sink.write(frame)
    with open_source(tmp_path / "nat") as source:
        assert all(np.array_equal(a, b.pixels) for a, b in zip(frames, source))


@needs_kodak
def test_single_kodak_image_and_jpeg_folder(tmp_path):
    with open_source(KODAK / "kodim23.png") as source:
        assert (source.width, source.height, source.frame_count, source.fps) == (768, 512, 1, None)
        image = source.read()
        assert image.index == 0 and image.timestamp is None and source.read() is None
    with open_sink(tmp_path / "jpg" / "%03d.jpg", 768, 512, None, quality=90) as sink:
        sink.write(image)
    with open_source(tmp_path / "jpg") as source:
        assert psnr(source.read().pixels, image.pixels) > 37


def test_image_errors(tmp_path):
    from PIL import Image

    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "a.png")
    Image.new("RGB", (8, 9)).save(folder / "b.png")
    with pytest.raises(edgesdk.InvalidArgumentError, match="share one size.*b.png is 8x9"):
        open_source(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(edgesdk.NotFoundError, match="no images"):
        open_source(tmp_path / "empty")
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    with pytest.raises(edgesdk.CorruptedError, match="garbage.png"):
        open_source(tmp_path / "garbage.png").read()
    good = tmp_path / "good.png"
    Image.fromarray(smooth_rgb(64, 64)).save(good)
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(edgesdk.CorruptedError, match="cut.png"):
        open_source(tmp_path / "cut.png").read()
    with pytest.raises(edgesdk.UnsupportedFormatError, match="give a folder"):
        open_sink(tmp_path / "single.png", 8, 8, None)
    with pytest.raises(edgesdk.UnsupportedFormatError, match="end the path with /"):
        open_sink(tmp_path / "frames", 8, 8, None)
    with pytest.raises(edgesdk.InvalidArgumentError, match="exactly one"):
        open_sink(tmp_path / "x" / "%d_%d.png", 8, 8, None)


# ------------------------------------------------------------------------- URIs, registry


def test_uri_and_argument_errors(tmp_path):
    with pytest.raises(edgesdk.NotFoundError, match="no such file"):
        open_source(tmp_path / "missing.y4m")
    (tmp_path / "clip.xyz").write_bytes(b"data")
    with pytest.raises(edgesdk.UnsupportedFormatError, match=r"\.xyz.*supported: .*\.y4m"):
        open_source(tmp_path / "clip.xyz")
    with pytest.raises(edgesdk.UnsupportedFormatError, match="unknown URI scheme gopher"):
        open_source("gopher://example.org/video")
    with pytest.raises(edgesdk.InvalidArgumentError, match="names a host"):
        open_source("file://somehost/clip.y4m")
    with pytest.raises(edgesdk.NotFoundError, match="does not exist"):
        open_sink(tmp_path / "no" / "such" / "out.y4m", 8, 8, 25)
    with pytest.raises(edgesdk.InvalidArgumentError, match="fps"):
        open_sink(tmp_path / "out.y4m", 8, 8, "fast")
    with open_sink(tmp_path / "out.y4m", 8, 8, 25) as sink:
        with pytest.raises(edgesdk.InvalidArgumentError, match="8x8"):
            sink.write(np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(edgesdk.InvalidArgumentError, match="unknown option.*colour_range"):
        open_source(tmp_path / "out.y4m", colour_range="full")
    source = open_source(tmp_path / "out.y4m")
    source.close()
    with pytest.raises(edgesdk.InvalidArgumentError, match="closed"):
        source.read()


def test_other_modules_register_sink_handlers(tmp_path):
    from edgesdk.media.frames import Sink

    class CollectingSink(Sink):
        def __init__(self, location, width, height, fps, options):
            self.uri, self.width, self.height, self.fps, self.options = location.text, width, height, fps, options
            self.collected = []

        def _write_rgb(self, pixels):
            self.collected.append(pixels)

    register_sink(CollectingSink, extensions=[".collect"], schemes=["collect"])
    sink = open_sink(tmp_path / "x.collect", 4, 2, "30000/1001", level=3)
    sink.write(np.zeros((2, 4, 3), np.uint8))
    assert isinstance(sink, CollectingSink) and len(sink.collected) == 1
    assert sink.fps == Fraction(30000, 1001) and sink.options == {"level": 3}
    assert isinstance(open_sink("collect://peer/stream", 4, 2, 25), CollectingSink)
    with pytest.raises(edgesdk.InvalidArgumentError, match="already has a handler"):
        register_sink(lambda *args: None, extensions=[".y4m"])


# ------------------------------------------------------------------------- RTSP


def _rtsp_server_available() -> str | None:
    """None if tests/rtsp_server.py can run, else why not."""
    python = Path("/usr/bin/python3")
    if not python.exists():
        return "no system /usr/bin/python3"
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if result.returncode != 0:
        return "gst-rtsp-server for the system python3 is missing (bash tools/install-system-deps.sh)"
    return None


@pytest.fixture(scope="module")
def rtsp_server():
    """(url, process) of a real RTSP server streaming akiyo_cif.mp4; skipped locally when
    GStreamer is missing, failing in CI, which installs it."""
    if not AKIYO.is_file():
        pytest.skip(f"test video {AKIYO} is absent")
    missing = _rtsp_server_available()
    if missing:
        if in_ci():
            pytest.fail(missing)
        pytest.skip(missing)
    process = subprocess.Popen(
        ["/usr/bin/python3", str(HERE.parent / "rtsp_server.py"), str(AKIYO)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        port, mount = process.stdout.readline().split()
        yield f"rtsp://127.0.0.1:{port}/{mount}", process
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@needs_av
def test_rtsp_stream_gives_the_files_exact_frames(rtsp_server):
    url, _ = rtsp_server
    with open_source(url, timeout=5) as stream:
        assert (stream.width, stream.height, stream.fps, stream.frame_count) == (352, 288, 25, None)
        received = [stream.read_yuv() for _ in range(8)]
    with open_source(AKIYO) as clip:
        expected = [clip.read_yuv() for _ in range(8)]
    for got, want in zip(received, expected):  # H.264 decoding is exact, RTP/TCP is lossless
        assert all(np.array_equal(a, b) for a, b in zip(got.planes, want.planes))
    assert received[5].timestamp == Fraction(5, 25)


@needs_av
@pytest.mark.slow
def test_rtsp_stalled_server_times_out(rtsp_server):
    url, process = rtsp_server
    stream = open_source(url, timeout=1, transport="tcp")
    try:
        stream.read()
        process.send_signal(signal.SIGSTOP)  # connection stays open, no data flows
        # Buffered frames drain, then the timeout fires (how fast: benchmarks/bench_rtsp_timeouts.py;
        # wall-clock bounds are not asserted in tests, docs/testing.md).
        with pytest.raises(edgesdk.ConnectionTimeoutError, match="within 1 s"):
            while stream.read() is not None:
                pass
    finally:
        process.send_signal(signal.SIGCONT)
        stream.close()


@needs_av
def test_rtsp_closed_port_fails_fast_with_a_typed_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the with block ends
    with pytest.raises(edgesdk.ConnectionFailedError, match="refused"):  # timing: benchmarks/bench_rtsp_timeouts.py
        open_source(f"rtsp://127.0.0.1:{port}/none", timeout=2)


@needs_av
def test_rtsp_silent_server_times_out():
    with socket.socket() as listener:  # accepts connections and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with pytest.raises(edgesdk.ConnectionTimeoutError, match="within 1 s"):  # timing: the benchmark
            open_source(f"rtsp://127.0.0.1:{listener.getsockname()[1]}/none", timeout=1)


# ------------------------------------------------------------------------- V4L2


@needs_av
def test_v4l2_missing_device_and_missing_ffmpeg_support(monkeypatch):
    from edgesdk.media.ffmpeg import has_v4l2

    if has_v4l2(av):
        with pytest.raises(edgesdk.NotFoundError, match="no such device"):
            open_source("v4l2:///dev/video-edgesdk-missing")
    # A PyAV whose FFmpeg lacks libavdevice's v4l2 input (some wheels): say what is needed.
    monkeypatch.setattr(av, "formats_available", {name for name in av.formats_available if "v4l2" not in name})
    with pytest.raises(edgesdk.DependencyError, match="video4linux2"):
        open_source("v4l2:///dev/video0")


@needs_av
@pytest.mark.camera
@pytest.mark.skipif(not glob.glob("/dev/video*"), reason="no V4L2 camera (/dev/video*) on this machine")
def test_v4l2_camera_gives_frames():
    device = sorted(glob.glob("/dev/video*"))[0]
    with open_source(f"v4l2://{device}", timeout=10) as camera:
        frame = camera.read()
    assert frame.pixels.shape == (camera.height, camera.width, 3)
