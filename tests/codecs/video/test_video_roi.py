"""Region of interest on inter frames with the shipped model (ONNX Runtime, docs/roi.md): the
residual is finer inside and coarser outside, the encoder's reference is the decoder's
picture, and the region works with every preset's tools (copied blocks, latent prediction,
the background, compact headers, B frames)."""

from __future__ import annotations

import numpy as np
import pytest

from edgesdk.bitstream.container import Frame, FrameType, SectionKind
from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import default_sample_image
from edgesdk.codecs.video import VideoDecoder, VideoEncoder, preset_options
from edgesdk.eval.metrics import psnr

BOX = (64, 48, 128, 96)  # x, y, w, h: the middle of the 192x256 crop


@pytest.fixture(scope="module")
def frames():
    """A 192x256 crop panning a few pixels per frame: every P frame has a residual to code."""
    photo = default_sample_image()[100:292, 200:456]
    return [np.roll(photo, 3 * k, axis=1) for k in range(5)]


def mask(shape=(192, 256)):
    inside = np.zeros(shape, bool)
    x, y, w, h = BOX
    inside[y:y + h, x:x + w] = True
    return inside



def code(codec, frames, keyframe_roi=None, inter_roi=None, **options):
    """(packets, decoded frames, the encoder's last reference) of ``frames``."""
    encoder = VideoEncoder(codec.codec(), **options)
    for k, frame in enumerate(frames):
        encoder.push(frame, roi=inter_roi if k else keyframe_roi)
    reference = encoder._reference  # what the next frame would be predicted from
    encoder.flush()
    packets = encoder.pull()
    decoder = VideoDecoder(codec.codec())
    for packet in packets:
        decoder.push(packet)
    decoder.flush()
    return packets, decoder.pull(), reference


def test_p_frames_are_finer_inside_and_coarser_outside(codec, frames):
    options = dict(keyframe_interval=8, b_frames=0, copy_blocks=False, p_step=2.0)
    _, uniform, _ = code(codec, frames, **options)
    packets, decoded, reference = code(codec, frames, inter_roi=[BOX], **options)
    assert [Frame.parse(p.payload).section(SectionKind.RESIDUAL_ROI) is not None for p in packets[:-1]] == \
        [False] + [True] * (len(frames) - 1)
    # The encoder predicts the next frame from exactly what the decoder shows.
    np.testing.assert_array_equal(reference.latent, decoded[-1].latent)
    np.testing.assert_array_equal(reference.image, decoded[-1].image)
    inside = mask()
    for mine, plain, source in list(zip(decoded, uniform, frames))[1:]:
        assert mine.frame_type == FrameType.P and mine.syntax.region is not None
        assert psnr(source, mine.image, where=inside) > psnr(source, plain.image, where=inside) + 0.3
        assert psnr(source, mine.image, where=~inside) < psnr(source, plain.image, where=~inside)


def test_no_region_or_an_empty_one_writes_nothing_new(codec, frames):
    options = dict(keyframe_interval=8, b_frames=0)
    plain, _, _ = code(codec, frames[:3], **options)
    empty, _, _ = code(codec, frames[:3], inter_roi=[(1000, 1000, 8, 8)], **options)  # outside the picture
    assert [p.payload for p in empty] == [p.payload for p in plain]


@pytest.mark.parametrize("preset", ["realtime", "fixed-camera"])
def test_presets_code_and_decode_the_region(codec, frames, preset):
    # Three frames per GOP: the second GOP starts from the background (P, full header),
    # fixed-camera tries B frames, realtime predicts latents; both copy blocks and write compact
    # headers. The same still frame twice keeps the background (no scene change).
    clip = [frames[0], frames[1], frames[0], frames[0], frames[1], frames[2]]
    options = {**preset_options(preset), "keyframe_interval": 3}
    if preset == "fixed-camera":
        # keep the B frames with their residual, so a decoder reads their region too
        options.update(try_p_only=False, interpolation_only_b=False)
    packets, decoded, reference = code(codec, clip, keyframe_roi=[BOX], inter_roi=[BOX], **options)
    assert (FrameType.B in [d.frame_type for d in decoded]) == (preset == "fixed-camera")
    parsed = [Frame.parse(p.payload) for p in packets[:-1]]
    inter = [f for f in parsed if f.frame_type != FrameType.KEY]
    assert inter and all(f.section(SectionKind.RESIDUAL_ROI) is not None for f in inter)
    assert any(f.compact for f in inter) and [d.display_index for d in decoded] == list(range(6))
    assert sum(f.frame_type == FrameType.KEY for f in parsed) == 1  # the second GOP came from the background
    last_anchor = max((d for d in decoded if d.frame_type != FrameType.B), key=lambda d: d.display_index)
    np.testing.assert_array_equal(reference.image, last_anchor.image)
    # The region's own effect, on lite: the step-16,589 wavelet default gains nothing inside from
    # steps below 1 (its generator only saw integer latents; docs/roi.md), and copied-block
    # choices differ between the two encodes, so they are off here.
    options["copy_blocks"] = False
    with ImageCodec("lite", threads=1) as lite:
        _, regional, _ = code(lite, clip, keyframe_roi=[BOX], inter_roi=[BOX], **options)
        _, uniform, _ = code(lite, clip, **options)
    inside = mask()
    gain = [psnr(s, m.image, where=inside) - psnr(s, u.image, where=inside)
            for m, u, s in zip(regional, uniform, clip) if m.frame_type != FrameType.KEY]
    assert np.median(gain) > 0, gain
