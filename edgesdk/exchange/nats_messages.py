"""How a frame record travels as NATS messages (docs/exchange.md): subject
``edgesdk.latents.<stream>``, metadata and feature vectors in headers, the bytes as payload,
split into chunks ``<message id>/<i>`` when larger than the server's max_payload."""

from __future__ import annotations

import base64
import json
from collections import OrderedDict

import numpy as np

from edgesdk.exchange.errors import TransportError
from edgesdk.exchange.records import FrameRecord, check_stream_name

SUBJECT_PREFIX = "edgesdk.latents"
MAX_CHUNKS = 4096
MAX_PENDING_MESSAGES = 64  # partly received chunked messages a subscriber keeps


def subject_of(stream: str) -> str:
    """The NATS subject of ``stream``'s frames, ``edgesdk.latents.<stream>`` (the name is checked)."""
    return f"{SUBJECT_PREFIX}.{check_stream_name(stream)}"


def message_headers(record: FrameRecord, chunk: int, chunks: int) -> dict[str, str]:
    """The headers of chunk ``chunk`` of ``chunks`` of ``record``'s message."""
    message_id = record.message_id if chunks == 1 else f"{record.message_id}/{chunk}"
    headers = {"Nats-Msg-Id": message_id, "Edgesdk-Meta": json.dumps(record.metadata(), separators=(",", ":")),
               "Edgesdk-Chunk": f"{chunk}/{chunks}"}
    if record.features is not None:
        headers["Edgesdk-Features"] = base64.b64encode(record.features.tobytes()).decode()
    if record.sealed_features is not None:
        headers["Edgesdk-Sealed-Features"] = base64.b64encode(record.sealed_features).decode()
    return headers


def record_of(meta: dict, data: bytes, headers: dict[str, str]) -> FrameRecord:
    """The record a whole message (metadata, bytes, headers) carries."""
    features, sealed = headers.get("Edgesdk-Features"), headers.get("Edgesdk-Sealed-Features")
    vector = None if not features else np.frombuffer(base64.b64decode(features), dtype=np.float32)
    return FrameRecord(meta["stream"], meta["frame"], meta["time"], data, meta["kind"], meta["model"],
                       meta["quality"], vector, tuple(meta["transforms"]), bool(meta.get("encrypted", False)),
                       None if sealed is None else base64.b64decode(sealed))


class Reassembler:
    """Chunks -> records; bounded: at most MAX_PENDING_MESSAGES incomplete messages."""

    def __init__(self) -> None:
        self.pending: OrderedDict[str, dict[int, bytes]] = OrderedDict()

    def add(self, headers: dict[str, str], data: bytes) -> FrameRecord | None:
        """Adds one message; returns the record once all its chunks are in, else None."""
        meta = json.loads(headers["Edgesdk-Meta"])
        index, count = (int(v) for v in headers.get("Edgesdk-Chunk", "0/1").split("/"))
        if not (0 <= index < count <= MAX_CHUNKS):
            raise TransportError(f"bad chunk header {headers.get('Edgesdk-Chunk')!r}")
        if count == 1:
            return record_of(meta, data, headers)
        key = f"{meta['stream']}.{meta['frame']}"
        parts = self.pending.setdefault(key, {})
        parts[index] = data
        if len(parts) < count:
            while len(self.pending) > MAX_PENDING_MESSAGES:
                self.pending.popitem(last=False)
            return None
        del self.pending[key]
        return record_of(meta, b"".join(parts[i] for i in range(count)), headers)
