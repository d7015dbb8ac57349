"""Every Pillow image mode read as a user would expect (edgesdk.media.images.read_image):
16-bit and float scaled, grey kept grey, alpha composited on white with a warning, EXIF
orientation applied, a very large image a plain warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from edgesdk.media import images
from edgesdk.media.images import read_image

ImageWarning = getattr(images, "ImageWarning", UserWarning)  # (absent before it existed)


def _read(tmp_path, image: Image.Image, name: str = "x.png", **save) -> np.ndarray:
    path = tmp_path / name
    image.save(path, **save)
    return read_image(path)


def _flat(pixels: np.ndarray) -> tuple[int, int, int]:
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    values = {tuple(int(v) for v in p) for p in pixels.reshape(-1, 3)}
    assert len(values) == 1, values
    return values.pop()


@pytest.mark.parametrize(("mode", "value", "name", "expected"), [
    ("1", 1, "x.png", (255, 255, 255)),
    ("1", 0, "x.png", (0, 0, 0)),
    ("L", 100, "x.png", (100, 100, 100)),
    ("RGB", (10, 20, 30), "x.png", (10, 20, 30)),
    ("CMYK", (0, 0, 0, 0), "x.tif", (255, 255, 255)),
    ("CMYK", (0, 255, 255, 0), "x.tif", (255, 0, 0)),
    ("YCbCr", (128, 128, 128), "x.jpg", None),
])
def test_eight_bit_modes(tmp_path, mode, value, name, expected):
    pixels = _read(tmp_path, Image.new(mode, (8, 6), value), name)
    if expected is None:
        assert pixels.shape == (6, 8, 3)
    else:
        assert _flat(pixels) == expected


@pytest.mark.parametrize(("mode", "value", "expected"), [
    ("I;16", 65535, 255), ("I;16", 32896, 128), ("I;16", 0, 0),
    ("I", 65535, 255), ("I", 30000, 117),
])
def test_sixteen_bit_grey_is_scaled_not_clipped_to_white(tmp_path, mode, value, expected):
    image = Image.new(mode, (8, 6), value)
    pixels = _read(tmp_path, image, "x.png" if mode == "I;16" else "x.tif")
    assert Image.open(tmp_path / ("x.png" if mode == "I;16" else "x.tif")).mode.startswith(mode)
    assert _flat(pixels) == (expected,) * 3


@pytest.mark.parametrize(("value", "expected"), [(0.5, 128), (1.0, 255), (100.0, 100), (-3.0, 0)])
def test_float_grey(tmp_path, value, expected):
    assert _flat(_read(tmp_path, Image.new("F", (8, 6), value), "x.tif")) == (expected,) * 3


def test_palette_with_and_without_transparency(tmp_path):
    palette = Image.new("P", (8, 6), 1)
    palette.putpalette([0, 0, 0, 200, 10, 30] + [0] * 762)
    assert _flat(_read(tmp_path, palette)) == (200, 10, 30)
    with pytest.warns(ImageWarning, match="alpha"):
        assert _flat(_read(tmp_path, palette, "t.png", transparency=1)) == (255, 255, 255)


@pytest.mark.parametrize(("mode", "value", "expected"), [
    ("RGBA", (0, 0, 0, 0), (255, 255, 255)),
    ("RGBA", (0, 0, 0, 128), (127, 127, 127)),
    ("LA", (50, 0), (255, 255, 255)),
])
def test_alpha_is_composited_on_white_with_a_warning(tmp_path, mode, value, expected):
    with pytest.warns(ImageWarning, match="alpha"):
        assert _flat(_read(tmp_path, Image.new(mode, (8, 6), value))) == expected


def test_opaque_alpha_is_dropped_silently(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _flat(_read(tmp_path, Image.new("RGBA", (8, 6), (1, 2, 3, 255)))) == (1, 2, 3)
        assert _flat(_read(tmp_path, Image.new("LA", (8, 6), (9, 255)))) == (9, 9, 9)


@pytest.mark.parametrize(("orientation", "shape"), [(1, (20, 40)), (6, (40, 20)), (8, (40, 20)), (3, (20, 40))])
def test_exif_orientation_is_applied(tmp_path, orientation, shape):
    # A landscape sensor image, left half red: a phone held upright records orientation 6.
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    pixels = _read(tmp_path, image, "phone.jpg", exif=exif, quality=95)
    assert pixels.shape[:2] == shape
    if orientation == 6:  # rotated 90° clockwise: the red half is now on top
        assert pixels[2, 10, 0] > 200 and pixels[-3, 10, 2] > 200


def test_a_very_large_image_is_a_plain_warning(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (40, 30)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1200 pixels: above the warning, below the error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_image(path)
    assert [w.category for w in caught] == [ImageWarning]
    assert "very large image" in str(caught[0].message) and "big.png" in str(caught[0].message)


def test_sixteen_bit_grey_png_through_the_cli_stays_mid_grey(tmp_path):
    import subprocess
    import sys

    ramp = (np.linspace(10000, 50000, 64 * 96).reshape(64, 96)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "grey16.png")
    for args in (("encode", tmp_path / "grey16.png", tmp_path / "g.eli"), ("decode", tmp_path / "g.eli", tmp_path / "g.png")):
        result = subprocess.run([sys.executable, "-m", "edgesdk.cli", *map(str, args)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    decoded = np.asarray(Image.open(tmp_path / "g.png").convert("RGB"), dtype=float)
    assert abs(decoded.mean() - ramp.mean() / 257) < 8  # not almost white (255)


def test_grey_stays_grey(tmp_path):
    """A grey source is marked MONOCHROME in its frame and comes back grey (no colour tints),
    as a mode-L file through the CLI; a colour picture is not marked."""
    import subprocess
    import sys

    from edgesdk.bitstream.container import Frame, Parameter
    from edgesdk.codecs.image.codec import ImageCodec

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:70, 0:90]
    grey = np.clip(120 + 60 * np.sin(xx / 7.0) * np.cos(yy / 5.0) + rng.normal(0, 6, xx.shape), 0, 255).astype(np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    codec = ImageCodec()
    frame = codec.encode(tmp_path / "grey.png")
    assert Frame.parse(frame).parameters.get(Parameter.MONOCHROME) == 1
    decoded = codec.decode(frame)
    assert np.array_equal(decoded[..., 0], decoded[..., 1]) and np.array_equal(decoded[..., 1], decoded[..., 2])
    assert np.abs(decoded[..., 0].astype(float) - grey).mean() < 12
    colour = np.stack([grey, grey // 2, 255 - grey], axis=-1)
    assert Parameter.MONOCHROME not in Frame.parse(codec.encode(colour)).parameters
    codec.close()
    for args in (("encode", "grey.png", "grey.eli"), ("decode", "grey.eli", "back.png")):
        result = subprocess.run([sys.executable, "-m", "edgesdk.cli", *args], capture_output=True, text=True,
                                cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "back.png") as back:
        assert back.mode == "L" and back.size == (90, 70)
