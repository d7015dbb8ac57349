"""How TensorRT 10 or 11 builds a precision: which bundle graph, strong typing or builder flags,
DLA, and the input shape ranges; pure decisions, testable without TensorRT (docs/devices.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping


from edgesdk.runtime.devices import ShapeProfile
from edgesdk.runtime.graphs import DLA_PRECISIONS, PRECISIONS, QDQ_PRECISIONS
from edgesdk.errors import CorruptedError, DependencyError, InvalidArgumentError
from edgesdk.runtime.tensorrt.deps import INSTALL_HINT



_FLAG_FOR_PRECISION = {"fp16": "FP16", "bf16": "BF16", "int8": "INT8", "fp8": "FP8"}


_AXIS = re.compile(r"(height|width)(?:/([1-9][0-9]*))?")


# --- Planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildPlan:
    """How TensorRT builds one engine."""

    precision: str  # what was asked for
    graph_precision: str  # which of the bundle's graphs is parsed
    strongly_typed: bool  # tensor types come from the graph
    builder_flags: tuple[str, ...]  # names of tensorrt.BuilderFlag members to set
    dla_core: int | None
    allow_tf32: bool  # fp32 requests keep true fp32 math

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON (recorded beside the engine)."""
        return {"precision": self.precision, "graph_precision": self.graph_precision,
                "strongly_typed": self.strongly_typed, "builder_flags": list(self.builder_flags),
                "dla_core": self.dla_core, "allow_tf32": self.allow_tf32}


def plan_build(tensorrt_major: int, precision: str, graph_precisions: Iterable[str],
               dla_core: int | None = None, dla_cores: int = 0) -> BuildPlan:
    """Decide how to build ``precision`` from a bundle holding graphs at ``graph_precisions``.

    TensorRT 11 has no precision flags: the network is strongly typed and the precision is the
    graph's, so fp16 parses the bundle's fp16 graph. TensorRT 10 does the same when the bundle
    has the graph (one precision story on both majors), and falls back to a precision flag over
    the fp32 graph when it does not. DLA on TensorRT 10 needs weak typing (fp32 graph + FP16
    flag) and always gets GPU fallback. int8 and fp8 need a Q/DQ graph on both majors.
    """
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if tensorrt_major < 10:
        raise DependencyError(f"TensorRT {tensorrt_major} is too old; edgesdk builds with TensorRT 10 or newer "
                              f"({INSTALL_HINT})")
    available = sorted(set(graph_precisions))
    if dla_core is not None:
        if dla_cores == 0:
            raise InvalidArgumentError("this device profile has no DLA cores; build for the GPU (no DLA core)")
        if not 0 <= dla_core < dla_cores:
            raise InvalidArgumentError(f"DLA core {dla_core} does not exist; this device has cores 0..{dla_cores - 1}")
        if precision not in DLA_PRECISIONS:
            raise InvalidArgumentError(f"DLA runs {' or '.join(DLA_PRECISIONS)}, not {precision}")
    typed = precision in available
    if precision in QDQ_PRECISIONS and not typed:
        raise InvalidArgumentError(
            f"{precision} needs a graph quantized with explicit Q/DQ nodes; this bundle has {available} graphs. "
            "Use fp16, or export the bundle with a quantized graph")
    fallback = ("GPU_FALLBACK",) if dla_core is not None else ()
    allow_tf32 = precision != "fp32"
    if tensorrt_major >= 11:
        if not typed:
            raise InvalidArgumentError(
                f"TensorRT {tensorrt_major} takes precision from the graph (strongly typed), and this bundle has "
                f"no {precision} graph (it has {available}); pick one of those or re-export the bundle with {precision}")
        return BuildPlan(precision, precision, True, fallback, dla_core, allow_tf32)
    if dla_core is not None:
        graph = "fp32" if precision == "fp16" else precision
        flags = ("FP16",) if precision == "fp16" else ("INT8", "FP16")
        plan = BuildPlan(precision, graph, False, flags + fallback, dla_core, allow_tf32)
    elif typed:
        plan = BuildPlan(precision, precision, True, (), None, allow_tf32)
    else:
        flags = (_FLAG_FOR_PRECISION[precision],) if precision != "fp32" else ()
        plan = BuildPlan(precision, "fp32", False, flags, None, allow_tf32)
    if plan.graph_precision not in available:
        raise InvalidArgumentError(f"this bundle has no {plan.graph_precision} graph (it has {available})")
    return plan


def axis_size(dim: Any, height: int, width: int) -> int:
    """One dimension of a manifest shape: an integer, or ``height``/``width`` optionally ``/n``."""
    if isinstance(dim, int) and not isinstance(dim, bool) and dim > 0:
        return dim
    match = _AXIS.fullmatch(dim) if isinstance(dim, str) else None
    if match is None:
        raise InvalidArgumentError(f"unsupported dimension {dim!r} in the manifest (expected e.g. 'height/16')")
    side = height if match[1] == "height" else width
    divisor = int(match[2] or 1)
    if side % divisor:
        raise InvalidArgumentError(f"{match[1]} {side} is not divisible by {divisor} ({dim})")
    return side // divisor


def input_shape_ranges(inputs: Iterable[Mapping[str, Any]], shape_range: ShapeProfile
                       ) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """(min, opt, max) tensor shapes of each graph input for an image size range."""
    ranges = {}
    for spec in inputs:
        try:
            name, shape = str(spec["name"]), list(spec["shape"])
        except (KeyError, TypeError) as error:
            raise CorruptedError(f"manifest input entry {spec!r} lacks a name or shape") from error
        ranges[name] = tuple(tuple(axis_size(dim, *size) for dim in shape)
                             for size in (shape_range.min, shape_range.opt, shape_range.max))
    return ranges  # type: ignore[return-value]
