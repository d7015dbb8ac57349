"""Augmentation accessory: a dongle-class device codes frames for a host without an
accelerator (``edgesdk accessory serve``; docs/exchange.md).

Wire format (one connection = one video stream), every message::

    magic "EDGA" | version u8 (1) | kind u8 | request id u64 | JSON length u32 | payload length u32
    | JSON (UTF-8) | payload                                                         (little-endian)

Requests: ENCODE (JSON width, height; payload: H*W*3 RGB bytes) -> packets; DECODE (payload:
packet bytes) -> pictures; PING. Replies: OK (JSON lists the parts' sizes; payload: the parts
back to back), BUSY (queue full: nothing was done, send again later) or ERROR (JSON message).

The server holds at most ``queue_size`` requests (all connections together); beyond that it
answers BUSY at once, so memory stays bounded and the host decides. One worker codes them
in order. :class:`AccessoryClient` retries BUSY a bounded number of times and, when the
accessory is gone (connection refused or broken, or no reply in time), codes locally from
then on, renumbering packets so the host's stream stays one continuous packet stream.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import struct
import threading
import time
from dataclasses import dataclass

import numpy as np

from edgesdk.errors import InvalidArgumentError, LimitExceededError
from edgesdk.exchange.errors import TransportError, TransportUnavailableError

MAGIC = b"EDGA"
VERSION = 1
HEADER = struct.Struct("<4sBBQII")
ENCODE, DECODE, PING, OK, BUSY, ERROR = 1, 2, 3, 16, 17, 18
MAX_JSON = 1 << 16
MAX_PAYLOAD = 64 << 20


def _read_exact(sock: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def send_message(sock: socket.socket, kind: int, request: int, meta: dict, payload: bytes = b"") -> None:
    """Sends one accessory message on ``sock``: header, ``meta`` as compact JSON, ``payload``."""
    body = json.dumps(meta, separators=(",", ":")).encode()
    sock.sendall(HEADER.pack(MAGIC, VERSION, kind, request, len(body), len(payload)) + body + payload)


def read_message(sock: socket.socket) -> tuple[int, int, dict, bytes]:
    """Reads one accessory message: (kind, request id, meta, payload). TransportError on a bad
    magic or version, LimitExceededError past the size limits, ConnectionError if the peer
    closes mid-message."""
    magic, version, kind, request, json_size, payload_size = HEADER.unpack(_read_exact(sock, HEADER.size))
    if magic != MAGIC or version != VERSION:
        raise TransportError("not an edgesdk accessory message (bad magic or version)")
    if json_size > MAX_JSON or payload_size > MAX_PAYLOAD:
        raise LimitExceededError(f"accessory message of {json_size} + {payload_size} bytes exceeds the limits")
    meta = json.loads(_read_exact(sock, json_size) or b"{}")
    return kind, request, meta, _read_exact(sock, payload_size)


def parse_address(address: str) -> tuple[int, object]:
    """``unix:///path`` or ``tcp://127.0.0.1:PORT`` -> (family, address). TCP only on loopback."""
    if address.startswith("unix://"):
        return socket.AF_UNIX, address[len("unix://"):]
    if address.startswith("tcp://"):
        host, _, port = address[len("tcp://"):].rpartition(":")
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise InvalidArgumentError(f"{address}: the accessory listens on loopback only (127.0.0.1)")
        return socket.AF_INET, ("127.0.0.1", int(port))
    raise InvalidArgumentError(f"{address}: expected unix:///path or tcp://127.0.0.1:PORT")


# ------------------------------------------------------------------------------ server


@dataclass
class _Job:
    connection: _Connection
    kind: int
    request: int
    meta: dict
    payload: bytes


class _Connection:
    def __init__(self, sock: socket.socket, codec, encoder_options: dict) -> None:
        self.sock = sock
        self.codec = codec
        self.encoder_options = encoder_options
        self.encoder = None
        self.decoder = None
        self.lock = threading.Lock()  # replies come from the reader (BUSY) and the worker

    def reply(self, kind: int, request: int, meta: dict, payload: bytes = b"") -> None:
        with self.lock:
            try:
                send_message(self.sock, kind, request, meta, payload)
            except OSError:
                pass  # the host went away; its reader ends the connection

    def run(self, job: _Job) -> tuple[dict, bytes]:
        from edgesdk.codecs.video import VideoDecoder, VideoEncoder

        if job.kind == PING:
            return {}, b""
        if job.kind == ENCODE:
            width, height = int(job.meta["width"]), int(job.meta["height"])
            if len(job.payload) != width * height * 3:
                raise InvalidArgumentError(f"expected {width}x{height}x3 bytes, got {len(job.payload)}")
            if self.encoder is None:
                self.encoder = VideoEncoder(self.codec, **self.encoder_options)
            self.encoder.push(np.frombuffer(job.payload, np.uint8).reshape(height, width, 3))
            if job.meta.get("flush"):
                self.encoder.flush()
            parts = [p.to_bytes() for p in self.encoder.pull()]
            return {"parts": [len(p) for p in parts]}, b"".join(parts)
        if job.kind == DECODE:
            if self.decoder is None:
                self.decoder = VideoDecoder(self.codec, on_damage="skip")
            self.decoder.push(job.payload)
            frames = self.decoder.pull()
            return ({"parts": [f.image.nbytes for f in frames], "shapes": [list(f.image.shape) for f in frames]},
                    b"".join(f.image.tobytes() for f in frames))
        raise InvalidArgumentError(f"unknown request kind {job.kind}")


class AccessoryServer:
    """Serves coding requests on ``address`` until :meth:`close` (or ``max_requests`` /
    ``duration``). ``codec`` is a low-level image codec (``ImageCodec(...).codec()``)."""

    def __init__(self, address: str, codec, *, queue_size: int = 4, keyframe_interval: int = 32,
                 delay: float = 0.0) -> None:
        if not 1 <= queue_size <= 1024:
            raise InvalidArgumentError("queue_size must be in [1, 1024]")
        self.address = address
        self.codec = codec
        self.queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self.encoder_options = {"keyframe_interval": keyframe_interval, "b_frames": 0}
        self.delay = delay  # seconds added per job (tests: a slow accessory)
        self.served = 0
        self.busy = 0
        self.max_queued = 0
        family, where = parse_address(address)
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX and os.path.exists(where):
            os.unlink(where)
        if family == socket.AF_INET:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(where)
        self._listener.listen(16)
        self._closed = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True),
                         threading.Thread(target=self._work, daemon=True)]
        for thread in self._threads:
            thread.start()

    @property
    def port(self) -> int | None:
        """The TCP port listened on (the one picked for ``tcp://127.0.0.1:0``); None on a Unix socket."""
        name = self._listener.getsockname()
        return name[1] if isinstance(name, tuple) else None

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            connection = _Connection(sock, self.codec, self.encoder_options)
            threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection: _Connection) -> None:
        try:
            while not self._closed.is_set():
                kind, request, meta, payload = read_message(connection.sock)
                try:
                    self.queue.put_nowait(_Job(connection, kind, request, meta, payload))
                    self.max_queued = max(self.max_queued, self.queue.qsize())
                except queue.Full:
                    self.busy += 1
                    connection.reply(BUSY, request, {"queued": self.queue.qsize()})
        except (OSError, ConnectionError, TransportError, ValueError):
            pass
        finally:
            connection.sock.close()

    def _work(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            try:
                if self.delay:
                    time.sleep(self.delay)
                meta, payload = job.connection.run(job)
                job.connection.reply(OK, job.request, meta, payload)
            except Exception as error:  # reported to the host, the server goes on
                job.connection.reply(ERROR, job.request, {"error": f"{type(error).__name__}: {error}"})
            self.served += 1

    def serve(self, *, max_requests: int | None = None, duration: float | None = None) -> None:
        """Blocks until closed, ``max_requests`` were served or ``duration`` seconds passed."""
        end = None if duration is None else time.monotonic() + duration
        while not self._closed.is_set():
            if max_requests is not None and self.served >= max_requests:
                break
            if end is not None and time.monotonic() >= end:
                break
            time.sleep(0.05)
        self.close()

    def close(self) -> None:
        """Stops accepting connections and removes the Unix socket file; the worker stops after
        the requests already queued. Safe to call twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._listener.close()
        self.queue.put(None)
        family, where = parse_address(self.address)
        if family == socket.AF_UNIX and os.path.exists(where):
            os.unlink(where)


# ------------------------------------------------------------------------------ host


class AccessoryClient:
    """Host side: codes one video stream on the accessory at ``address``, or locally once the
    accessory is gone. ``local_codec()`` makes the local low-level codec on demand.
    :attr:`remote` tells where the next frame goes; :attr:`fallbacks` counts switches."""

    def __init__(self, address: str, local_codec, *, stream_id: int = 0, keyframe_interval: int = 32,
                 timeout: float = 10.0, busy_retries: int = 50, busy_wait: float = 0.02) -> None:
        self.address = address
        self._local_codec = local_codec
        self.stream_id = stream_id
        self.keyframe_interval = keyframe_interval
        self.timeout = timeout
        self.busy_retries = busy_retries
        self.busy_wait = busy_wait
        self._sequence = 0
        self._request = 0
        self._local_encoder = None
        self._local_decoder = None
        self.fallbacks = 0
        self.busy_replies = 0
        self.sock: socket.socket | None = None
        try:
            family, where = parse_address(address)
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(where)
        except OSError:
            self._go_local()

    @property
    def remote(self) -> bool:
        """True while frames go to the accessory; False once coding locally (it never reconnects)."""
        return self.sock is not None

    def _go_local(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.fallbacks += 1

    def _renumber(self, packets: list[bytes]) -> list[bytes]:
        from edgesdk.bitstream.packets import Packet, parse_packet

        out = []
        for data in packets:
            packet, _ = parse_packet(data)
            out.append(Packet(self.stream_id, self._sequence, packet.payload, packet.flags).to_bytes())
            self._sequence += 1
        return out

    def _remote_encode(self, frame: np.ndarray, flush: bool) -> list[bytes]:
        height, width = frame.shape[:2]
        for _ in range(self.busy_retries + 1):  # bounded
            self._request += 1
            send_message(self.sock, ENCODE, self._request, {"width": width, "height": height, "flush": flush},
                         np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
            kind, request, meta, payload = read_message(self.sock)
            if request != self._request:
                raise TransportError(f"accessory answered request {request}, expected {self._request}")
            if kind == OK:
                parts, at = [], 0
                for size in meta["parts"]:
                    parts.append(payload[at:at + size])
                    at += size
                return parts
            if kind == ERROR:
                raise TransportError(f"accessory: {meta.get('error')}")
            self.busy_replies += 1
            time.sleep(self.busy_wait)
        raise TransportUnavailableError(f"{self.address}: busy {self.busy_retries + 1} times in a row")

    def encode(self, frame: np.ndarray, *, flush: bool = False) -> list[bytes]:
        """Packets (0 or more) for one frame, numbered continuously across a fallback."""
        if self.sock is not None:
            try:
                return self._renumber(self._remote_encode(frame, flush))
            except (OSError, ConnectionError, TransportUnavailableError):
                self._go_local()  # gone or stuck: code here from now on, starting with a keyframe
        if self._local_encoder is None:
            from edgesdk.codecs.video import VideoEncoder

            self._local_encoder = VideoEncoder(self._local_codec(), keyframe_interval=self.keyframe_interval,
                                               b_frames=0)
        self._local_encoder.push(frame)
        if flush:
            self._local_encoder.flush()
        return self._renumber([p.to_bytes() for p in self._local_encoder.pull()])

    def decode(self, packet: bytes) -> list[np.ndarray]:
        """Pictures completed by one packet. After a fallback the local decoder resumes at the
        next keyframe (frames that need a reference it never saw are skipped)."""
        if self.sock is not None:
            try:
                self._request += 1
                send_message(self.sock, DECODE, self._request, {}, packet)
                kind, request, meta, payload = read_message(self.sock)
                if kind == OK:
                    pictures, at = [], 0
                    for size, shape in zip(meta["parts"], meta["shapes"]):
                        pictures.append(np.frombuffer(payload[at:at + size], np.uint8).reshape(shape))
                        at += size
                    return pictures
                if kind == ERROR:
                    raise TransportError(f"accessory: {meta.get('error')}")
                raise TransportUnavailableError(f"{self.address}: busy")
            except (OSError, ConnectionError, TransportUnavailableError):
                self._go_local()
        if self._local_decoder is None:
            from edgesdk.codecs.video import VideoDecoder

            self._local_decoder = VideoDecoder(self._local_codec(), on_damage="skip")
        self._local_decoder.push(packet)
        return [frame.image for frame in self._local_decoder.pull()]

    def close(self) -> None:
        """Closes the connection to the accessory, if still open."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> AccessoryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
