"""Image coding with a hyperprior model: float transforms from any backend around the
integer entropy path (edgesdk.codecs.image.entropy_model), in a self-describing frame (docs/bitstream.md).

The transforms are plain callables, so the compressor and the generator can run on
different backends, precisions or machines:

* ``analyze(x)``: x float32 [1, 3, H, W] in [0, 1] (H, W multiples of 64) → (y [1, M, H/16, W/16],
  z [1, N, H/64, W/64]), floats;
* ``synthesize(y_hat)``: y_hat float32 [1, M, h, w] → image float [1, 3, 16h, 16w] (about [0, 1]).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from edgesdk.runtime.backends import GraphRunner, open_runner, plan_graph
from edgesdk.runtime.outputs import check_compressor_outputs, check_generator_output
from edgesdk.bitstream.container import Frame, FrameType, Parameter, Section, SectionKind
from edgesdk.errors import CorruptedError, InvalidArgumentError
from edgesdk.limits import Limits, resolve_limits
from edgesdk.shapes import PAD_MULTIPLE, padded_size
from edgesdk.codecs.image.entropy_model import HyperpriorEntropyModel
from edgesdk.codecs.image.tiles import (  # noqa: F401 - re-exported: the codec's public helpers
    LATENT_DOWNSAMPLING, TILE_HALO, Analyze, Synthesize, _runs_whole, tiled_analyze, tiled_synthesize, to_pixels,
    to_tensor)
from edgesdk.codecs.image.roi import DEFAULT_STEPS, cell_mask, quant_map, region_mask
from edgesdk.codecs.image.refine import RefineTask, check_steps, open_refiner, refiner_factory
from edgesdk.codecs.model import CodecModel, load_image, shipped_model, shipped_name


@dataclass
class HyperpriorImageCodec:
    """Encodes HxWx3 uint8 images to frames and back with one model at one quality."""

    entropy_model: HyperpriorEntropyModel
    analyze: Analyze | None = None  # needed to encode
    synthesize: Synthesize | None = None  # needed to decode
    quality: int = 0
    model_id: bytes = bytes(32)

    tile_size: int | None = 1024  # pixels; images above (tile_size + 128)² pixels run tile by tile
    limits: Limits = Limits()  # what a frame may declare (checked before decoding allocates)
    # Encode-time refinement of y (edgesdk.codecs.image.refine): None codes the compressor's y.
    refiner: Callable[[RefineTask], np.ndarray] | None = None

    def encode(self, image: np.ndarray, roi=None, roi_steps: tuple[float, float] = DEFAULT_STEPS) -> bytes:
        """One frame (bytes) for an HxWx3 uint8 image. ``roi``: a region of interest (an HxW
        bool mask or rectangles (x, y, w, h)) whose latent cells are quantized with step
        ``roi_steps[0]`` and the others with ``roi_steps[1]`` (docs/roi.md); None: uniform."""
        header, y, z = self.analyze_image(image)
        shown = shown_cells(header.height, header.width)
        cells = None if roi is None else cell_mask(region_mask(roi, header.height, header.width), y.shape[-2:])
        if cells is None or not cells.any():  # no region (or an empty one): uniform
            hyper_data, latent_data = self.entropy_model.encode(y, z, shown)
            latent_section = Section(SectionKind.LATENT, latent_data)
        else:
            qmap = quant_map(cells, roi_steps, self.entropy_model.latent_tables)
            hyper_data, latent_data = self.entropy_model.encode_roi(y, z, qmap, shown)
            latent_section = Section(SectionKind.ROI_LATENT, latent_data)
        sections = (Section(SectionKind.HYPER_LATENT, hyper_data), latent_section)
        return Frame(width=header.width, height=header.height, frame_type=FrameType.KEY, quality=header.quality,
                     model_id=header.model_id, parameters=header.parameters, sections=sections).to_bytes()

    def analyze_image(self, image: np.ndarray) -> tuple[Frame, np.ndarray, np.ndarray]:
        """(the frame's header without sections, y, z as floats) of an HxWx3 uint8 image: the
        compressor (and refinement) before entropy coding; ``entropy_model.quantize(y, z)``
        gives the integers a decoder would parse."""
        if self.analyze is None:
            raise InvalidArgumentError("this codec has no compressor (analyze) and cannot encode")
        pixels = check_image(image)
        height, width = pixels.shape[:2]
        padded = pad_to_grid(pixels)
        y, z = tiled_analyze(self.analyze, padded, self.tile(), self.limits)
        if self.refiner is not None:
            y = self.refine(padded, height, width, y, z)
        parameters = {
            Parameter.LATENT_CHANNELS: self.entropy_model.latent_channels,
            Parameter.HYPER_CHANNELS: self.entropy_model.hyper_channels,
            Parameter.DOWNSAMPLING: LATENT_DOWNSAMPLING,
            Parameter.PADDED_WIDTH: padded.shape[1],
            Parameter.PADDED_HEIGHT: padded.shape[0],
        }
        if is_monochrome(pixels):
            parameters[Parameter.MONOCHROME] = 1
        return Frame(width=width, height=height, frame_type=FrameType.KEY, quality=self.quality,
                     model_id=self.model_id, parameters=parameters, sections=()), y, z

    def refine(self, padded: np.ndarray, height: int, width: int, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """y after ``refiner``, with ẑ (so every table index and mean) as the compressor gave it.
        Refinement runs the generator on the whole image: one larger than a tile with its halo
        is coded unrefined, with a warning (its gradients would need gigabytes)."""
        if not _runs_whole(padded.shape[0], padded.shape[1], self.tile()):
            warnings.warn(f"a {width}x{height} image is larger than one tile ({self.tile()} + {TILE_HALO} "
                          f"pixels square): coded without refinement", stacklevel=3)
            return y
        parameters = self.entropy_model.parameters(np.rint(z).astype(np.int32))
        refined = np.asarray(self.refiner(RefineTask(padded, height, width, y, parameters)), np.float32)
        if refined.shape != y.shape or not np.isfinite(refined).all():
            raise InvalidArgumentError(f"the refiner returned {refined.shape} (finite: {np.isfinite(refined).all()}) "
                                       f"for a latent of {y.shape}")
        return refined

    def decode(self, data: bytes | bytearray | memoryview) -> np.ndarray:
        """The HxWx3 uint8 image of a frame."""
        return self.decode_with_latent(data)[0]

    def decode_with_latent(self, data: bytes | bytearray | memoryview) -> tuple[np.ndarray, np.ndarray]:
        """(HxWx3 uint8 image, ŷ [M, h, w] float32 it was synthesised from) of a frame."""
        if self.synthesize is None:
            raise InvalidArgumentError("this codec has no generator (synthesize) and cannot decode")
        frame, y_hat = self.decode_latent(data)
        image = tiled_synthesize(self.synthesize, y_hat, self.tile(), self.limits)[: frame.height, : frame.width]
        if frame.parameters.get(Parameter.MONOCHROME) == 1:
            image = to_grey(image)
        return image, y_hat

    def tile(self) -> int | None:
        """The tile side the transforms run at (None: whole images); checks ``tile_size``."""
        if self.tile_size is not None and (self.tile_size < PAD_MULTIPLE or self.tile_size % PAD_MULTIPLE):
            raise InvalidArgumentError(f"tile_size must be a positive multiple of {PAD_MULTIPLE}, not {self.tile_size}")
        return self.tile_size

    def decode_latent(self, data: bytes | bytearray | memoryview) -> tuple[Frame, np.ndarray]:
        """Parses a frame down to ŷ [M, h, w] without running the generator."""
        frame = Frame.parse(data)
        # Before anything proportional to the declared size is allocated (a 430 KB frame may
        # declare 16384x16384), and only frames made for this decoder: an image keyframe of
        # this model at this quality (video P and B frames go to a VideoDecoder).
        self.limits.check_image(frame.width, frame.height, "frame")
        if frame.frame_type != FrameType.KEY:
            raise CorruptedError(f"a {frame.frame_type.name} frame is a video inter frame; decode it with a "
                                 f"VideoDecoder, not as an image")
        if frame.quality != self.quality:
            raise CorruptedError(f"frame says quality {frame.quality}; this decoder is quality {self.quality}")
        if frame.model_id != self.model_id:
            from edgesdk.codecs.model import wrong_model_error

            raise wrong_model_error(frame.model_id, self.model_id)
        hyper, latent = frame.section(SectionKind.HYPER_LATENT), frame.section(SectionKind.LATENT)
        roi = frame.section(SectionKind.ROI_LATENT)
        if latent is not None and roi is not None:
            raise CorruptedError("frame has both a LATENT and a ROI_LATENT section")
        params = frame.parameters
        padded_h = params.get(Parameter.PADDED_HEIGHT, -1)
        padded_w = params.get(Parameter.PADDED_WIDTH, -1)
        consistent = (
            hyper is not None
            and (latent is not None or roi is not None)
            and params.get(Parameter.LATENT_CHANNELS) == self.entropy_model.latent_channels
            and params.get(Parameter.HYPER_CHANNELS) == self.entropy_model.hyper_channels
            and padded_h == padded_size(frame.height)
            and padded_w == padded_size(frame.width)
        )
        if not consistent:
            raise CorruptedError("frame parameters do not match this model (channels, padding or sections)")
        latent_shape = (padded_h // LATENT_DOWNSAMPLING, padded_w // LATENT_DOWNSAMPLING)
        if roi is not None:
            return frame, self.entropy_model.decode_roi(hyper.data, roi.data, latent_shape)
        return frame, self.entropy_model.decode(hyper.data, latent.data, latent_shape)


def is_monochrome(pixels: np.ndarray) -> bool:
    """Whether an HxWx3 image's three channels are equal everywhere (a grey source)."""
    return bool(np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]))


def to_grey(image: np.ndarray) -> np.ndarray:
    """The mean of the three channels in all three (rounded): what a frame marked MONOCHROME
    decodes to, so a grey picture comes back without colour tints. Pixels only: the parse and
    every latent are unchanged."""
    grey = np.rint(image.astype(np.float32).mean(axis=2)).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` as a contiguous HxWx3 uint8 array; InvalidArgumentError otherwise."""
    pixels = np.asarray(image)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise InvalidArgumentError(f"expected an HxWx3 uint8 image, got {pixels.dtype} {pixels.shape}")
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise InvalidArgumentError("image is empty")
    return pixels


def shown_cells(height: int, width: int) -> tuple[int, int]:
    """The latent rows and columns an encoder codes for a height x width image: those over its
    pixels and one ring more (the generator reaches across a cell's border). Cells beyond only
    cover padding; they get the predicted mean, which costs least (docs/decisions.md: −1.2%
    BD-rate on photographs whose sides are not multiples of 64, none without the ring)."""
    return -(-height // LATENT_DOWNSAMPLING) + 1, -(-width // LATENT_DOWNSAMPLING) + 1


def pad_to_grid(pixels: np.ndarray) -> np.ndarray:
    """Edge-replicates to multiples of 64 (cheaper to code than zeros)."""
    height, width = pixels.shape[:2]
    return np.pad(pixels, ((0, padded_size(height) - height), (0, padded_size(width) - width), (0, 0)), mode="edge")


ImageInput = Union[np.ndarray, str, Path, Any]  # numpy HxWx3 / HxW uint8, a PIL image or a file path


class ImageCodec:
    """Encodes images to frames and decodes them, with a codec model (the shipped default when
    ``model`` is None) on a backend: ``onnxruntime``, ``tensorrt`` or ``pytorch``.

    The compressor and the generator may use different backends and precisions
    (``compressor_backend``, ``generator_precision``, …); frames decode with any of them.
    Naming a ``device`` profile (devices/) picks its default backend and precisions for
    whatever is not named explicitly; with neither, ONNX Runtime at fp32.
    Decoding follows the quality recorded in each frame. Graphs load on first use.
    ``refine=N`` spends N gradient steps per image on its latent before coding it (fewer
    bits at the same quality, same decoders; needs the export extra, docs/models.md).
    """

    def __init__(self, model: str | Path | CodecModel | None = None, quality: int | None = None,
                 backend: str | None = None, precision: str | None = None, *,
                 compressor_backend: str | None = None, generator_backend: str | None = None,
                 compressor_precision: str | None = None, generator_precision: str | None = None,
                 device: str | None = None, threads: int | None = None, tile_size: int | None = 1024,
                 trusted_keys=None, require_signature: bool | None = None, limits: Limits | None = None,
                 refine: int = 0) -> None:
        if isinstance(model, CodecModel):
            self.model = model
        elif trusted_keys is None and require_signature is None and shipped_name(model) is not None:
            self.model = shipped_model(shipped_name(model))  # opened once per process
        else:
            self.model = CodecModel.open(model, trusted_keys=trusted_keys, require_signature=require_signature)
        self.quality = self.model.default_quality if quality is None else quality
        self.model.check_quality(self.quality)
        self._settings = {
            "compressor": plan_graph("compressor", compressor_backend or backend, compressor_precision or precision,
                                     device),
            "generator": plan_graph("generator", generator_backend or backend, generator_precision or precision,
                                    device),
        }
        self.device = device
        self.threads = threads
        self.tile_size = tile_size
        self.limits = resolve_limits(limits, device)  # given, else the device profile's, else the defaults
        self._runners: dict[tuple[int, str], GraphRunner] = {}
        self._codecs: dict[int, HyperpriorImageCodec] = {}
        self.refine_steps = check_steps(refine)
        if self.refine_steps:
            refiner_factory()  # DependencyError now, not at the first encode
        self._refiners: dict[int, Callable[[RefineTask], np.ndarray]] = {}

    def codec(self, quality: int | None = None) -> HyperpriorImageCodec:
        """The low-level codec of one quality level (its transforms call this object's runners)."""
        quality = self.quality if quality is None else quality
        if quality not in self._codecs:
            from edgesdk.codecs import codec_family

            self._codecs[quality] = codec_family(self.model.family)(self, quality)
        return self._codecs[quality]

    def runner(self, quality: int, graph: str) -> GraphRunner:
        """The runner of one graph of one quality level, opened on first use."""
        key = (quality, graph)
        if key not in self._runners:
            backend, precision = self._settings[graph]
            self._runners[key] = open_runner(self.model, quality, graph, backend, precision,
                                             device=self.device, threads=self.threads)
        return self._runners[key]

    def refine(self, quality: int, task: RefineTask) -> np.ndarray:
        """The refined latent of ``task`` (``refine_steps`` steps at ``quality``'s λ)."""
        if quality not in self._refiners:
            self._refiners[quality] = open_refiner(self.model, quality, self.refine_steps, self.threads)
        return self._refiners[quality](task)

    def analyze(self, quality: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(y, z) of an image tensor, from the compressor of ``quality``."""
        outputs = self.runner(quality, "compressor").run({"image": x})
        entropy_model = self.model.entropy_model(quality)
        return check_compressor_outputs(outputs, x.shape, entropy_model.latent_channels,
                                        entropy_model.hyper_channels)

    def synthesize(self, quality: int, y_hat: np.ndarray) -> np.ndarray:
        """The image tensor of ŷ [1, M, h, w], from the generator of ``quality`` (checked:
        float32 [1, 3, 16h, 16w], finite)."""
        return check_generator_output(self.runner(quality, "generator").run({"y_hat": y_hat}), y_hat.shape)

    def encode(self, image: ImageInput, quality: int | None = None, *, transforms=None, roi=None,
               roi_steps: tuple[float, float] = DEFAULT_STEPS) -> bytes:
        """One frame (bytes) for an image of any size. ``transforms`` (e.g. ``["hflip",
        "contrast=1.5"]``) are applied to the integer latents before entropy coding and recorded
        in the frame, exactly as ``edgesdk.edit.recode.edit_frame`` would (docs/latent-edit.md);
        ``roi`` (an HxW bool mask or rectangles (x, y, w, h)) codes that region finer and the
        rest coarser (docs/roi.md). The two do not combine (an edit re-codes uniformly)."""
        if transforms is not None and roi is not None:
            raise InvalidArgumentError("transforms and roi do not combine: an edited frame is re-coded uniformly")
        if transforms is not None:
            from edgesdk.edit.paths import encode_edited

            return encode_edited(self, as_pixels(image), transforms, quality)
        if roi is None:
            return self.codec(quality).encode(as_pixels(image))
        codec = self.codec(quality)
        if not isinstance(codec, HyperpriorImageCodec):
            raise InvalidArgumentError(f"model family {self.model.family} has no region-of-interest coding")
        return codec.encode(as_pixels(image), roi=roi, roi_steps=roi_steps)

    def decode(self, data: bytes | bytearray | memoryview | str | Path, *, transforms=None) -> np.ndarray:
        """The HxWx3 uint8 image of a frame made by this model (at any of its qualities):
        its bytes, or the path of a latent image (.eli) file. ``transforms`` are applied to
        the parsed latents before the generator (the same pixels as decoding the frame a relay
        edit would make; docs/latent-edit.md)."""
        if transforms is not None:
            from edgesdk.edit.paths import decode_edited

            return decode_edited(self, read_latent_image(data) if isinstance(data, (str, Path)) else data, transforms)
        if isinstance(data, (str, Path)):
            data = read_latent_image(data)
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError(f"decode takes the bytes of a frame or the path of a .eli file, "
                                       f"not {type(data).__name__}")
        quality = Frame.parse(data).quality
        if quality not in self.model.qualities:
            raise CorruptedError(f"frame says quality {quality}; this model has {self.model.qualities}")
        return self.codec(quality).decode(data)

    def encode_batch(self, images: Iterable[ImageInput], quality: int | None = None) -> list[bytes]:
        """One frame per image."""
        return [self.encode(image, quality) for image in images]

    def decode_batch(self, frames: Iterable[bytes | bytearray | memoryview]) -> list[np.ndarray]:
        """One image per frame."""
        return [self.decode(frame) for frame in frames]

    def close(self) -> None:
        """Closes every runner this codec opened."""
        for runner in self._runners.values():
            runner.close()
        self._runners.clear()
        self._codecs.clear()
        self._refiners.clear()

    def __enter__(self) -> ImageCodec:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_hyperprior_codec(image_codec: ImageCodec, quality: int) -> HyperpriorImageCodec:
    """The ``hyperprior-image`` family's codec of one quality level, its transforms on
    ``image_codec``'s runners (registered in edgesdk.codecs.image)."""
    return HyperpriorImageCodec(
        image_codec.model.entropy_model(quality),
        analyze=lambda x: image_codec.analyze(quality, x),
        synthesize=lambda y_hat: image_codec.synthesize(quality, y_hat),
        quality=quality,
        model_id=image_codec.model.model_id(quality),
        tile_size=image_codec.tile_size,
        limits=getattr(image_codec, "limits", Limits()),
        refiner=(lambda task: image_codec.refine(quality, task)) if getattr(image_codec, "refine_steps", 0) else None,
    )


MAX_LATENT_IMAGE_BYTES = 1 << 30  # a latent image is a few MB at most


def read_latent_image(path: str | Path) -> bytes:
    """The bytes of a latent image file; NotFoundError or LimitExceededError instead of a raw OSError."""
    from edgesdk.errors import LimitExceededError, NotFoundError

    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{path}: no such latent image file")
    if path.stat().st_size > MAX_LATENT_IMAGE_BYTES:
        raise LimitExceededError(f"{path}: {path.stat().st_size} bytes is too large for one latent image")
    return path.read_bytes()


def as_pixels(image: ImageInput) -> np.ndarray:
    """HxWx3 uint8 from a numpy array (HxWx3 or grey HxW), a PIL image or an image file path."""
    if isinstance(image, (str, Path)):
        return load_image(image)
    if not isinstance(image, np.ndarray) and hasattr(image, "convert") and hasattr(image, "size"):
        from edgesdk.media.images import to_rgb8

        return to_rgb8(image)
    pixels = np.asarray(image)
    if pixels.ndim == 2 and pixels.dtype == np.uint8:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    return check_image(pixels)
