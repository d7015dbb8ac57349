"""Packets: framing of latent frames (or any payload) for files, sockets and message brokers.

Each packet carries a stream id, a sequence number, flags and CRC32Cs over its header
and payload, so a reader detects damaged, lost and reordered packets and finds the
next packet after damage. Layout: docs/bitstream.md.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from edgesdk import _core
from edgesdk.errors import ChecksumError, CorruptedError, InvalidArgumentError, PacketLossError, TruncatedError

HEADER_SIZE: int = _core.PACKET_HEADER_SIZE
DEFAULT_MAX_PAYLOAD: int = _core.DEFAULT_MAX_PAYLOAD


class PacketFlags(enum.IntFlag):
    """Flags of a packet: it starts a keyframe; it ends the stream."""
    KEYFRAME = 1
    END_OF_STREAM = 2


@dataclass(frozen=True)
class Packet:
    """One packet of a stream (docs/video.md): stream id, sequence number, flags and payload."""
    stream_id: int
    sequence: int
    payload: bytes
    flags: PacketFlags = PacketFlags(0)

    @property
    def keyframe(self) -> bool:
        """Whether the packet carries a keyframe."""
        return bool(self.flags & PacketFlags.KEYFRAME)

    @property
    def end_of_stream(self) -> bool:
        """Whether the packet ends the stream."""
        return bool(self.flags & PacketFlags.END_OF_STREAM)

    def to_bytes(self) -> bytes:
        """The packet's bytes: header, payload and its CRC."""
        return _core.write_packet(int(self.flags), self.stream_id, self.sequence, self.payload)


def parse_packet(data: bytes | bytearray | memoryview, max_payload: int = DEFAULT_MAX_PAYLOAD) -> tuple[Packet, int]:
    """The packet at the start of ``data`` and the number of bytes it occupies."""
    (flags, stream_id, sequence, size, _crc), offset, consumed = _core.parse_packet(data, max_payload)
    payload = bytes(memoryview(data)[offset : offset + size])
    return Packet(stream_id, sequence, payload, PacketFlags(flags)), consumed


class PacketWriter:
    """Numbers the packets of one stream; optionally writes them to a binary file object."""

    def __init__(self, stream_id: int, sink: BinaryIO | None = None, first_sequence: int = 0) -> None:
        if not 0 <= stream_id < 2**32:
            raise InvalidArgumentError("stream_id must fit in 32 bits")
        self.stream_id = stream_id
        self.sequence = first_sequence
        self._sink = sink

    def write(self, payload: bytes, *, keyframe: bool = False, end_of_stream: bool = False) -> bytes:
        """Splits ``payload`` into packets and returns them."""
        flags = (PacketFlags.KEYFRAME if keyframe else 0) | (PacketFlags.END_OF_STREAM if end_of_stream else 0)
        data = Packet(self.stream_id, self.sequence, payload, PacketFlags(flags)).to_bytes()
        self.sequence += 1
        if self._sink is not None:
            self._sink.write(data)
        return data

    def close(self) -> bytes:
        """Writes the empty end-of-stream packet that tells readers nothing is missing at the end."""
        return self.write(b"", end_of_stream=True)


@dataclass
class ReaderStats:
    """What a PacketReader has seen: packets, skipped bytes, damaged packets."""
    packets: int = 0
    skipped_bytes: int = 0  # damaged or foreign bytes between packets
    damaged_packets: int = 0  # valid header, payload CRC mismatch (dropped)
    lost_packets: int = 0  # sequence numbers never seen
    reordered_packets: int = 0  # arrived with a sequence number at or below one already seen
    events: list[str] = field(default_factory=list)


class PacketReader:
    """Incremental packet parser for a byte stream (see :func:`read_packets` for files).

    ``on_damage="raise"`` (default) raises at the first damaged, lost or reordered
    packet; ``"skip"`` drops what is damaged, resynchronises and counts it in
    :attr:`stats`, so a live receiver keeps going.
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD, on_damage: Literal["raise", "skip"] = "raise") -> None:
        if on_damage not in ("raise", "skip"):
            raise InvalidArgumentError("on_damage must be 'raise' or 'skip'")
        self._native = _core.PacketReader(max_payload)
        self._strict = on_damage == "raise"
        self.stats = ReaderStats()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Packet]:
        """Adds bytes; returns the packets completed by them."""
        self._native.feed(data)
        packets = []
        while (event := self._native.next()) is not None:
            kind, header, payload, count = event
            if kind == "packet":
                flags, stream_id, sequence, _, _ = header
                packets.append(Packet(stream_id, sequence, payload, PacketFlags(flags)))
                self.stats.packets += 1
                continue
            self._damage(kind, header, count)
        return packets

    def _damage(self, kind: str, header: tuple | None, count: int) -> None:
        if kind == "skipped_bytes":
            self.stats.skipped_bytes += count
            message, error = f"skipped {count} damaged or foreign bytes between packets", CorruptedError
        elif kind == "bad_payload":
            self.stats.damaged_packets += 1
            message = f"payload CRC32C mismatch in stream {header[1]} packet {header[2]} (dropped)"
            error = ChecksumError
        elif count > 0:
            self.stats.lost_packets += count
            message, error = f"{count} packet(s) lost before stream {header[1]} packet {header[2]}", PacketLossError
        else:
            self.stats.reordered_packets += 1
            message, error = f"stream {header[1]} packet {header[2]} arrived out of order", PacketLossError
        self.stats.events.append(message)
        if self._strict:
            raise error(message)

    def close(self) -> None:
        """Declares the end of input; raises if it ended in damaged bytes or inside a packet."""
        if skipped := self._native.pending_skipped_bytes:
            self._damage("skipped_bytes", None, skipped)
        pending = self._native.pending_bytes
        if pending:
            message = f"input ends inside a packet ({pending} bytes of an incomplete packet)"
            self.stats.events.append(message)
            if self._strict:
                raise TruncatedError(message)
            self.stats.skipped_bytes += pending


def read_packets(
    source: BinaryIO,
    chunk_size: int = 1 << 16,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    on_damage: Literal["raise", "skip"] = "raise",
) -> Iterator[Packet]:
    """Yields the packets of a binary file object or socket file, reading ``chunk_size`` at a time."""
    reader = PacketReader(max_payload, on_damage)
    while chunk := source.read(chunk_size):
        yield from reader.feed(chunk)
    reader.close()
