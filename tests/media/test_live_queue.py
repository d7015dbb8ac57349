"""Live sources keep up or drop by rule (edgesdk.media.live, docs/media-io.md): the queue
never exceeds its bound, drops the oldest waiting frame, accounts for every frame, and the
encoded stream keeps each frame's capture position as its display index. No assertion here
depends on speed: the "slow encoder" waits for the source to get ahead by a condition."""

from __future__ import annotations

import time

import numpy as np
import pytest

import edgesdk
from edgesdk.media.live import LiveFrame, LiveQueue, live_frames


def pixels(i: int) -> np.ndarray:
    return np.full((4, 4, 3), i % 256, np.uint8)


def test_a_full_queue_drops_its_oldest_frame_and_never_exceeds_the_bound():
    queue = LiveQueue(3)
    for i in range(10):
        queue.offer(pixels(i), timestamp=i / 25)
        assert len(queue) <= 3
    assert (queue.stats.captured, queue.stats.dropped, queue.stats.max_depth) == (10, 7, 3)
    assert list(queue.stats.drop_indexes) == list(range(7))
    taken = [queue.take(timeout=0) for _ in range(3)]
    assert [(f.index, f.skipped, f.timestamp) for f in taken] == [(7, 7, 7 / 25), (8, 0, 8 / 25), (9, 0, 9 / 25)]
    assert int(taken[0].pixels[0, 0, 0]) == 7
    assert queue.take(timeout=0) is None  # empty, not closed: nothing after the timeout
    queue.close()
    assert queue.take() is None


def test_interleaved_capture_and_encoding_account_for_every_frame():
    queue = LiveQueue(2)
    delivered = []
    for i in range(30):
        queue.offer(pixels(i))
        if i % 3 == 2:  # the encoder takes one frame per three captured
            delivered.append(queue.take(timeout=0))
    queue.close()
    while (frame := queue.take()) is not None:
        delivered.append(frame)
    stats = queue.stats
    assert stats.captured == 30 and stats.delivered == len(delivered) and stats.max_depth <= 2
    assert stats.delivered + stats.dropped == stats.captured
    indexes = [f.index for f in delivered]
    assert indexes == sorted(indexes) and indexes[-1] == 29  # the newest frame is never dropped
    assert sum(f.skipped for f in delivered) == stats.dropped > 0
    assert all(f.index - f.skipped - 1 == prev.index for prev, f in zip(delivered, delivered[1:]))


def test_bad_bounds_are_refused():
    for bound in (0, -1, 2.5):
        with pytest.raises(edgesdk.InvalidArgumentError):
            LiveQueue(bound)


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 60  # a liveness guard, not a speed assertion
    while not condition():
        assert time.monotonic() < deadline, f"the capture thread never {what}"
        time.sleep(0.001)


def test_a_source_faster_than_the_encoder_is_dropped_by_rule():
    total, bound = 40, 3
    queue = LiveQueue(bound)
    delivered = []
    for frame in live_frames((pixels(i) for i in range(total)), queue=queue):
        delivered.append(frame)
        assert len(queue) <= bound
        # A slow encoder: before the next frame, the source gets bound + 2 frames ahead (or ends).
        _wait_until(lambda: queue.stats.captured >= min(total, frame.index + bound + 3), "got ahead")
    stats = queue.stats
    assert stats.captured == total and stats.max_depth <= bound
    assert stats.delivered == len(delivered) and stats.delivered + stats.dropped == total
    assert sum(f.skipped for f in delivered) == stats.dropped >= 2 * (len(delivered) - 2)
    assert delivered[-1].index == total - 1


def test_source_errors_reach_the_encoder_side():
    def failing():
        yield pixels(0)
        raise edgesdk.CorruptedError("camera unplugged")

    frames = live_frames(failing(), bound=2)
    assert next(frames).index == 0
    with pytest.raises(edgesdk.CorruptedError, match="unplugged"):
        next(frames)


@pytest.mark.parametrize("preset", ["realtime", "realtime-buffered"])
def test_dropped_frames_keep_their_display_slots_in_the_stream(preset):
    """The encoder skips dropped frames' display indexes and starts a GOP after each gap (the
    frames it holds coded first); a strict decoder sees no damage and every frame at its
    capture position."""
    from edgesdk.codecs.image.codec import ImageCodec
    from edgesdk.codecs.video import VideoDecoder, VideoEncoder, preset_options
    from edgesdk.codecs.video.elv import _write_all
    import io

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    live = [LiveFrame(np.roll(base, i, axis=1), i, skipped=s)
            for i, s in [(0, 0), (1, 0), (4, 2), (5, 0), (6, 0), (9, 2)]]
    with ImageCodec(threads=1) as codec:
        encoder = VideoEncoder(codec.codec(), keyframe_interval=8, **preset_options(preset))
        sink = io.BytesIO()
        _write_all(encoder, live, sink)
        decoder = VideoDecoder(codec.codec(), on_damage="raise")
        decoder.push(sink.getvalue())
        decoder.flush()
        decoded = decoder.pull()
    assert [d.display_index for d in decoded] == [0, 1, 4, 5, 6, 9]
    assert decoder.stats.missing_frames == 0
    assert [d.syntax.gop_index for d in decoded] == [0, 1, 0, 1, 2, 0]  # a GOP starts after each gap
    b_frames = [d.display_index for d in decoded if d.frame_type.name == "B"]
    assert b_frames == ([] if preset == "realtime" else [5])  # 6 held behind it, coded at the gap
