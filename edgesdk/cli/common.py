"""What several command groups share: the codec options and the codec they open, output
checks before working, atomic writes, progress bars on a terminal."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def first_frame(path: Path):
    """The first intact frame of a latent image (.eli) or latent video (.elv) file, or None."""
    from edgesdk.bitstream.container import Frame
    from edgesdk.bitstream.packets import DEFAULT_MAX_PAYLOAD, PacketReader
    from edgesdk.errors import BitstreamError

    path = Path(path)
    if path.suffix.lower() == ".eli" and path.is_file():
        try:
            return Frame.parse(path.read_bytes())
        except BitstreamError:
            return None
    reader = PacketReader(DEFAULT_MAX_PAYLOAD, "skip")
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 16):
            for packet in reader.feed(chunk):
                try:
                    if packet.payload:
                        return Frame.parse(packet.payload)
                except BitstreamError:
                    continue
    return None


def model_for(args: argparse.Namespace):
    """``--model``; without it, for a command that reads latents, the shipped model that made
    the source's first frame (a stream of the lite model decodes without naming it), else
    None (the default)."""
    if args.model is not None:
        return args.model
    source = Path(str(getattr(args, "source", "") or ""))
    if source.suffix.lower() not in (".eli", ".elv") or not source.is_file():
        return None
    from edgesdk.codecs.model import shipped_model_name

    frame = first_frame(source)
    return None if frame is None or frame.compact else shipped_model_name(frame.model_id)


def open_codec(args: argparse.Namespace):
    """The ImageCodec the command's options ask for (see :func:`model_for`)."""
    from edgesdk.codecs.image.codec import ImageCodec

    return ImageCodec(model_for(args), quality=getattr(args, "quality", None), backend=args.backend,
                      precision=args.precision, generator_precision=args.generator_precision, device=args.device,
                      refine=getattr(args, "refine", 0))


def add_refine_option(parser: argparse.ArgumentParser) -> None:
    """``--refine N``: encode-time refinement of each image's (a video's: each keyframe's) latent."""
    parser.add_argument("--refine", type=int, default=0, metavar="N",
                        help="spend N gradient steps per image (video: per keyframe) on its latent: fewer bits at "
                             "the same quality, any decoder reads it; needs the export extra (default: 0, off)")


def add_subcommand(commands, group: str, group_help: str, name: str, help: str) -> argparse.ArgumentParser:
    """Adds ``edgesdk GROUP NAME`` (a command group whose subcommand is required) and returns
    NAME's parser; a group already added gets the new subcommand."""
    if group in commands.choices:
        actions = next(a for a in commands.choices[group]._actions if isinstance(a, argparse._SubParsersAction))
    else:
        actions = commands.add_parser(group, help=group_help).add_subparsers(dest=f"{group}_command", required=True)
    return actions.add_parser(name, help=help)


def add_codec_options(parser: argparse.ArgumentParser, quality: bool = True) -> None:
    """Adds the model, quality, backend and precision options to a command."""
    from edgesdk.runtime.backends import BACKENDS, PRECISIONS

    parser.add_argument("--model", help="bundle (folder or .edgesdk file) or a shipped model: wavelet (the default) "
                        "or lite (faster; has the search identifier and edit maps)")
    if quality:
        parser.add_argument("--quality", "-q", type=int, help="quality level of the model (default: its middle one)")
    parser.add_argument("--backend", choices=BACKENDS, help="default: the device profile's, else onnxruntime")
    parser.add_argument("--precision", choices=PRECISIONS, help="default: the device profile's, else fp32")
    parser.add_argument("--generator-precision", choices=PRECISIONS,
                        help="the generator's alone (e.g. int8 after edgesdk quantize); default: --precision")
    parser.add_argument("--device", help="device profile (see: edgesdk devices) for default backend and precisions")


# --- outputs: checked before working, written atomically --------------------------------------


def add_force_option(parser: argparse.ArgumentParser) -> None:
    """Adds ``--force``: outputs that exist are refused without it."""
    parser.add_argument("--force", "-f", action="store_true", help="overwrite outputs that exist")


def check_writable_folder(folder: Path, create: bool = False) -> None:
    """Raises NotFoundError or InvalidArgumentError unless a file can be created in ``folder``
    (created first, with its parents, when ``create``): checked before any work is done."""
    import os
    import tempfile

    from edgesdk.errors import InvalidArgumentError, NotFoundError

    folder = Path(folder)
    if create and not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InvalidArgumentError(f"{folder}: cannot create this folder ({error.strerror or error})") from None
    if not folder.is_dir():
        raise NotFoundError(f"{folder}: no such folder for the output")
    try:
        handle, probe = tempfile.mkstemp(prefix=".edgesdk-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise InvalidArgumentError(f"{folder}: cannot write here ({error.strerror or error})") from None


def check_output_file(path: Path, force: bool) -> None:
    """An output file's folder must exist and be writable; an existing file needs ``force``."""
    from edgesdk.errors import InvalidArgumentError

    path = Path(path)
    if path.is_dir():
        raise InvalidArgumentError(f"{path}: is a folder, expected a file name")
    if path.exists() and not force:
        raise InvalidArgumentError(f"{path}: exists; use --force to overwrite it")
    check_writable_folder(path.parent if str(path.parent) else Path("."))


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path`` with the same extension, for writing before the rename."""
    import os

    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it to ``path`` if the block succeeds and
    removes it otherwise (an error or Ctrl-C leaves no partial file)."""
    import os

    path = Path(path)
    temporary = temporary_name(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)


# --- progress ---------------------------------------------------------------------------------


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterable[T]:
    """``iterable`` with a tqdm progress bar on stderr when stderr is a terminal; unchanged
    when it is piped or redirected (or tqdm is missing)."""
    import sys

    if not sys.stderr.isatty():
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False)


@contextmanager
def tile_progress(codec, height: int, width: int, desc: str) -> Iterator[None]:
    """A progress bar over the tiles of one large image while ``codec`` (an ImageCodec) encodes
    or decodes it: one step per run of a transform. Nothing for an image that runs whole, or
    when stderr is not a terminal."""
    import sys

    from edgesdk.codecs.image.tiles import TILE_HALO, _runs_whole, _spans
    from edgesdk.shapes import padded_size

    tile = codec.tile_size
    padded_h, padded_w = padded_size(height), padded_size(width)
    if not sys.stderr.isatty() or _runs_whole(padded_h, padded_w, tile):
        yield
        return
    tiles = len(_spans(padded_h, tile, TILE_HALO)) * len(_spans(padded_w, tile, TILE_HALO))
    bar = progress(range(tiles), total=tiles, desc=f"{desc} {width}x{height}", unit="tile")
    if not hasattr(bar, "update"):
        yield
        return
    analyze, runner = codec.analyze, codec.runner

    def counted_analyze(*args, **kwargs):
        result = analyze(*args, **kwargs)
        bar.update(1)
        return result

    class _Counted:
        def __init__(self, inner) -> None:
            self._inner = inner

        def run(self, *args, **kwargs):
            result = self._inner.run(*args, **kwargs)
            bar.update(1)
            return result

        def __getattr__(self, name: str):
            return getattr(self._inner, name)

    codec.analyze = counted_analyze
    codec.runner = lambda quality, graph: _Counted(runner(quality, graph)) if graph == "generator" \
        else runner(quality, graph)
    try:
        yield
    finally:
        del codec.analyze, codec.runner  # back to the class's methods
        bar.close()
