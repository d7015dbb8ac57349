"""Helpers of the video tests: an encoder that records its reconstructions, and pushing items
through a streaming encoder or decoder."""

from __future__ import annotations

from edgesdk.codecs.video import VideoEncoder


class RecordingEncoder(VideoEncoder):
    """A VideoEncoder that keeps the picture it reconstructed for each display index."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reconstructed = {}

    def _code_keyframe(self, item):
        super()._code_keyframe(item)
        self.reconstructed[item.display] = self._reference.image.copy()

    def _decide_copies(self, item, *args):
        residual, copied, decoded = super()._decide_copies(item, *args)
        self.reconstructed[item.display] = decoded.copy()
        return residual, copied, decoded


def through(stage, items) -> list:
    """Pushes ``items`` one by one into a streaming encoder or decoder, flushes it, and returns
    everything it gave out, in order."""
    out = []
    for item in items:
        stage.push(item)
        out += stage.pull()
    stage.flush()
    return out + stage.pull()


def assert_same_parse(mine, theirs, fields=("residual", "copy_blocks")) -> None:
    """Two decoders' DecodedFrames of one frame parsed to the same integers: every array of
    ``fields`` equal (or both absent) and every other FrameSyntax field equal."""
    import numpy as np

    for name in fields:
        ours, other = getattr(mine.syntax, name), getattr(theirs.syntax, name)
        assert (ours is None) == (other is None), name
        if ours is not None:
            np.testing.assert_array_equal(ours, other, err_msg=name)
    for name in ("frame_type", "display_index", "gop_index", "past_distance", "future_distance", "step",
                 "background_id", "background_reference", "latent_prediction"):
        assert getattr(mine.syntax, name) == getattr(theirs.syntax, name), name
