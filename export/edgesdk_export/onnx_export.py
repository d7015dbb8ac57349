"""PyTorch → ONNX: the compressor (g_a, then h_a) and the generator (g_s) as graphs with
dynamic height and width, in fp32 and fp16, checked and measured against PyTorch.

Graph I/O is float32 whatever the precision (fp16 graphs cast inside), so every runner
feeds and reads the same arrays; the integer entropy path never enters a graph.
"""

from __future__ import annotations

import copy
import io
import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from edgesdk.errors import Error
from edgesdk_export import wavelet
from edgesdk_export.models import GDN, CodecConfig, ImageCodecModel, hyper_input

OPSET = 18
PRECISIONS = ("fp32", "fp16")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
MAX_SIDE_BLOCKS = 256  # dynamic axes cover sides up to 256·64 = 16384 pixels

# Export fails when ONNX Runtime strays further from PyTorch fp32 than this (docs/bundle.md).
# The PSNR is over the reference's value range; max_abs over the graph's outputs.
PARITY_BOUNDS = {
    "fp32": {"min_psnr_db": 100.0, "max_abs_error": {"compressor": 1e-2, "generator": 1e-4}},
    "fp16": {"min_psnr_db": 45.0, "max_abs_error": {"compressor": 0.5, "generator": 2e-2}},
}


class ExportError(Error):
    """An exported graph failed a check (ONNX validity or parity with PyTorch)."""


class FrozenGDN(nn.Module):
    """GDN with β and γ computed once: the graph holds constants, not their parametrisation
    (no Pow on weights at run time, and fp16 gets values rounded once from fp32)."""

    def __init__(self, gdn: GDN) -> None:
        super().__init__()
        self.inverse = gdn.inverse
        self.simplified = gdn.simplified
        with torch.no_grad():
            beta = gdn.beta_root.square() + gdn._BETA_MIN
            gamma = gdn.gamma_root.square().view(gdn.channels, gdn.channels, 1, 1)
        self.register_buffer("beta", beta.detach().clone())
        self.register_buffer("gamma", gamma.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.simplified:
            norm = nn.functional.conv2d(x.abs(), self.gamma, self.beta)
        else:
            norm = torch.sqrt(nn.functional.conv2d(x * x, self.gamma, self.beta))
        return x * norm if self.inverse else x / norm


def _frozen(layers: nn.Module) -> nn.Module:
    """The transform with its parametrisations resolved to constants, for export."""
    if isinstance(layers, wavelet.WaveletAnalysis):
        return wavelet.FrozenWaveletAnalysis(layers)
    if isinstance(layers, wavelet.WaveletSynthesis):
        return wavelet.FrozenWaveletSynthesis(layers)
    return nn.Sequential(*(FrozenGDN(m) if isinstance(m, GDN) else copy.deepcopy(m) for m in layers))


class CompressorGraph(nn.Module):
    """image [1, 3, H, W] in [0, 1] → (y, z): the float half of the encoder."""

    input_names = ("image",)
    output_names = ("y", "z")

    def __init__(self, model: ImageCodecModel, precision: str = "fp32") -> None:
        super().__init__()
        self.config = model.config
        self.g_a = _frozen(model.g_a).to(_DTYPES[precision])
        self.h_a = copy.deepcopy(model.h_a).to(_DTYPES[precision])
        self.dtype = _DTYPES[precision]

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.g_a(image.to(self.dtype))
        z = self.h_a(hyper_input(self.config, y))
        return y.float(), z.float()


class GeneratorGraph(nn.Module):
    """ŷ [1, M, h, w] → image [1, 3, 16h, 16w] clamped to [0, 1]."""

    input_names = ("y_hat",)
    output_names = ("image",)

    def __init__(self, model: ImageCodecModel, precision: str = "fp32") -> None:
        super().__init__()
        self.g_s = _frozen(model.g_s).to(_DTYPES[precision])
        self.dtype = _DTYPES[precision]

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:
        return self.g_s(y_hat.to(self.dtype)).float().clamp(0.0, 1.0)


GRAPHS: dict[str, type[CompressorGraph] | type[GeneratorGraph]] = {
    "compressor": CompressorGraph,
    "generator": GeneratorGraph,
}


def graph_module(config: CodecConfig, graph: str) -> nn.Module:
    """An fp32 graph module with this configuration's shapes, to load weights into."""
    return GRAPHS[graph](ImageCodecModel(config), "fp32").eval()


def io_shapes(config: CodecConfig, graph: str) -> tuple[list[dict], list[dict]]:
    """Manifest entries for a graph's inputs and outputs (strings are dynamic axes)."""
    def tensor(name: str, channels: int, scale: int) -> dict:
        suffix = f"/{scale}" if scale > 1 else ""
        return {"name": name, "dtype": "float32", "shape": [1, channels, f"height{suffix}", f"width{suffix}"]}

    if graph == "compressor":
        return [tensor("image", 3, 1)], [tensor("y", config.M, 16), tensor("z", config.N, 64)]
    return [tensor("y_hat", config.M, 16)], [tensor("image", 3, 1)]


def export_graph(model: ImageCodecModel, graph: str, precision: str) -> bytes:
    """The serialized ONNX model of one graph at one precision (opset :data:`OPSET`)."""
    module = GRAPHS[graph](model, precision).eval()
    blocks_h = torch.export.Dim("blocks_h", min=1, max=MAX_SIDE_BLOCKS)
    blocks_w = torch.export.Dim("blocks_w", min=1, max=MAX_SIDE_BLOCKS)
    if graph == "compressor":
        example = torch.rand(1, 3, 128, 192)
        sides = {2: 64 * blocks_h, 3: 64 * blocks_w}
    else:
        example = torch.randn(1, model.config.M, 8, 12)
        sides = {2: 4 * blocks_h, 3: 4 * blocks_w}
    with warnings.catch_warnings(), _quiet_exporter():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, (example,), dynamo=True, opset_version=OPSET, verbose=False, optimize=False,
            input_names=list(module.input_names), output_names=list(module.output_names),
            dynamic_shapes={module.input_names[0]: sides},
        )
    proto = program.model_proto
    _name_dynamic_axes(proto, *io_shapes(model.config, graph))
    flush_subnormal_weights(proto)
    strip_debug_info(proto)
    proto.producer_name = "edgesdk"
    return proto.SerializeToString()


def strip_debug_info(proto) -> None:
    """Removes the exporter's per-node stack traces and name scopes, in place: they hold the
    exporting machine's source paths (bundles would differ by checkout folder) and made up
    most of a small graph's bytes (a wavelet generator: 1.8 MB, 0.2 MB of it weights)."""
    for node in proto.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""


def flush_subnormal_weights(proto) -> int:
    """Sets float32 initializers below the smallest normal float to zero, in place; returns
    how many. Training leaves a few hundred such weights; on x86 CPUs every product with one
    takes a slow microcode path, and they made a shipped generator 1.5-3.6x slower on ONNX
    Runtime (docs/decisions.md). Their contribution is below 1e-38."""
    from onnx import TensorProto, numpy_helper

    flushed = 0
    for tensor in proto.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(tensor)
        subnormal = (values != 0) & (np.abs(values) < np.finfo(np.float32).tiny)
        if subnormal.any():
            flushed += int(subnormal.sum())
            tensor.CopyFrom(numpy_helper.from_array(np.where(subnormal, np.float32(0), values), tensor.name))
    return flushed


class _quiet_exporter:
    """Silences the exporter's progress lines and warnings about absent torchvision ops."""

    def __enter__(self) -> None:
        self._saved = [(name, logging.getLogger(name).level) for name in ("torch.onnx", "torch.export")]
        for name, _ in self._saved:
            logging.getLogger(name).setLevel(logging.ERROR)
        self._stdout = io.StringIO()
        import contextlib

        self._redirect = contextlib.redirect_stdout(self._stdout)
        self._redirect.__enter__()

    def __exit__(self, *exc) -> None:
        self._redirect.__exit__(*exc)
        for name, level in self._saved:
            logging.getLogger(name).setLevel(level)


def _name_dynamic_axes(proto, inputs: list[dict], outputs: list[dict]) -> None:
    """Replaces the exporter's symbolic names (``64*s3``) with the manifest's (``height``)."""
    for values, described in ((proto.graph.input, inputs), (proto.graph.output, outputs)):
        for value, entry in zip(values, described, strict=True):
            for dim, size in zip(value.type.tensor_type.shape.dim, entry["shape"], strict=True):
                if isinstance(size, str):
                    dim.dim_param = size


def check_graph(data: bytes) -> None:
    """onnx.checker (full) and strict shape inference; raises :class:`ExportError`."""
    import onnx

    try:
        proto = onnx.load_from_string(data)
        onnx.checker.check_model(proto, full_check=True)
        onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except Exception as error:  # onnx raises several unrelated classes
        raise ExportError(f"exported graph is not valid ONNX: {error}") from error


def onnxruntime_session(data: bytes, threads: int | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # fp16 graphs warn about constant folding on the CPU
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class Parity:
    max_abs_error: float
    psnr_db: float

    def to_dict(self) -> dict:
        return {"max_abs_error": float(self.max_abs_error),
                "psnr_db": float(self.psnr_db) if math.isfinite(self.psnr_db) else 999.0}


def compare(reference: list[np.ndarray], actual: list[np.ndarray]) -> Parity:
    """Worst max-abs error and PSNR (over each reference's value range) across outputs."""
    worst_abs, worst_psnr = 0.0, math.inf
    for ref, out in zip(reference, actual, strict=True):
        error = np.abs(out.astype(np.float64) - ref.astype(np.float64))
        peak = float(ref.max() - ref.min()) or 1.0
        mse = float(np.mean(error**2))
        worst_abs = max(worst_abs, float(error.max()))
        worst_psnr = min(worst_psnr, math.inf if mse == 0 else 10 * math.log10(peak**2 / mse))
    return Parity(worst_abs, worst_psnr)


def measure_parity(model: ImageCodecModel, graph: str, precision: str, data: bytes,
                   example: np.ndarray) -> Parity:
    """ONNX Runtime on ``data`` against the PyTorch fp32 graph on the same input."""
    reference_module = GRAPHS[graph](model, "fp32").eval()
    with torch.no_grad():
        reference = reference_module(torch.from_numpy(example))
    reference = [t.numpy() for t in (reference if isinstance(reference, tuple) else (reference,))]
    session = onnxruntime_session(data)
    actual = session.run(None, {session.get_inputs()[0].name: example})
    return compare(reference, actual)


def check_parity(graph: str, precision: str, parity: Parity) -> None:
    bounds = PARITY_BOUNDS[precision]
    max_abs = bounds["max_abs_error"][graph]
    if parity.max_abs_error > max_abs or parity.psnr_db < bounds["min_psnr_db"]:
        raise ExportError(
            f"{graph} {precision}: ONNX Runtime differs from PyTorch beyond the bounds "
            f"(max abs error {parity.max_abs_error:.3g}, limit {max_abs:g}; PSNR {parity.psnr_db:.1f} dB, "
            f"limit {bounds['min_psnr_db']:g} dB)"
        )


def load_graph_weights(module: nn.Module, data: bytes) -> nn.Module:
    """Fills an fp32 graph module (see :func:`graph_module`) from an fp32 ONNX graph's
    initializers, matched by name: the bundle's ONNX is the one copy of the weights."""
    import onnx
    from onnx import numpy_helper

    initializers = {i.name: i for i in onnx.load_from_string(data).graph.initializer}
    state = {}
    for name, tensor in module.state_dict().items():
        if name not in initializers:
            raise ExportError(f"the ONNX graph has no weight named {name!r}; was it exported by edgesdk?")
        value = torch.from_numpy(numpy_helper.to_array(initializers[name]).copy())
        if value.shape != tensor.shape:
            raise ExportError(f"weight {name!r} is {tuple(value.shape)} in the graph, expected {tuple(tensor.shape)}")
        state[name] = value.to(tensor.dtype)
    module.load_state_dict(state)
    return module.eval()

