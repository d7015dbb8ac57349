"""Integer networks (format EINT 1, docs/integer-network.md): the bit-exact path from decoded
integers to CDF table indexes and means.

* ``IntNetwork`` — a validated blob run by the C++ core, identically on every platform.
* ``IntNetworkSpec`` — the plain-data network (numpy), its blob (``to_blob``/``from_blob``) and
  the load-time rules (``validate``), for tools that write networks (edgesdk_export).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from edgesdk import _core
from edgesdk.bitstream.entropy import as_int32

MAGIC = b"EINT"
VERSION = 1
KIND_CONV = 1
KIND_DEPTH_TO_SPACE = 2
MAX_CHANNELS = 4096
MAX_OPS = 64
MAX_KERNEL = 7
MIN_BLOCK, MAX_BLOCK = 2, 4
MAX_SHIFT = 62
INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Conv inputs and weights both lie in [-128, 127], so one product is at most 128 * 128.
PRODUCT_BOUND = 128 * 128


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli) of ``data``, as the blob trailer stores it."""
    return int(_core.crc32c(data))


# --- The spec ---------------------------------------------------------------------------------


@dataclass
class IntConv:
    """k×k convolution, stride 1, zero padding k/2, then per-channel requantization and clamp."""

    weight: np.ndarray  # int8 [out, in, k, k]
    bias: np.ndarray  # int32 [out]
    multiplier: np.ndarray  # int32 [out], in [0, 2^31)
    shift: np.ndarray  # uint8 [out], in [0, 62]
    relu: bool = False
    out_min: int = INT32_MIN
    out_max: int = INT32_MAX

    def __post_init__(self) -> None:
        # Kept in their given dtypes: validate() checks the values before anything narrows them.
        self.weight = np.asarray(self.weight)
        self.bias = np.asarray(self.bias)
        self.multiplier = np.asarray(self.multiplier)
        self.shift = np.asarray(self.shift)

    @property
    def out_channels(self) -> int:
        """Output channels of the convolution."""
        return int(self.weight.shape[0])

    @property
    def in_channels(self) -> int:
        """Input channels of the convolution."""
        return int(self.weight.shape[1])

    @property
    def kernel(self) -> int:
        """The kernel's side."""
        return int(self.weight.shape[2])


@dataclass
class DepthToSpace:
    """[C·b², H, W] → [C, H·b, W·b] in PyTorch ``pixel_shuffle`` order."""

    block: int


@dataclass
class IntNetworkSpec:
    """The layers of an integer network and the range of its input, as a bundle stores them."""
    input_channels: int
    input_min: int
    input_max: int
    ops: list[IntConv | DepthToSpace] = field(default_factory=list)

    def output_channels(self) -> int:
        """Channels of the network's output."""
        channels = self.input_channels
        for op in self.ops:
            channels = op.out_channels if isinstance(op, IntConv) else channels // op.block**2
        return channels

    def validate(self) -> None:
        """Raises ValueError, naming the op, for anything the C++ loader refuses."""
        _require(1 <= self.input_channels <= MAX_CHANNELS, "header",
                 f"input channels {self.input_channels} outside 1..{MAX_CHANNELS}")
        _require_int32(self.input_min, "header", "input_min")
        _require_int32(self.input_max, "header", "input_max")
        _require(self.input_min <= self.input_max, "header",
                 f"input clamp [{self.input_min}, {self.input_max}] is empty")
        _require(len(self.ops) <= MAX_OPS, "header", f"{len(self.ops)} ops, at most {MAX_OPS} allowed")
        channels = self.input_channels
        low, high = self.input_min, self.input_max  # provable range of the current tensor
        for index, op in enumerate(self.ops):
            if isinstance(op, IntConv):
                where = f"op {index} (CONV)"
                _validate_conv(op, where, channels, low, high)
                channels = op.out_channels
                # ReLU then clamp: the lowest output is the clamp of 0 (out_max when that is negative).
                low = min(max(op.out_min, 0), op.out_max) if op.relu else op.out_min
                high = op.out_max
            elif isinstance(op, DepthToSpace):
                where = f"op {index} (DEPTH_TO_SPACE)"
                _require(isinstance(op.block, (int, np.integer)) and MIN_BLOCK <= op.block <= MAX_BLOCK, where,
                         f"block {op.block} outside {MIN_BLOCK}..{MAX_BLOCK}")
                _require(channels % (op.block * op.block) == 0, where,
                         f"{channels} channels not divisible by block² = {op.block * op.block}")
                channels //= op.block * op.block
            else:
                raise ValueError(f"op {index}: unknown op type {type(op).__name__}")

    def to_blob(self) -> bytes:
        """The EINT 1 blob (validated first: an invalid network is never written)."""
        self.validate()
        return self._encode()

    def _encode(self) -> bytes:
        # Unchecked serialisation; tests use it to hand invalid blobs to the loaders.
        header = (VERSION, self.input_channels, self.input_min, self.input_max, len(self.ops))
        parts = [MAGIC, struct.pack("<B3xIiiI", *header)]
        for op in self.ops:
            if isinstance(op, IntConv):
                parts.append(struct.pack("<B3xIIBB2xii", KIND_CONV, op.in_channels, op.out_channels, op.kernel,
                                         int(bool(op.relu)), op.out_min, op.out_max))
                parts.append(_pad4(np.ascontiguousarray(op.weight, dtype="<i1").tobytes()))
                parts.append(np.ascontiguousarray(op.bias, dtype="<i4").tobytes())
                parts.append(np.ascontiguousarray(op.multiplier, dtype="<i4").tobytes())
                parts.append(_pad4(np.ascontiguousarray(op.shift, dtype="u1").tobytes()))
            else:
                parts.append(struct.pack("<B3xI", KIND_DEPTH_TO_SPACE, op.block))
        body = b"".join(parts)
        return body + struct.pack("<I", crc32c(body))

    @classmethod
    def from_blob(cls, blob: bytes | bytearray | memoryview) -> IntNetworkSpec:
        """Parses and validates a blob with the loader's rules (strict on reserved bytes and padding)."""
        data = bytes(blob)
        if len(data) < 8 or data[:4] != MAGIC:
            raise ValueError("header: not an EINT blob")
        if data[4] != VERSION:
            raise ValueError(f"header: EINT version {data[4]} is not readable (expected {VERSION})")
        if len(data) < 12:
            raise ValueError("header: truncated")
        (stored,) = struct.unpack_from("<I", data, len(data) - 4)
        if crc32c(data[:-4]) != stored:
            raise ValueError("blob: CRC32C mismatch (damaged or truncated)")
        reader = _Reader(data[:-4], 5)
        reader.zeros(3, "header", "reserved bytes")
        input_channels, input_min, input_max, op_count = reader.unpack("<IiiI", "header")
        # Checked before the loop so a huge count cannot make us parse forever.
        _require(op_count <= MAX_OPS, "header", f"{op_count} ops, at most {MAX_OPS} allowed")
        ops: list[IntConv | DepthToSpace] = []
        for index in range(op_count):
            (kind,) = reader.unpack("<B", f"op {index}")
            if kind == KIND_CONV:
                where = f"op {index} (CONV)"
                reader.zeros(3, where, "reserved bytes")
                in_channels, out_channels, kernel, relu = reader.unpack("<IIBB", where)
                reader.zeros(2, where, "reserved bytes")
                out_min, out_max = reader.unpack("<ii", where)
                _require(relu in (0, 1), where, f"relu flag {relu} is not 0 or 1")
                # Shapes are bounded before any array is read; validate() repeats the rules.
                _require(1 <= out_channels <= MAX_CHANNELS and 1 <= in_channels <= MAX_CHANNELS, where,
                         "channels outside the limits")
                _require(kernel % 2 == 1 and kernel <= MAX_KERNEL, where,
                         f"kernel {kernel} must be odd and in 1..{MAX_KERNEL}")
                count = out_channels * in_channels * kernel * kernel
                weight = reader.array("i1", count, where).reshape(out_channels, in_channels, kernel, kernel)
                reader.zeros(-count % 4, where, "weight padding")
                bias = reader.array("<i4", out_channels, where)
                multiplier = reader.array("<i4", out_channels, where)
                shift = reader.array("u1", out_channels, where)
                reader.zeros(-out_channels % 4, where, "shift padding")
                ops.append(IntConv(weight, bias, multiplier, shift, bool(relu), out_min, out_max))
            elif kind == KIND_DEPTH_TO_SPACE:
                where = f"op {index} (DEPTH_TO_SPACE)"
                reader.zeros(3, where, "reserved bytes")
                (block,) = reader.unpack("<I", where)
                ops.append(DepthToSpace(block))
            else:
                raise ValueError(f"op {index}: unknown op kind {kind}")
        if reader.offset != len(reader.data):
            raise ValueError(f"blob: {len(reader.data) - reader.offset} unexpected bytes after the last op")
        spec = cls(input_channels, input_min, input_max, ops)
        spec.validate()
        return spec


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise ValueError(f"{where}: {message}")


def _require_int32(value: object, where: str, name: str) -> None:
    _require(isinstance(value, (int, np.integer)) and INT32_MIN <= value <= INT32_MAX, where,
             f"{name} {value!r} is not an int32")


def _require_array(array: np.ndarray, shape: tuple[int, ...], low: int, high: int, where: str, name: str) -> None:
    _require(array.dtype.kind in "iu", where, f"{name} must hold integers, not {array.dtype}")
    _require(array.shape == shape, where, f"{name} has shape {array.shape}, expected {shape}")
    if array.size:
        _require(int(array.min()) >= low and int(array.max()) <= high, where,
                 f"{name} values {int(array.min())}..{int(array.max())} outside [{low}, {high}]")


def _validate_conv(op: IntConv, where: str, channels: int, low: int, high: int) -> None:
    _require(op.weight.ndim == 4, where, f"weight must be [out, in, k, k], has shape {op.weight.shape}")
    out_channels, in_channels, kernel, kernel_w = op.weight.shape
    _require(kernel == kernel_w and kernel % 2 == 1 and 1 <= kernel <= MAX_KERNEL, where,
             f"kernel {kernel}×{kernel_w} must be square, odd and in 1..{MAX_KERNEL}")
    _require(1 <= out_channels <= MAX_CHANNELS, where, f"output channels {out_channels} outside 1..{MAX_CHANNELS}")
    _require(in_channels == channels, where, f"expects {in_channels} input channels, gets {channels}")
    _require_array(op.weight, op.weight.shape, INT8_MIN, INT8_MAX, where, "weight")
    _require_array(op.bias, (out_channels,), INT32_MIN, INT32_MAX, where, "bias")
    _require_array(op.multiplier, (out_channels,), 0, INT32_MAX, where, "multiplier")
    _require_array(op.shift, (out_channels,), 0, MAX_SHIFT, where, "shift")
    _require(isinstance(op.relu, (bool, np.bool_)), where, f"relu must be a bool, not {op.relu!r}")
    _require_int32(op.out_min, where, "out_min")
    _require_int32(op.out_max, where, "out_max")
    _require(op.out_min <= op.out_max, where, f"output clamp [{op.out_min}, {op.out_max}] is empty")
    _require(INT8_MIN <= low and high <= INT8_MAX, where, f"input range [{low}, {high}] is not within int8")
    max_bias = int(np.abs(op.bias.astype(np.int64)).max()) if op.bias.size else 0
    bound = in_channels * kernel * kernel * PRODUCT_BOUND + max_bias
    _require(bound <= INT32_MAX, where, f"int32 accumulator could overflow (bound {bound} ≥ 2^31)")


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


class _Reader:
    """Bounds-checked little-endian cursor; every failure names where it happened."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.offset = offset

    def take(self, size: int, where: str) -> bytes:
        if size > len(self.data) - self.offset:
            raise ValueError(f"{where}: truncated")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, fmt: str, where: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), where))

    def array(self, dtype: str, count: int, where: str) -> np.ndarray:
        dtype = np.dtype(dtype)
        return np.frombuffer(self.take(count * dtype.itemsize, where), dtype=dtype).copy()

    def zeros(self, size: int, where: str, what: str) -> None:
        if any(self.take(size, where)):
            raise ValueError(f"{where}: {what} are not zero")


class IntNetwork:
    """A validated EINT blob, ready to run. Immutable; safe to share between threads."""

    def __init__(self, blob: bytes | bytearray | memoryview) -> None:
        self._native = _core.IntNetwork(blob)

    @property
    def input_channels(self) -> int:
        """Channels the network takes."""
        return int(self._native.input_channels)

    def run(self, x: np.ndarray, kernel: str = "auto") -> np.ndarray:
        """Runs on an integer tensor [N, C, H, W] or [C, H, W]; returns int32 of the same rank.
        ``kernel``: "auto" (the fastest this CPU has) or one of :meth:`kernels`, for benchmarks
        and tests that compare them; every kernel gives the same integers."""
        return self._native.run(as_int32("x", x), kernel)

    @staticmethod
    def kernels() -> list[str]:
        """The convolution kernels this build and CPU can run ("auto" first)."""
        return list(_core.IntNetwork.kernels())
