import io

import pytest

import edgesdk
from edgesdk.bitstream.packets import HEADER_SIZE, Packet, PacketFlags, PacketReader, PacketWriter, parse_packet, read_packets


def _stream(count=5, payload_size=50, stream_id=3):
    sink = io.BytesIO()
    writer = PacketWriter(stream_id, sink)
    for i in range(count):
        writer.write(bytes([i]) * payload_size, keyframe=i == 0)
    writer.close()
    return sink.getvalue(), HEADER_SIZE + payload_size


def test_writer_numbers_packets_and_reader_returns_them():
    data, _ = _stream()
    packets = list(read_packets(io.BytesIO(data), chunk_size=7))
    assert [p.sequence for p in packets] == [0, 1, 2, 3, 4, 5]
    assert packets[0].keyframe and not packets[1].keyframe
    assert packets[-1].end_of_stream and packets[-1].payload == b""
    assert packets[2].payload == b"\x02" * 50 and packets[2].stream_id == 3


def test_parse_packet_single():
    data = Packet(9, 2**40, b"abc", PacketFlags.KEYFRAME).to_bytes()
    packet, consumed = parse_packet(data + b"next")
    assert consumed == len(data) and packet.payload == b"abc" and packet.sequence == 2**40


def test_strict_reader_raises_on_loss_damage_and_truncation():
    data, size = _stream()
    with pytest.raises(edgesdk.PacketLossError, match="1 packet"):
        PacketReader().feed(data[:size] + data[2 * size :])
    damaged = bytearray(data)
    damaged[size + HEADER_SIZE + 3] ^= 1  # payload of packet 1
    with pytest.raises(edgesdk.ChecksumError):
        PacketReader().feed(bytes(damaged))
    reader = PacketReader()
    reader.feed(data[:-5])
    with pytest.raises(edgesdk.TruncatedError):
        reader.close()


def test_skipping_reader_resynchronises_and_counts():
    data, size = _stream(count=8)
    damaged = bytearray(b"garbage" + data)
    damaged[7 + size + 4] ^= 0xFF  # header of packet 1
    damaged[7 + 3 * size + HEADER_SIZE] ^= 0xFF  # payload of packet 3
    reader = PacketReader(on_damage="skip")
    packets = []
    for start in range(0, len(damaged), 13):
        packets += reader.feed(bytes(damaged[start : start + 13]))
    reader.close()
    assert [p.sequence for p in packets] == [0, 2, 4, 5, 6, 7, 8]
    assert reader.stats.skipped_bytes == 7 + size
    assert reader.stats.damaged_packets == 1
    assert reader.stats.lost_packets == 2  # 1 (header destroyed) and 3 (payload dropped)
    assert len(reader.stats.events) == 5  # 2 skipped runs, 2 losses, 1 damaged payload


def test_oversized_declared_payload_is_not_allocated():
    data = Packet(1, 0, b"x" * 1000).to_bytes()
    reader = PacketReader(max_payload=100, on_damage="skip")
    assert reader.feed(data) == []
    reader.close()
    assert reader.stats.skipped_bytes == len(data)


def test_reordering_is_reported():
    first, second = Packet(1, 0, b"a").to_bytes(), Packet(1, 1, b"b").to_bytes()
    reader = PacketReader(on_damage="skip")
    assert [p.payload for p in reader.feed(second + first)] == [b"b", b"a"]
    assert reader.stats.reordered_packets == 1


def test_end_of_stream_allows_a_new_stream_to_restart_numbering():
    writer = PacketWriter(5)
    data = writer.write(b"a") + writer.close()
    again = PacketWriter(5)
    data += again.write(b"b")
    assert [p.payload for p in PacketReader().feed(data)] == [b"a", b"", b"b"]


def test_invalid_arguments():
    with pytest.raises(edgesdk.InvalidArgumentError):
        PacketWriter(2**32)
    with pytest.raises(edgesdk.InvalidArgumentError):
        PacketReader(on_damage="ignore")


def test_packets_over_a_tcp_socket_on_loopback():
    import socket
    import threading

    frames = [bytes([i]) * (1000 + 997 * i) for i in range(20)]
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def send():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            writer = PacketWriter(1)
            for i, frame in enumerate(frames):
                conn.sendall(writer.write(frame, keyframe=i % 10 == 0))
            conn.sendall(writer.close())

    sender = threading.Thread(target=send)
    sender.start()
    try:
        server.settimeout(10)
        conn, _ = server.accept()
        with conn, conn.makefile("rb") as stream:
            conn.settimeout(10)
            received = list(read_packets(stream, chunk_size=4096))
    finally:
        sender.join(timeout=10)
        server.close()
    assert [p.payload for p in received[:-1]] == frames
    assert [p.keyframe for p in received[:-1]] == [i % 10 == 0 for i in range(20)]
    assert received[-1].end_of_stream
