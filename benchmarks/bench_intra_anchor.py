"""Our image codec against x265 intra coding, picture by picture: what a keyframe costs.

    python benchmarks/bench_intra_anchor.py PATH [PATH ...] [--model wavelet] [--frames 1]

PATH: an image, a folder of images, or a video clip (.mp4, .mkv, …: its first ``--frames``
frames). For each picture: the model's frame at every quality against x265 (preset medium,
every frame a keyframe, CRF 16-43, its SEI units left out as in ``edgesdk eval``) on the same
RGB picture; the BD-rate (piecewise cubic, bytes against RGB PSNR) per picture and their median.
Positive: our keyframe needs that many percent more bytes than x265's intra picture.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.eval.bdrate import bd_rate
from edgesdk.eval.metrics import psnr
from edgesdk.eval.video_evaluation import evaluate_anchor, load_frames
from edgesdk.media.formats import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from edgesdk.media.images import read_image


def pictures(paths: list[Path], frames: int) -> list[tuple[str, np.ndarray]]:
    """(name, RGB picture) for every image, image in a folder, and first frames of a clip."""
    found = []
    for path in paths:
        if path.is_dir():
            found += [(p.name, read_image(p)) for p in sorted(path.iterdir())
                      if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
        elif path.suffix.lower() in VIDEO_EXTENSIONS:
            found += [(f"{path.name}#{i}", frame) for i, frame in enumerate(load_frames(path, frames))]
        else:
            found.append((path.name, read_image(path)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", type=Path, nargs="+")
    parser.add_argument("--model", default="wavelet")
    parser.add_argument("--frames", type=int, default=1, help="frames from the start of each clip")
    args = parser.parse_args()
    rates = []
    with ImageCodec(args.model, backend="onnxruntime", precision="fp32") as image_codec:
        for name, picture in pictures(args.paths, args.frames):
            anchor = evaluate_anchor("x265", [picture], keyframe_interval=1, crfs=range(16, 46, 3))
            ours = []
            for codec in map(image_codec.codec, image_codec.model.qualities):
                data = codec.encode(picture)
                ours.append((len(data), psnr(picture, codec.decode(data))))
            size, quality_db = zip(*ours)
            rate = bd_rate([p["bytes"] for p in anchor], [p["psnr"] for p in anchor], list(size), list(quality_db),
                           method="pchip")
            rates.append(rate)
            print(f"{name}: ours {size[0]}-{size[-1]} bytes at {quality_db[0]:.2f}-{quality_db[-1]:.2f} dB; "
                  f"BD-rate against x265 intra {rate:+.1f}%")
    print(f"{len(rates)} pictures; median BD-rate against x265 intra {statistics.median(rates):+.1f}%")


if __name__ == "__main__":
    main()
