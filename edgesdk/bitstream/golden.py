"""Golden vectors: committed bitstreams and the values they decode to.

Every platform must reproduce them bit for bit: the C++ tests check them natively and
under qemu for aarch64, ``edgesdk selfcheck`` checks them through the Python API.
File format (``.egv``, read by cpp/tests/golden_reader.cpp as well): magic ``EGV1``,
u32 array count, then per array: u16 name length, name (ASCII), u8 dtype (1 = uint8,
2 = int32, 3 = float64), u64 element count, little-endian data.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

import numpy as np

from edgesdk.bitstream import container, entropy, packets
from edgesdk.errors import CorruptedError

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "golden"
_MAGIC = b"EGV1"
_DTYPES = {1: np.dtype("<u1"), 2: np.dtype("<i4"), 3: np.dtype("<f8")}
_CODES = {v: k for k, v in _DTYPES.items()}
_MAX_ARRAY_BYTES = 1 << 24


def write_vector(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Writes named integer arrays to an ``.egv`` golden-vector file."""
    out = bytearray(_MAGIC + struct.pack("<I", len(arrays)))
    for name, array in arrays.items():
        array = np.ascontiguousarray(array).ravel()
        dtype = array.dtype.newbyteorder("<")
        encoded = name.encode("ascii")
        out += struct.pack("<H", len(encoded)) + encoded + struct.pack("<BQ", _CODES[dtype], array.size)
        out += array.astype(dtype).tobytes()
    path.write_bytes(bytes(out))


def read_vector(path: Path) -> dict[str, np.ndarray]:
    """The named arrays of an ``.egv`` golden-vector file."""
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise CorruptedError(f"{path}: not a golden vector file")
    (count,), pos, arrays = struct.unpack_from("<I", data, 4), 8, {}
    for _ in range(count):
        (name_length,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_length].decode("ascii")
        pos += 2 + name_length
        code, size = struct.unpack_from("<BQ", data, pos)
        pos += 9
        dtype = _DTYPES[code]
        if size * dtype.itemsize > min(_MAX_ARRAY_BYTES, len(data) - pos):
            raise CorruptedError(f"{path}: array {name!r} runs past the end of the file")
        arrays[name] = np.frombuffer(data, dtype=dtype, count=size, offset=pos).copy()
        pos += size * dtype.itemsize
    return arrays


def _as_u8(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


def _rans_vector(tables: entropy.CdfTables, values: np.ndarray, indexes: np.ndarray, **extra) -> dict:
    return {
        "cdf_values": np.concatenate([tables.cdfs[t, :n] for t, n in enumerate(tables.cdf_lengths)]),
        "cdf_lengths": tables.cdf_lengths,
        "offsets": tables.offsets,
        "indexes": indexes,
        "values": values,
        "stream": _as_u8(tables.encode(values, indexes)),
        **extra,
    }


def _vectors() -> dict[str, dict[str, np.ndarray]]:
    """The golden cases. Inputs come from a seeded generator; outputs from the coder."""
    rng = np.random.default_rng(20261122)
    int32 = np.iinfo(np.int32)

    support = np.arange(-16, 17)
    laplace = np.exp(-np.abs(support) / 3.0)
    fixed = entropy.CdfTables([entropy.pmf_to_quantized_cdf(laplace / laplace.sum(), 1e-6)], offsets=[-16])
    values = np.round(rng.laplace(0, 3.0, 5000)).astype(np.int32)
    values[::97] = rng.integers(-1000, 1000, values[::97].size)  # escapes
    fixed_vector = _rans_vector(fixed, values, np.zeros(values.size, np.int32))

    scales = entropy.scale_table(0.11, 256.0, 64)
    tail_mass = 1e-9
    gaussian = entropy.CdfTables.gaussian(scales, tail_mass)
    indexes = rng.integers(0, 64, 20000).astype(np.int32)
    values = np.round(rng.normal(0, scales[indexes])).astype(np.int32)
    values[:6] = [int32.max, int32.min, int32.max - 1, int32.min + 1, 1 << 20, -(1 << 20)]
    gaussian_vector = _rans_vector(
        gaussian, values, indexes, scales=scales, tail_mass=np.array([tail_mass])
    )

    tiny_vector = _rans_vector(fixed, np.array([3, -40, 0], np.int32), np.zeros(3, np.int32))

    frame = container.Frame(
        width=768,
        height=512,
        frame_type=container.FrameType.P,
        quality=3,
        model_id=bytes(range(32)),
        parameters={container.Parameter.LATENT_CHANNELS: 192, container.Parameter.GOP_INDEX: -1},
        sections=(
            container.Section(container.SectionKind.HYPER_LATENT, tiny_vector["stream"].tobytes()),
            container.Section(container.SectionKind.LATENT, fixed_vector["stream"].tobytes()[:300]),
        ),
    )
    frame_bytes = frame.to_bytes()
    writer = packets.PacketWriter(stream_id=7)
    packet_stream = writer.write(frame_bytes, keyframe=True) + writer.write(b"second") + writer.close()
    return {
        "rans_fixed": fixed_vector,
        "rans_gaussian": gaussian_vector,
        "rans_tiny": tiny_vector,
        "frame": {"frame": _as_u8(frame_bytes)},
        "packets": {"packets": _as_u8(packet_stream)},
    }


def generate(directory: Path = GOLDEN_DIR) -> list[Path]:
    """(Re)writes the golden files. Only for a deliberate format change: bump the version."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, arrays in _vectors().items():
        path = directory / f"{name}.egv"
        write_vector(path, arrays)
        paths.append(path)
    return paths


def verify(directory: Path = GOLDEN_DIR) -> list[str]:
    """Checks every golden file against this build; returns one line per check, raises on mismatch."""
    report = []
    for path in sorted(directory.glob("rans_*.egv")):
        v = read_vector(path)
        rows = np.split(v["cdf_values"], np.cumsum(v["cdf_lengths"])[:-1])
        tables = entropy.CdfTables(rows, offsets=v["offsets"])
        if "scales" in v:
            rebuilt = entropy.CdfTables.gaussian(v["scales"], float(v["tail_mass"][0]))
            _require(np.array_equal(rebuilt.cdfs, tables.cdfs), path, "Gaussian tables rebuilt differently")
            _require(np.array_equal(rebuilt.offsets, tables.offsets), path, "Gaussian offsets differ")
        stream = v["stream"].tobytes()
        _require(tables.encode(v["values"], v["indexes"]) == stream, path, "encoder output differs")
        _require(np.array_equal(tables.decode(stream, v["indexes"]), v["values"]), path, "decoded values differ")
        report.append(f"{path.name}: {v['values'].size} values, {len(stream)} bytes: bit-exact")
    frame_bytes = read_vector(directory / "frame.egv")["frame"].tobytes()
    parsed = container.Frame.parse(frame_bytes)
    _require(parsed.to_bytes() == frame_bytes, directory / "frame.egv", "frame rewrite differs")
    report.append(f"frame.egv: {len(parsed.sections)} sections, {len(frame_bytes)} bytes: parsed and rewritten exactly")
    packet_bytes = read_vector(directory / "packets.egv")["packets"].tobytes()
    got = packets.PacketReader().feed(packet_bytes)
    _require(b"".join(p.to_bytes() for p in got) == packet_bytes, directory / "packets.egv", "packets differ")
    _require(container.Frame.parse(got[0].payload) == parsed, directory / "packets.egv", "framed payload differs")
    report.append(f"packets.egv: {len(got)} packets: parsed and rewritten exactly")
    return report


def _require(condition: bool, path: Path, what: str) -> None:
    if not condition:
        raise CorruptedError(f"golden vector {path.name}: {what} on this platform")


def main(argv: list[str] | None = None) -> int:
    """``python -m edgesdk.bitstream.golden``: verifies (or with --generate, rewrites) the golden vectors."""
    parser = argparse.ArgumentParser(description="Generate or verify edgesdk golden vectors")
    parser.add_argument("--generate", action="store_true", help="rewrite the committed golden files")
    parser.add_argument("--dir", type=Path, default=GOLDEN_DIR)
    args = parser.parse_args(argv)
    if args.generate:
        for path in generate(args.dir):
            print(f"wrote {path}")
    for line in verify(args.dir):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
