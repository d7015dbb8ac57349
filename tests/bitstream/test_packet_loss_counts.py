"""Exact loss counts: every pattern of dropped packets in a short stream is reported packet for
packet (how many, before which packet), never merely "a loss happened". A reader that let one
lost packet go unreported passed the older tests (docs/testing.md, planted mutant
"packets-single-loss-unreported")."""

from __future__ import annotations

import io
import itertools

import pytest

import edgesdk
from edgesdk.bitstream.packets import HEADER_SIZE, PacketReader, PacketWriter

COUNT = 7  # data packets 0..6, then the end-of-stream packet 7


def _packets() -> list[bytes]:
    sink = io.BytesIO()
    writer = PacketWriter(3, sink)
    for i in range(COUNT):
        writer.write(bytes([i]) * (10 + i), keyframe=i == 0)
    writer.close()
    data, packets = sink.getvalue(), []
    while data:
        size = HEADER_SIZE + int.from_bytes(data[16:20], "little")
        packets.append(data[:size])
        data = data[size:]
    assert len(packets) == COUNT + 1
    return packets


PACKETS = _packets()
# Every way of dropping one or two data packets, and some longer runs.
DROPS = [set(c) for n in (1, 2) for c in itertools.combinations(range(COUNT), n)] + [{1, 2, 3}, {0, 1, 2, 3, 4, 5, 6}, {2, 4, 6}]


def _expected_events(dropped: set[int]) -> list[tuple[int, int]]:
    """(lost count, sequence of the packet that revealed it) for each gap after the first
    packet received: a receiver may join a stream at any packet, so packets before the first
    one it sees are not losses."""
    events, run, started = [], 0, False
    for sequence in range(COUNT + 1):
        if sequence in dropped:
            run += 1
        else:
            if run and started:
                events.append((run, sequence))
            run, started = 0, True
    return events


@pytest.mark.parametrize("dropped", DROPS, ids=lambda d: "drop-" + "-".join(map(str, sorted(d))))
def test_every_lost_packet_is_counted(dropped):
    stream = b"".join(p for i, p in enumerate(PACKETS) if i not in dropped)
    reader = PacketReader(on_damage="skip")
    received = []
    for start in range(0, len(stream), 11):
        received += reader.feed(stream[start:start + 11])
    reader.close()
    assert [p.sequence for p in received] == [i for i in range(COUNT + 1) if i not in dropped]
    assert reader.stats.lost_packets == sum(n for n, _ in _expected_events(dropped))
    assert reader.stats.lost_packets == len(dropped) - min(i for i in range(COUNT + 1) if i not in dropped)
    assert reader.stats.reordered_packets == reader.stats.damaged_packets == reader.stats.skipped_bytes == 0
    assert reader.stats.events == [f"{n} packet(s) lost before stream 3 packet {s}" for n, s in _expected_events(dropped)]


@pytest.mark.parametrize("dropped", [{1}, {3}, {6}, {2, 3}, {0, 4}], ids=lambda d: "drop-" + "-".join(map(str, sorted(d))))
def test_strict_reader_names_the_exact_loss(dropped):
    stream = b"".join(p for i, p in enumerate(PACKETS) if i not in dropped)
    (count, sequence), = _expected_events(dropped)
    reader = PacketReader()
    with pytest.raises(edgesdk.PacketLossError, match=rf"^{count} packet\(s\) lost before stream 3 packet {sequence}$"):
        reader.feed(stream)
    assert reader.stats.lost_packets == count


def test_no_loss_no_event():
    reader = PacketReader()
    assert len(reader.feed(b"".join(PACKETS))) == COUNT + 1
    reader.close()
    assert reader.stats.lost_packets == 0 and reader.stats.events == []
