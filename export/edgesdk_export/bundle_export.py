"""Trained checkpoints → a verified bundle (docs/bundle.md): ONNX compressor and generator per
quality and precision, the integer entropy data, and a manifest that pins them all.

Every graph is checked (onnx.checker, strict shape inference) and measured with ONNX Runtime
against PyTorch on a real image before it is written; a graph outside
``onnx_export.PARITY_BOUNDS`` stops the export with the numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from edgesdk import __version__
from edgesdk.errors import InvalidArgumentError
from edgesdk.bundle.manifest import file_table, model_id_of
from edgesdk.codecs.model import MODEL_FAMILY, default_sample_image
from edgesdk_export import onnx_export
from edgesdk_export.codec import entropy_model
from edgesdk_export.models import ImageCodecModel, macs_per_pixel, pad_to_multiple
from edgesdk_export.train import load_model

DEFAULT_SHAPE_RANGE = {"min": [64, 64], "opt": [512, 768], "max": [2176, 3840]}


def quality_files(model: ImageCodecModel, quality: int, precisions: Sequence[str], parity_input: np.ndarray,
                  log: Callable[[str], None]) -> tuple[dict, dict[str, bytes]]:
    """Manifest entry and files of one quality level."""
    prefix = f"q{quality}/"
    integer = entropy_model(model)
    files = {
        prefix + "hyper_tables.ecdf": integer.hyper_tables.to_bytes(),
        prefix + "hyper_synthesis.eint": model.h_s.to_integer().to_blob(),
        prefix + "latent_tables.ecdf": integer.latent_tables.to_bytes(),
    }
    with torch.no_grad():
        y = onnx_export.CompressorGraph(model).eval()(torch.from_numpy(parity_input))[0]
    parity_inputs = {"compressor": parity_input, "generator": np.rint(y.numpy())}
    graphs: dict[str, dict] = {}
    parity: dict[str, dict] = {}
    for graph in onnx_export.GRAPHS:
        inputs, outputs = onnx_export.io_shapes(model.config, graph)
        for precision in precisions:
            data = onnx_export.export_graph(model, graph, precision)
            onnx_export.check_graph(data)
            measured = onnx_export.measure_parity(model, graph, precision, data, parity_inputs[graph])
            onnx_export.check_parity(graph, precision, measured)
            log(f"  q{quality} {graph} {precision}: {len(data) / 1e6:.2f} MB, max abs error "
                f"{measured.max_abs_error:.2g}, PSNR {measured.psnr_db:.1f} dB vs PyTorch fp32")
            name = f"{prefix}{graph}.{precision}.onnx"
            files[name] = data
            graphs.setdefault(graph, {})[precision] = {"file": name, "inputs": inputs, "outputs": outputs}
            parity.setdefault(graph, {})[precision] = measured.to_dict()
    entry = {
        "graphs": graphs,
        "integer_data": {
            "hyper_tables": prefix + "hyper_tables.ecdf",
            "hyper_synthesis": prefix + "hyper_synthesis.eint",
            "latent_tables": prefix + "latent_tables.ecdf",
            "latent_channels": model.config.M,
            "mean_fraction_bits": model.config.mean_fraction_bits if model.config.predict_means else None,
        },
        "parity": parity,
    }
    return entry, files


def level_references(entry: dict) -> list[tuple[dict, str]]:
    """Every (holder, key) of a quality entry whose value names a bundle file."""
    holders = [(variant, "file") for precisions in entry["graphs"].values() for variant in precisions.values()]
    holders += [(entry["integer_data"], key) for key in ("hyper_tables", "hyper_synthesis", "latent_tables")]
    return holders


def share_identical_files(qualities: dict[str, dict], files: dict[str, bytes]) -> dict[str, bytes]:
    """Stores each distinct file once: a level whose file has the same bytes as one already
    kept refers to that one (multi-rate models share their integer data and entropy tables
    across levels; the manifest format always allowed any listed name). Returns the files kept;
    rewrites the references in ``qualities`` in place."""
    kept: dict[str, bytes] = {}
    canonical: dict[bytes, str] = {}
    renamed: dict[str, str] = {}
    for name in sorted(files):
        digest = hashlib.sha256(files[name]).digest()
        renamed[name] = canonical.setdefault(digest, name)
        if renamed[name] == name:
            kept[name] = files[name]
    for entry in qualities.values():
        for holder, key in level_references(entry):
            holder[key] = renamed[holder[key]]
    return kept


def check_graphs_self_contained(files: dict[str, bytes]) -> None:
    """Refuses, before anything is written, what the runtime refuses at load (docs/security.md):
    graphs with external data (weights in a file the manifest does not pin) or operators
    outside the default ONNX domain."""
    from edgesdk.bundle.graph_check import check_graph

    for name, data in sorted(files.items()):
        if name.endswith(".onnx"):
            check_graph(name, data)


def export_bundle(checkpoints: Sequence[str | Path], destination: str | Path, *,
                  precisions: Sequence[str] = onnx_export.PRECISIONS, parity_image: np.ndarray | None = None,
                  signing_key: bytes | None = None, overwrite: bool = False,
                  log: Callable[[str], None] = print) -> Path:
    """Writes a bundle with one quality level per checkpoint (all of one configuration)."""
    from edgesdk.bundle import write_bundle

    unknown = set(precisions) - set(onnx_export.PRECISIONS)
    if unknown or not precisions:
        raise InvalidArgumentError(f"precisions must be among {onnx_export.PRECISIONS}, got {list(precisions)}")
    image = default_sample_image() if parity_image is None else parity_image
    parity_input, _ = pad_to_multiple(torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0))
    qualities: dict[str, dict] = {}
    files: dict[str, bytes] = {}
    config = None
    for path in checkpoints:
        model, state = load_model(path)
        model.eval()
        if config is None:
            config = model.config
        elif model.config != config:
            raise InvalidArgumentError(f"{path} has another model configuration than the first checkpoint")
        # A multi-rate checkpoint holds several quality levels (one per rate level).
        levels = state["quality"] if isinstance(state["quality"], list) else [state["quality"]]
        lambdas = state["lmbda"] if isinstance(state["lmbda"], list) else [state["lmbda"]]
        for rate_level, (quality, lmbda) in enumerate(zip(levels, lambdas)):
            quality = int(quality)
            if str(quality) in qualities:
                raise InvalidArgumentError(f"two checkpoints are quality {quality}")
            model.select_rate_level(rate_level)
            log(f"quality {quality} from {path} (step {state['step']}, λ={lmbda})")
            entry, quality_data = quality_files(model, quality, precisions, parity_input.numpy(), log)
            entry["lambda"] = float(lmbda)
            entry["training"] = {"steps": int(state["step"]), "seconds": round(float(state["elapsed_s"]), 1)}
            qualities[str(quality)] = entry
            files.update(quality_data)
    if config is None:
        raise InvalidArgumentError("no checkpoints given")
    files = share_identical_files(qualities, files)
    identity = {"model": {"config": config.to_dict()}, "files": file_table(files), "qualities": qualities}
    for quality, entry in qualities.items():
        entry["model_id"] = model_id_of(identity, int(quality))
    manifest = {
        "created_by": f"edgesdk {__version__}",
        "model": {
            "family": MODEL_FAMILY,
            "preset": config.name,
            "config": config.to_dict(),
            "macs_per_pixel": {"compressor": round(macs_per_pixel(config, "g_a") + macs_per_pixel(config, "h_a"), 1),
                               "generator": round(macs_per_pixel(config, "g_s"), 1),
                               "hyper_synthesis": round(macs_per_pixel(config, "h_s"), 1)},
        },
        "onnx_opset": onnx_export.OPSET,
        "precisions": list(precisions),
        "shape_range": DEFAULT_SHAPE_RANGE,
        "qualities": dict(sorted(qualities.items(), key=lambda item: int(item[0]))),
    }
    check_graphs_self_contained(files)
    return write_bundle(destination, manifest, files, signing_key=signing_key, overwrite=overwrite)
