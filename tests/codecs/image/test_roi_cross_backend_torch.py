"""Region-of-interest streams (docs/roi.md; keyframes and P frames) parse identically on ONNX Runtime fp32, ONNX
Runtime with fp16 graphs and PyTorch: every decoder gets the same ŷ, bit for bit, from the
same bytes, whichever backend encoded them; pixels differ by float noise only."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("edgesdk_export")
pytest.importorskip("onnxruntime")

from edgesdk.bitstream.container import Frame, SectionKind  # noqa: E402
from edgesdk.codecs.image.codec import ImageCodec  # noqa: E402
from edgesdk.codecs.model import default_sample_image  # noqa: E402
from edgesdk.eval.metrics import psnr  # noqa: E402

pytestmark = pytest.mark.torch

BOX = [(64, 48, 128, 96)]


def test_roi_streams_parse_identically_on_every_backend():
    photo = default_sample_image()[100:292, 200:456]
    codecs = {"onnxruntime-fp32": ImageCodec(quality=2, threads=1),
              "onnxruntime-fp16": ImageCodec(quality=2, precision="fp16", threads=1),
              "pytorch-fp32": ImageCodec(quality=2, backend="pytorch", threads=1)}
    for encoder_name, encoder in codecs.items():
        data = encoder.encode(photo, roi=BOX, roi_steps=(0.5, 2.0))
        assert Frame.parse(data).section(SectionKind.ROI_LATENT) is not None
        decoded = {name: codec.codec(2).decode_with_latent(data) for name, codec in codecs.items()}
        reference_image, reference_latent = decoded["onnxruntime-fp32"]
        for name, (image, latent) in decoded.items():
            np.testing.assert_array_equal(latent, reference_latent, err_msg=f"{encoder_name} → {name}")
            assert psnr(image, reference_image) > 35, (encoder_name, name)


@pytest.mark.parametrize("latent_prediction", [False, True])
def test_video_with_roi_parses_identically_on_every_backend(latent_prediction):
    """Keyframes (ROI_LATENT) and P frames (RESIDUAL_ROI) with a region: the same residual,
    region and keyframe ŷ on every backend; with latent prediction, P frames' ŷ (the
    keyframe's plus step × scale × r) is the same bit for bit too."""
    from edgesdk.codecs.video import VideoDecoder, VideoEncoder

    photo = default_sample_image()[100:292, 200:456]
    frames = [np.roll(photo, k, axis=1) for k in range(4)]
    encoder = VideoEncoder(ImageCodec(quality=2, threads=1).codec(), keyframe_interval=2, b_frames=0, roi=BOX,
                           latent_prediction=latent_prediction)
    for frame in frames:
        encoder.push(frame)
    encoder.flush()
    packets = encoder.pull()
    results = []
    for codec in (ImageCodec(quality=2, threads=1), ImageCodec(quality=2, precision="fp16", threads=1),
                  ImageCodec(quality=2, backend="pytorch", threads=1)):
        decoder = VideoDecoder(codec.codec())
        for packet in packets:
            decoder.push(packet)
        decoder.flush()
        results.append(decoder.pull())
    assert [d.syntax.region is not None for d in results[0]] == [False, True, False, True]
    for other in results[1:]:
        assert [d.display_index for d in other] == [d.display_index for d in results[0]] == [0, 1, 2, 3]
        for mine, theirs in zip(results[0], other):
            if mine.frame_type.name == "KEY" or latent_prediction:
                np.testing.assert_array_equal(mine.latent, theirs.latent)
            if mine.frame_type.name != "KEY":
                np.testing.assert_array_equal(mine.syntax.residual, theirs.syntax.residual)
                assert (mine.syntax.region.step_codes, mine.syntax.region.shifts) == \
                    (theirs.syntax.region.step_codes, theirs.syntax.region.shifts)
                np.testing.assert_array_equal(mine.syntax.region.levels, theirs.syntax.region.levels)
            assert psnr(mine.image, theirs.image) > 30
