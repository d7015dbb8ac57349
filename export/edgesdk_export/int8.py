"""INT8 generators: explicit quantize/dequantize (QDQ) nodes, calibrated on real photographs.

The generator runs after the parse, so its precision moves pixels, never the bitstream: an
INT8 generator decodes every stream of its model. TensorRT builds the QDQ graph as it is
(explicit quantization; docs/devices.md), ONNX Runtime runs it on the CPU.

Calibration latents are what a decoder really sees: ŷ parsed from streams the bundle's own
fp32 compressor made of random crops of a folder of training photographs (never the
evaluation set). Activations and weights are symmetric int8 (what TensorRT takes), weights
per output channel, activation ranges from the 99.999th percentile of the calibration
values (min/max let rare outliers waste the range: 0.28 dB against 0.18 dB on Kodak).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from edgesdk.errors import InvalidArgumentError
from edgesdk_export.onnx_export import ExportError, Parity, compare

CALIBRATION_CROP = 256
DEFAULT_CALIBRATION_IMAGES = 32
MIN_OUTPUT_PSNR_DB = 30.0  # INT8 generator output against the fp32 graph's, on the parity latent
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm", ".webp")


def calibration_images(folder: str | Path, count: int = DEFAULT_CALIBRATION_IMAGES, crop: int = CALIBRATION_CROP,
                       seed: int = 0) -> list[np.ndarray]:
    """``count`` random ``crop``² crops (HxWx3 uint8) of as many images under ``folder``."""
    from edgesdk.media.images import read_image

    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in _IMAGE_SUFFIXES and p.is_file())
    rng = np.random.default_rng(seed)
    crops = []
    for index in rng.permutation(len(paths)):
        image = read_image(paths[index])
        height, width = image.shape[:2]
        if height < crop or width < crop:
            continue
        top, left = rng.integers(0, height - crop + 1), rng.integers(0, width - crop + 1)
        crops.append(image[top : top + crop, left : left + crop])
        if len(crops) == count:
            return crops
    raise InvalidArgumentError(f"{folder}: found {len(crops)} images of at least {crop}x{crop}, need {count}")


def calibration_latents(codec, images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """ŷ [1, M, h, w] of each image as a decoder parses it (``codec``: a HyperpriorImageCodec)."""
    return [codec.decode_latent(codec.encode(image))[1][None] for image in images]


def quantize_generator(fp32_graph: bytes, latents: Sequence[np.ndarray]) -> bytes:
    """The generator with QDQ nodes: per-channel symmetric int8 weights, symmetric int8
    activations calibrated on ``latents``."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    if not latents:
        raise InvalidArgumentError("INT8 calibration needs at least one latent")

    class Latents(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(latents)

        def get_next(self) -> dict | None:
            latent = next(self._items, None)
            return None if latent is None else {"y_hat": np.asarray(latent, dtype=np.float32)}

    with tempfile.TemporaryDirectory() as work, contextlib.redirect_stdout(io.StringIO()):  # its progress prints
        source, target = Path(work, "generator.fp32.onnx"), Path(work, "generator.int8.onnx")
        source.write_bytes(fp32_graph)
        quantize_static(
            str(source), str(target), Latents(), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True, "CalibTensorRangeSymmetric": True},
        )
        return target.read_bytes()


def measure_int8(fp32_graph: bytes, int8_graph: bytes, latent: np.ndarray) -> Parity:
    """ONNX Runtime: the INT8 generator's output against the fp32 generator's on ``latent``."""
    from edgesdk.runtime.onnxruntime import OnnxRuntimeRunner

    reference, quantized = (OnnxRuntimeRunner(graph).run({"y_hat": latent})["image"] for graph in (fp32_graph, int8_graph))
    return compare([reference], [quantized])


def add_int8_generators(bundle: str | Path, destination: str | Path, calibration_folder: str | Path, *,
                        count: int = DEFAULT_CALIBRATION_IMAGES, min_psnr_db: float = MIN_OUTPUT_PSNR_DB,
                        signing_key: bytes | None = None, overwrite: bool = False,
                        log: Callable[[str], None] = print) -> Path:
    """A copy of ``bundle`` with an INT8 generator per quality level (``qN/generator.int8.onnx``),
    calibrated on crops of ``calibration_folder``. Model ids do not change: INT8 is another
    precision of the same generator. Fails with the numbers when an INT8 generator's output is
    below ``min_psnr_db`` against its fp32 graph on the parity image (the demo's photograph)."""
    from edgesdk.bundle import write_bundle
    from edgesdk.bundle.manifest import quality_level
    from edgesdk.codecs.image.codec import ImageCodec
    from edgesdk.codecs.model import default_sample_image

    codec = ImageCodec(bundle, precision="fp32", backend="onnxruntime")
    model = codec.model
    manifest = json.loads(model.bundle.manifest_bytes)
    files = {name: model.bundle.read(name) for name in model.bundle.names()}
    crops = calibration_images(calibration_folder, count)
    source = Path(calibration_folder).name
    for quality in model.qualities:
        low = codec.codec(quality)
        fp32_graph = model.graph(quality, "generator", "fp32")
        int8_graph = quantize_generator(fp32_graph, calibration_latents(low, crops))
        parity = measure_int8(fp32_graph, int8_graph, calibration_latents(low, [default_sample_image()])[0])
        log(f"  q{quality} generator int8: {len(int8_graph) / 1e6:.2f} MB, max abs error {parity.max_abs_error:.3g}, "
            f"PSNR {parity.psnr_db:.1f} dB vs fp32")
        if parity.psnr_db < min_psnr_db:
            raise ExportError(f"quality {quality}: the INT8 generator's output is {parity.psnr_db:.1f} dB from the "
                              f"fp32 graph's (limit {min_psnr_db:g} dB); calibrate on more varied images")
        entry = quality_level(manifest, quality)
        name = f"q{quality}/generator.int8.onnx"
        files[name] = int8_graph
        fp32_entry = entry["graphs"]["generator"]["fp32"]
        entry["graphs"]["generator"]["int8"] = {
            "file": name, "inputs": fp32_entry["inputs"], "outputs": fp32_entry["outputs"],
            "calibration": {"images": len(crops), "crop": CALIBRATION_CROP, "source": source,
                            "method": "percentile 99.999, symmetric int8, per-channel weights"},
        }
        entry["parity"]["generator"]["int8"] = {**parity.to_dict(), "reference": "onnxruntime fp32 graph"}
    codec.close()
    return write_bundle(destination, manifest, files, signing_key=signing_key, overwrite=overwrite)
