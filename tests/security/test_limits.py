"""Issue 18: one Limits for every decoder, checked before anything proportional to a declared
size is allocated; read_image refuses what open_source refuses; a frame is decoded only by
the decoder it was made for; the bundle's integer network must have the codec's geometry."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

import edgesdk
from edgesdk.bitstream.container import Frame, FrameType
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.image.entropy_model import HyperpriorEntropyModel
from edgesdk.media import open_source
from edgesdk.media.images import read_image
from trust_bundles import lite_parts, write_lite

Limits = getattr(edgesdk, "Limits", None)  # edgesdk.limits, new in issue 18


@pytest.fixture(scope="module")
def codec():
    return ImageCodec(quality=1)


@pytest.fixture(scope="module")
def frame(codec):
    return codec.encode(np.full((64, 64, 3), 100, np.uint8))


def _resized(data: bytes, width: int, height: int) -> bytes:
    """The frame with another declared size (and the padding parameters to match), CRCs
    recomputed by the container writer: a well-formed frame that declares ``width`` x ``height``."""
    from edgesdk.bitstream.container import Parameter
    from edgesdk.shapes import padded_size

    f = Frame.parse(data)
    parameters = dict(f.parameters)
    parameters[Parameter.PADDED_WIDTH], parameters[Parameter.PADDED_HEIGHT] = padded_size(width), padded_size(height)
    return Frame(width=width, height=height, frame_type=f.frame_type, quality=f.quality, model_id=f.model_id,
                 parameters=parameters, sections=f.sections).to_bytes()


def test_a_small_eli_declaring_16384_squared_is_refused_before_decoding(codec, frame, monkeypatch):
    huge = _resized(frame, 16384, 16384)
    assert len(huge) < 430_000
    calls = []
    monkeypatch.setattr(HyperpriorEntropyModel, "decode", lambda *a: calls.append(a))
    with pytest.raises(edgesdk.LimitExceededError, match="16384x16384"):
        codec.decode(huge)
    assert not calls  # refused before the entropy decoder allocated anything


def test_limits_come_from_the_caller_or_the_device_profile(frame, monkeypatch):
    small = ImageCodec(quality=1, limits=Limits(max_pixels=32 * 32))
    with pytest.raises(edgesdk.LimitExceededError):
        small.decode(frame)
    with pytest.raises(edgesdk.LimitExceededError):
        ImageCodec(quality=1, limits=Limits(max_side=63)).decode(frame)
    accessory = Limits.for_profile("cpu-accessory")
    assert accessory.max_pixels == (512 << 20) // 64 and accessory.max_pixels < Limits().max_pixels
    assert ImageCodec(quality=1, device="cpu-accessory").limits == accessory
    with pytest.raises(edgesdk.InvalidArgumentError):
        Limits(max_frames=0)
    with pytest.raises(edgesdk.InvalidArgumentError):
        Limits(max_pixels=True)


def test_tiles_are_limited(frame):
    tiny = ImageCodec(quality=1, tile_size=None, limits=Limits(max_tile_pixels=32 * 32))
    with pytest.raises(edgesdk.LimitExceededError, match="max_tile_pixels"):
        tiny.decode(frame)
    with pytest.raises(edgesdk.LimitExceededError, match="max_tile_pixels"):
        tiny.encode(np.zeros((64, 64, 3), np.uint8))


def test_video_frames_use_the_same_limits():
    from edgesdk.codecs.video import Limits as VideoLimits

    assert VideoLimits is Limits and Limits().max_video_pixels == 3840 * 2160


def test_read_video_stops_at_max_frames(codec, tmp_path):
    from edgesdk.codecs.video import read_video, write_video

    frames = [np.full((64, 64, 3), v, np.uint8) for v in (10, 20, 30)]
    path = tmp_path / "v.elv"
    write_video(path, frames, codec)
    assert len(list(read_video(path, codec))) == 3
    with pytest.raises(edgesdk.LimitExceededError, match="max_frames"):
        list(read_video(path, codec, limits=Limits(max_frames=2)))


def _png_header_only(path, width, height):
    """A PNG that declares width x height (colour type 2, RGB) with one tiny IDAT: the header
    is all a reader needs to refuse it."""
    def chunk(kind, data):
        return struct.pack(">L", len(data)) + kind + data + struct.pack(">L", zlib.crc32(kind + data))

    ihdr = struct.pack(">LLBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_read_image_refuses_what_open_source_refuses(tmp_path):
    path = _png_header_only(tmp_path / "big.png", 13000, 13000)
    with pytest.raises(edgesdk.LimitExceededError):
        open_source(str(path))
    with pytest.raises(edgesdk.LimitExceededError):
        read_image(path)
    with pytest.raises(edgesdk.LimitExceededError):
        ImageCodec(quality=1).encode(path)


def test_a_frame_is_decoded_only_by_the_decoder_it_was_made_for(codec, frame):
    f = Frame.parse(frame)
    as_inter = Frame(width=f.width, height=f.height, frame_type=FrameType.P, quality=f.quality,
                     model_id=f.model_id, parameters=f.parameters, sections=f.sections).to_bytes()
    with pytest.raises(edgesdk.CorruptedError, match="VideoDecoder"):
        codec.decode(as_inter)
    other_quality = ImageCodec(quality=2).codec(2)
    with pytest.raises(edgesdk.CorruptedError):
        other_quality.decode(frame)


def _eint_upsampling_2x(input_channels: int, output_channels: int) -> bytes:
    """docs/integer-network.md: a 1x1 CONV to 4x the output channels, then DEPTH_TO_SPACE 2."""
    from spec_reference.crc32c import crc32c

    conv_out = output_channels * 4
    blob = b"EINT" + bytes([1, 0, 0, 0]) + struct.pack("<LiiL", input_channels, -32, 32, 2)
    blob += bytes([1, 0, 0, 0]) + struct.pack("<LLBBxxii", input_channels, conv_out, 1, 0, -100, 100)
    weights = bytes(conv_out * input_channels)
    blob += weights + bytes(-len(weights) % 4)
    blob += struct.pack(f"<{conv_out}i", *[0] * conv_out) + struct.pack(f"<{conv_out}i", *[0] * conv_out)
    blob += bytes(conv_out) + bytes(-conv_out % 4)
    blob += bytes([2, 0, 0, 0]) + struct.pack("<L", 2)
    return blob + struct.pack("<L", crc32c(blob))


def test_an_integer_hyper_synthesis_that_upsamples_2x_is_refused(tmp_path):
    manifest, files = lite_parts()
    level = manifest["qualities"]["1"]["integer_data"]
    files[level["hyper_synthesis"]] = _eint_upsampling_2x(64, 2 * level["latent_channels"])
    model = edgesdk.CodecModel.open(write_lite(tmp_path / "b.edgesdk", manifest, files))
    with pytest.raises(edgesdk.BundleIntegrityError, match="hyper-synthesis"):
        model.entropy_model(1)
