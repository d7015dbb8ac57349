"""What the NATS transport carries beside frames (docs/exchange.md): the wrapped keys of
encrypted streams, and the rosters of multi-party calls.

* **Keys**: the wrapped keys of one (stream, epoch) are one message on
  ``edgesdk.keys.<stream>.<epoch>`` in the same JetStream stream as the frames (so a leaf
  node's hub sources them with the frames). The camera publishes them, acknowledged, before
  the epoch's first frame; a viewer meeting an epoch it holds no key for reads the subject's
  last message. Authorising a decoder mid-epoch publishes the epoch again (the last wins).
* **Rooms**: a JetStream key-value bucket (``edgesdk_rooms``, history 1) holds one entry per
  party, ``<room>.<name>``, refreshed every few seconds; entries of parties that stopped
  refreshing expire (the bucket's TTL).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

from edgesdk.errors import InvalidArgumentError
from edgesdk.exchange.errors import TransportError
from edgesdk.exchange.records import check_stream_name

KEYS_PREFIX = "edgesdk.keys"
ROOMS_BUCKET = "edgesdk_rooms"
ROOM_TTL = 15.0  # seconds an entry lives without a refresh
MAX_KEY_MESSAGE = 1 << 20


def keys_subject(stream: str, epoch: int) -> str:
    """The subject of the wrapped keys of ``stream``'s ``epoch``."""
    if not isinstance(epoch, int) or not 0 <= epoch < 2**63:
        raise InvalidArgumentError(f"key epoch must be an integer in [0, 2^63), got {epoch!r}")
    return f"{KEYS_PREFIX}.{check_stream_name(stream)}.{epoch}"


class KeysAndRooms:
    """Mixed into :class:`edgesdk.exchange.nats.NatsTransport` (uses its ``_run``, ``_js``,
    ``jetstream`` and ``_publish_retrying``)."""

    def _timeout(self) -> float:
        return max(5.0, self.request_timeout) + 5

    def publish_keys(self, stream: str, epoch: int, wrapped: dict[str, bytes]) -> None:
        """Publishes the wrapped keys of ``stream``'s ``epoch`` ({recipient: wrap}); returns once
        JetStream acknowledged them (retrying like frames)."""
        recipients = {name: base64.b64encode(blob).decode() for name, blob in sorted(wrapped.items())}
        payload = json.dumps({"stream": stream, "epoch": epoch, "recipients": recipients}).encode()
        ident = hashlib.sha256(payload).hexdigest()[:16]
        deadline = time.monotonic() + self.publish_timeout
        self._run(self._publish_retrying(keys_subject(stream, epoch), payload,
                                         {"Nats-Msg-Id": f"keys.{stream}.{epoch}.{ident}"}, deadline),
                  timeout=self.publish_timeout + 5)

    def keys_of(self, stream: str, epoch: int) -> dict[str, bytes] | None:
        """The wrapped keys last published for ``stream``'s ``epoch``, None if none were."""
        try:
            message = self._run(self._js.get_last_msg(self.jetstream, keys_subject(stream, epoch)),
                                timeout=self._timeout())
        except self._nats.js.errors.NotFoundError:
            return None
        data = message.data or b""
        try:
            if len(data) > MAX_KEY_MESSAGE:
                raise ValueError("too large")
            body = json.loads(data)
            if body.get("stream") != stream or body.get("epoch") != epoch:
                raise ValueError("names another stream or epoch")
            return {str(name): base64.b64decode(blob, validate=True) for name, blob in body["recipients"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise TransportError(f"the key message of stream {stream} epoch {epoch} is malformed ({error})") from None

    def key_epochs(self, stream: str) -> list[int]:
        """The epochs whose keys were published for ``stream``, ascending."""
        check_stream_name(stream)
        info = self._run(self._js.stream_info(self.jetstream, subjects_filter=f"{KEYS_PREFIX}.{stream}.*"),
                         timeout=self._timeout())
        return sorted(int(subject.rsplit(".", 1)[1]) for subject in (info.state.subjects or {}))

    # ------------------------------------------------------------------ rooms

    def _rooms(self):
        from nats.js.api import KeyValueConfig, StorageType

        if getattr(self, "_rooms_kv", None) is None:
            config = KeyValueConfig(bucket=ROOMS_BUCKET, history=1, ttl=ROOM_TTL, storage=StorageType.FILE)
            self._rooms_kv = self._run(self._js.create_key_value(config), timeout=self._timeout())
        return self._rooms_kv

    def announce(self, room: str, name: str, entry: dict) -> None:
        """Puts (or refreshes) party ``name``'s entry in ``room``."""
        key = f"{check_stream_name(room)}.{check_stream_name(name)}"
        self._run(self._rooms().put(key, json.dumps(entry).encode()), timeout=self._timeout())

    def roster(self, room: str) -> dict[str, dict]:
        """{party name: entry} of the parties present in ``room`` (entries that do not parse are
        left out)."""
        kv = self._rooms()
        prefix = f"$KV.{ROOMS_BUCKET}."
        info = self._run(self._js.stream_info(f"KV_{ROOMS_BUCKET}",
                                              subjects_filter=f"{prefix}{check_stream_name(room)}.*"),
                         timeout=self._timeout())
        keys = [subject[len(prefix):] for subject in (info.state.subjects or {})]
        found = {}
        for key in keys:
            try:
                entry = self._run(kv.get(key), timeout=self._timeout())
                value = json.loads(entry.value or b"")
            except (self._nats.js.errors.KeyNotFoundError, ValueError):
                continue  # deleted or expired meanwhile, or not ours
            if isinstance(value, dict):
                found[key.split(".", 1)[1]] = value
        return found
