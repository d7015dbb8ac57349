"""Live sources keep up or drop by rule (docs/media-io.md, "Live sources").

Between a live source (RTSP, camera) and the encoder sits a queue of at most ``bound``
frames, filled by a capture thread. When a frame arrives and the queue is full, the
**oldest queued frame** is dropped: the queue never holds more than ``bound`` frames, the
encoder always gets the most recent ``bound`` frames it has not taken, and latency stays
bounded by ``bound`` frames plus one frame's coding. Every frame keeps its capture index;
each frame handed out says how many frames were dropped just before it (``skipped``), so the
encoder can keep display indexes, and with them timestamps, true to the capture
(:meth:`edgesdk.codecs.video.VideoEncoder.skip`). Counts are in :class:`LiveStats`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from edgesdk.errors import InvalidArgumentError

DEFAULT_BOUND = 4  # frames between capture and encoder
JOIN_SECONDS = 5.0  # how long the consumer waits for the capture thread when it stops reading


@dataclass(frozen=True)
class LiveFrame:
    """A captured frame as the encoder takes it: pixels, capture index (0, 1, 2 … from the
    first frame captured), timestamp (seconds, None if unknown) and the number of captured
    frames dropped between the previous frame handed out and this one."""

    pixels: np.ndarray
    index: int
    timestamp: object = None
    skipped: int = 0


@dataclass
class LiveStats:
    """What the queue saw: frames ``captured``, ``delivered`` to the encoder, ``dropped``,
    and the deepest the queue got (``max_depth`` ≤ bound). ``captured`` = ``delivered`` +
    ``dropped`` + frames still queued."""

    captured: int = 0
    delivered: int = 0
    dropped: int = 0
    max_depth: int = 0
    drop_indexes: deque = field(default_factory=lambda: deque(maxlen=256))  # latest dropped capture indexes

    def summary(self) -> str:
        """One line for stderr."""
        return (f"live source: {self.captured} frame(s) captured, {self.delivered} encoded, {self.dropped} dropped "
                f"(queue of at most {self.max_depth} used)")


class LiveQueue:
    """The bounded queue: :meth:`offer` from the capture side, :meth:`take` from the encoder.
    Thread-safe; neither side waits on the other except :meth:`take` on an empty queue."""

    def __init__(self, bound: int = DEFAULT_BOUND) -> None:
        if not isinstance(bound, int) or bound < 1:
            raise InvalidArgumentError(f"the live queue bound must be a positive number of frames, not {bound!r}")
        self.bound = bound
        self.stats = LiveStats()
        self._frames: deque[LiveFrame] = deque()
        self._last_delivered = -1
        self._closed = False
        self._error: BaseException | None = None
        self._ready = threading.Condition()

    def __len__(self) -> int:
        with self._ready:
            return len(self._frames)

    def offer(self, pixels: np.ndarray, timestamp: object = None) -> None:
        """Queues a captured frame; drops the oldest queued one first when the queue is full."""
        with self._ready:
            frame = LiveFrame(pixels, self.stats.captured, timestamp)
            self.stats.captured += 1
            if len(self._frames) == self.bound:
                dropped = self._frames.popleft()
                self.stats.dropped += 1
                self.stats.drop_indexes.append(dropped.index)
            self._frames.append(frame)
            self.stats.max_depth = max(self.stats.max_depth, len(self._frames))
            self._ready.notify()

    def close(self, error: BaseException | None = None) -> None:
        """No more frames (the source ended, or failed with ``error``, raised by :meth:`take`
        once the queue is empty)."""
        with self._ready:
            self._closed = True
            self._error = error
            self._ready.notify_all()

    def take(self, timeout: float | None = None) -> LiveFrame | None:
        """The oldest queued frame with its ``skipped`` count; None once closed and empty (or
        after ``timeout`` seconds with nothing queued)."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._frames or self._closed, timeout):
                return None
            if not self._frames:
                if self._error is not None:
                    raise self._error
                return None
            frame = self._frames.popleft()
            skipped = frame.index - self._last_delivered - 1
            self._last_delivered = frame.index
            self.stats.delivered += 1
            return LiveFrame(frame.pixels, frame.index, frame.timestamp, skipped)


def live_frames(source, bound: int = DEFAULT_BOUND, queue: LiveQueue | None = None) -> Iterator[LiveFrame]:
    """Frames of a live ``source`` (anything iterable yielding :class:`~edgesdk.media.frames.VideoFrame`
    or pixel arrays) through a :class:`LiveQueue` filled by a capture thread: the encoder
    takes them as fast as it codes, and what it cannot keep up with is dropped by the rule
    above. Pass ``queue`` to read its :attr:`LiveQueue.stats` afterwards."""
    queue = LiveQueue(bound) if queue is None else queue
    stop = threading.Event()

    def capture() -> None:
        try:
            for frame in source:
                if stop.is_set():
                    break
                queue.offer(getattr(frame, "pixels", frame), getattr(frame, "timestamp", None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            queue.close(error)
        else:
            queue.close()

    thread = threading.Thread(target=capture, name="edgesdk-live-capture", daemon=True)
    thread.start()
    try:
        while (frame := queue.take()) is not None:
            yield frame
    finally:
        stop.set()  # the capture thread ends after the frame it is reading (a daemon: a stalled source cannot hold the process)
        thread.join(timeout=JOIN_SECONDS)
