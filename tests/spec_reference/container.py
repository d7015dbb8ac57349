"""Frames and packets of docs/bitstream.md."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .crc32c import crc32c


@dataclass
class Frame:
    frame_type: int
    quality: int
    model_id: bytes
    width: int
    height: int
    parameters: list[tuple[int, int]]  # (key, value) in stream order
    sections: list[tuple[int, bytes]]  # (kind, payload) in stream order

    def param(self, key: int) -> int | None:
        return next((v for k, v in self.parameters if k == key), None)

    def section(self, kind: int) -> bytes | None:
        return next((d for k, d in self.sections if k == kind), None)


def parse_compact_frame(data: bytes) -> Frame:
    """A compact inter frame (magic EDGI) as the frame it stands for (model id all zero)."""
    if len(data) < 22 or data[4] != 1:
        raise ValueError("not an EDGI 1 frame")
    frame_type, flags, quality = data[5], data[6], data[7]
    alone = bool(flags & 8)  # bit 3: a B frame's MOTION alone (its interpolation, no residual)
    moved = bool(flags & 16)  # bit 4: a motion-compensated P frame, MOTION first
    if frame_type not in (1, 2) or flags & ~31 or (frame_type == 2 and flags & 2) or (frame_type == 1 and data[19]) \
            or (alone and (frame_type != 2 or flags & 5)) or (moved and (frame_type != 1 or flags & 2)):
        raise ValueError("bad compact header fields")
    width, height, display, gop, distance, forward, step = struct.unpack_from("<HHIHBBH", data, 8)
    kinds = [3] if alone else \
        ([3] if frame_type == 2 or moved else []) + [5, 9 if flags & 4 else 2] + ([6] if flags & 1 else [])
    lengths = struct.unpack_from(f"<{len(kinds)}I", data, 22) if len(data) >= 22 + 4 * len(kinds) else None
    start = 22 + 4 * len(kinds)
    if lengths is None or start + sum(lengths) + 4 != len(data):
        raise ValueError("section lengths do not match the frame's size")
    if crc32c(data[:-4]) != struct.unpack_from("<I", data, len(data) - 4)[0]:
        raise ValueError("frame CRC32C")
    if not (width and height):
        raise ValueError("bad size")
    params = [(8, struct.unpack("<i", struct.pack("<I", display))[0]), (6, gop), (7, distance)]
    params += ([(9, forward)] if frame_type == 2 else []) + [(10, step)] + ([(16, 1)] if flags & 2 else [])
    sections, pos = [], start
    for kind, length in zip(kinds, lengths):
        sections.append((kind, data[pos: pos + length]))
        pos += length
    return Frame(frame_type, quality, bytes(32), width, height, params, sections)


def parse_frame(data: bytes) -> Frame:
    data = bytes(data)
    if data[:4] == b"EDGI":
        return parse_compact_frame(data)
    if data[:4] != b"EDGF" or data[4] != 1:
        raise ValueError("not an EDGF 1.x frame")
    frame_type, quality = data[6], data[7]
    model_id = data[8:40]
    width, height, p, s = struct.unpack_from("<IIHH", data, 40)
    if p > 64 or s > 32:
        raise ValueError("counts over their limits")
    header = 52 + 8 * p + 12 * s + 4
    if crc32c(data[: header - 4]) != struct.unpack_from("<I", data, header - 4)[0]:
        raise ValueError("header CRC32C")
    params = []
    for k in range(p):
        key, reserved, value = struct.unpack_from("<HHi", data, 52 + 8 * k)
        if reserved:
            raise ValueError("reserved parameter bits")
        params.append((key, value))
    if len({k for k, _ in params}) != len(params) or frame_type > 2 or not (1 <= width <= 65535 and 1 <= height <= 65535):
        raise ValueError("bad header fields")
    sections, pos = [], header
    for k in range(s):
        kind, reserved, length, crc = struct.unpack_from("<HHII", data, 52 + 8 * p + 12 * k)
        if reserved:
            raise ValueError("reserved section bits")
        payload = data[pos: pos + length]
        if len(payload) != length:
            raise ValueError("truncated")
        if crc32c(payload) != crc:
            raise ValueError("section CRC32C")
        sections.append((kind, payload))
        pos += length
    if pos != len(data):
        raise ValueError("bytes after the last section")
    return Frame(frame_type, quality, model_id, width, height, params, sections)


def parse_packets(data: bytes) -> list[tuple[int, bytes]]:
    """(flags, payload) of every packet of an undamaged packet stream (an .elv file)."""
    data, pos, out = bytes(data), 0, []
    while pos < len(data):
        sync, version, flags, _stream, _seq, length, crc = struct.unpack_from("<2sBBIQII", data, pos)
        if sync != b"EP" or version != 1 or crc32c(data[pos: pos + 24]) != struct.unpack_from("<I", data, pos + 24)[0]:
            raise ValueError("bad packet header")
        payload = data[pos + 28: pos + 28 + length]
        if len(payload) != length or crc32c(payload) != crc:
            raise ValueError("bad packet payload")
        out.append((flags, payload))
        pos += 28 + length
    return out
