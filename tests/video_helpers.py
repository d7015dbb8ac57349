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
