"""The video decoder's pictures are the encoder's reconstructions, bit for bit (same backend):
key frames, P frames (the references every later frame builds on) and B frames. A decoder
that predicts a B frame from swapped references, or drifts from the encoder in any other way,
fails here at the first differing pixel rather than by a PSNR margin (docs/testing.md,
planted mutant "video-b-references-swapped")."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgesdk.bitstream.container import FrameType  # noqa: E402
from edgesdk.codecs.video import VideoDecoder  # noqa: E402
from video_helpers import RecordingEncoder  # noqa: E402
from edgesdk_export.codec import torch_codec  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module", params=["small-torch", "shipped-onnxruntime"])
def codec(request, small_model):
    """A tiny random-init model, and the shipped model on ONNX Runtime: the tiny model's
    decoded references look alike, so only the real one tells swapped references apart."""
    if request.param == "small-torch":
        return torch_codec(small_model, quality=3, model_id=bytes(range(32)))
    from edgesdk.codecs.image.codec import ImageCodec

    return ImageCodec(quality=2, threads=1)


@pytest.fixture(scope="module")
def clip():
    """9 frames, 72x104 (not multiples of 16): a gradient, a square moving right and down
    (so forward and backward predictions differ), sensor noise."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:72, 0:104]
    background = np.stack([xx * 2.1, yy * 1.7, (3 * xx + yy) * 0.6], axis=-1) % 256
    frames = []
    for t in range(9):
        frame = background.copy()
        frame[10 + 3 * t: 34 + 3 * t, 8 + 5 * t: 40 + 5 * t] = (220, 40, 60)
        frames.append(np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8))
    return frames


@pytest.mark.parametrize("b_frames", [0, 2])
def test_decoder_output_is_the_encoders_reconstruction_bit_for_bit(codec, clip, b_frames):
    step = 1 / 16 if not hasattr(codec, "model") else 1.0  # the small model's latents are small
    encoder = RecordingEncoder(codec, keyframe_interval=5, b_frames=b_frames, p_step=step, try_p_only=False,
                               copy_blocks=True)
    packets = []
    for frame in clip:
        encoder.push(frame)
        packets += encoder.pull()
    encoder.flush()
    packets += encoder.pull()
    decoder = VideoDecoder(codec)
    frames = []
    for packet in packets:
        decoder.push(packet)
        frames += decoder.pull()
    decoder.flush()
    frames += decoder.pull()
    assert [f.display_index for f in frames] == list(range(len(clip)))
    assert sorted(encoder.reconstructed) == list(range(len(clip)))
    types = {f.frame_type for f in frames}
    assert types == ({FrameType.KEY, FrameType.P, FrameType.B} if b_frames else {FrameType.KEY, FrameType.P})
    for frame in frames:
        np.testing.assert_array_equal(frame.image, encoder.reconstructed[frame.display_index],
                                      err_msg=f"display {frame.display_index} ({frame.frame_type.name})")
