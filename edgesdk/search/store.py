"""Search codes of stored frames: computed from the parsed latent (no generator), kept in a
store's vector index, queried by predicates and/or an example (docs/latent-search.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgesdk.errors import BitstreamError, InvalidArgumentError, NotFoundError
from edgesdk.search.query import parse_query


def identifier_of(codec, quality: int):
    """The feature identifier of ``codec``'s model at ``quality``; NotFoundError saying how to add one."""
    identifier = codec.model.feature_identifier(quality)
    if identifier is None:
        raise NotFoundError(f"model {codec.model.name} has no search feature identifier for quality {quality}; "
                            "the shipped lite model has one at quality 2 (encode and store with --model lite "
                            "--quality 2), or add one (docs/latent-search.md, 'Adding an identifier')")
    return identifier


def frame_code(codec, data: bytes) -> np.ndarray | None:
    """The search code of one image or video keyframe (its bytes, or a packet holding it),
    from the parsed latent alone; None for frames without their own latent (P, B, other)."""
    from edgesdk.bitstream.container import Frame, FrameType
    from edgesdk.bitstream.packets import parse_packet

    data = bytes(data)
    if data[:2] == b"EP":
        data = bytes(parse_packet(data)[0].payload)
    try:
        frame = Frame.parse(data)
    except BitstreamError:
        return None
    if frame.frame_type != FrameType.KEY:
        return None
    frame, y_hat = codec.codec(frame.quality).decode_latent(data)
    return identifier_of(codec, frame.quality).code(y_hat, frame.height, frame.width)


def example_code(codec, example) -> np.ndarray:
    """The code of an example: a latent image (.eli path or frame bytes), or an image (path or
    HxWx3 uint8 array), which is encoded first at the codec's quality."""
    from edgesdk.codecs.image.codec import read_latent_image

    if isinstance(example, (str, Path)) and Path(example).suffix.lower() == ".eli":
        example = read_latent_image(example)
    if isinstance(example, (bytes, bytearray, memoryview)):
        code = frame_code(codec, bytes(example))
        if code is None:
            raise InvalidArgumentError("the example is not a keyframe; give an image or a latent image (.eli)")
        return code
    return frame_code(codec, codec.encode(example))


@dataclass(frozen=True)
class Match:
    """One frame a query selected: where it is, its code and (for an example) its distance."""

    stream: str
    frame_index: int
    code: tuple[float, ...]
    distance: float | None = None


def search(store, query: str | None = None, example: np.ndarray | None = None, *, k: int = 10,
           stream: str | None = None, limit: int | None = None) -> list[Match]:
    """Frames of ``store`` whose codes satisfy ``query`` (predicates; docs/latent-search.md) and,
    with an ``example`` code, the ``k`` nearest of those, nearest first; without one, every
    selected frame in storing order (at most ``limit``). The store runs both where its codes
    are (SQLite: SQL on the code columns; PostgreSQL: SQL on the server), through its
    ``select_codes`` and ``nearest_codes`` (edgesdk.exchange.store_base)."""
    if query is None and example is None:
        raise InvalidArgumentError("give a query, an example, or both")
    if not hasattr(store, "nearest_codes"):
        raise InvalidArgumentError(f"{type(store).__name__} has no search-code columns; search codes are queried "
                                   "in the SQLite and PostgreSQL stores (store put --features)")
    names = store.feature_names
    if not names:
        raise InvalidArgumentError(f"{store.label} holds no named search codes; "
                                   "store frames with 'edgesdk store put --features'")
    conditions = [] if query is None else [(p.component, p.op, p.value) for p in parse_query(query, names)]
    if example is None:
        streams, indexes, codes = store.select_codes(conditions, stream=stream, limit=limit)
        distances = None
    else:
        streams, indexes, codes, distances = store.nearest_codes(example, k, conditions, stream=stream)
    return [Match(streams[r], int(indexes[r]), tuple(float(v) for v in codes[r]),
                  None if distances is None else float(distances[r])) for r in range(len(streams))]
