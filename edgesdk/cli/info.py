"""``edgesdk info``: what a latent image (.eli) or latent video (.elv) holds, as a dict."""

from __future__ import annotations

from edgesdk.bitstream.container import Frame, FrameType, Parameter, SectionKind
from edgesdk.cli.transcode import kind_of, local_path

MAX_INFO_FILE = 1 << 30  # a latent image is a few MB at most; refuse to slurp anything huge


def frame_info(data: bytes) -> dict:
    """Header fields, parameters and section sizes of one frame (parsed and CRC-checked)."""
    frame = Frame.parse(data)
    pixels = frame.width * frame.height
    return {
        "format_version": f"{frame.version[0]}.{frame.version[1]}",
        "frame_type": FrameType(frame.frame_type).name,
        "width": frame.width,
        "height": frame.height,
        "quality": frame.quality,
        "model_id": frame.model_id.hex(),
        "bytes": len(data),
        "bpp": round(8 * len(data) / pixels, 4) if pixels else None,
        **({"compact": True} if frame.compact else {}),
        "parameters": {_name(Parameter, key): value for key, value in sorted(frame.parameters.items())},
        "sections": [{"kind": _name(SectionKind, s.kind), "bytes": len(s.data)} for s in frame.sections],
        **_transforms(frame),
    }


def _transforms(frame: Frame) -> dict:
    """{"transforms": [...]} for a frame edited in latent space (docs/latent-edit.md), else {}."""
    from edgesdk.edit.recode import applied_transforms

    applied = applied_transforms(frame)
    return {"transforms": [str(t) for t in applied]} if applied else {}


def _name(enum_type, value: int) -> str:
    try:
        return enum_type(value).name.lower()
    except ValueError:
        return f"unknown_{value}"


def video_info(path) -> dict:
    """Frame counts by type, sizes, quality and rate of a latent video, from headers alone;
    ``damage`` says what is damaged, lost or truncated, as ``edgesdk decode`` would report it.
    Bytes that hold no packet at all are refused (CorruptedError)."""
    from types import SimpleNamespace

    from edgesdk.bitstream.packets import DEFAULT_MAX_PAYLOAD, PacketReader
    from edgesdk.cli.damage import damage_summary
    from edgesdk.errors import BitstreamError, CorruptedError

    reader = PacketReader(DEFAULT_MAX_PAYLOAD, "skip")
    counts: dict[str, int] = {}
    frame_bytes: dict[str, int] = {}
    features: dict[str, int] = {}
    first = None
    total = packets = unreadable = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 16):
            total += len(chunk)
            for packet in reader.feed(chunk):
                packets += 1
                if not packet.payload:
                    continue
                try:
                    info = frame_info(packet.payload)
                except BitstreamError:
                    unreadable += 1
                    continue
                first = first or info
                counts[info["frame_type"]] = counts.get(info["frame_type"], 0) + 1
                for feature in _coding_features(info):
                    features[feature] = features.get(feature, 0) + 1
                frame_bytes[info["frame_type"]] = frame_bytes.get(info["frame_type"], 0) + info["bytes"]
        reader.close()
    if packets == 0:
        raise CorruptedError(f"{path}: not a latent video: no packet in its {total} bytes")
    damage = damage_summary(SimpleNamespace(dropped_frames=unreadable, missing_frames=0), reader.stats)
    frames = sum(counts.values())
    if first is None:
        return {"frames": 0, "bytes": total, "damage": damage}
    params = first["parameters"]
    rate = (params.get("frame_rate_numerator"), params.get("frame_rate_denominator"))
    pixels = first["width"] * first["height"] * frames
    fps = rate[0] / rate[1] if all(rate) else None
    return {
        "width": first["width"], "height": first["height"], "quality": first["quality"],
        "model_id": first["model_id"], "frames": frames, "bytes": total, "bpp": round(8 * total / pixels, 4),
        "fps": fps, "kbps": round(8 * total / (frames / fps) / 1000, 1) if fps else None,
        "frames_by_type": counts,
        "mean_bytes_by_type": {t: round(frame_bytes[t] / counts[t]) for t in counts},
        "coding": features or None,
        "damage": damage,
    }


def _coding_features(info: dict) -> list[str]:
    """What a video frame uses of the optional coding tools (docs/video.md), for the counts."""
    parameters = info["parameters"]
    used = ["compact frames"] if info.get("compact") else []
    if "background_id" in parameters:
        used.append("background keyframes")
    if "background_reference" in parameters:
        used.append("GOP starts from the background")
    if parameters.get("latent_prediction") == 1:
        used.append("latent prediction")
    kinds = [s["kind"] for s in info["sections"]]
    if info["frame_type"] == "B" and kinds == ["motion"]:
        used.append("interpolation-only B frames")
    if info["frame_type"] == "P" and "motion" in kinds:
        used.append("motion-compensated P frames")
    return used


def describe(target: str) -> dict:
    """What ``edgesdk info`` prints about a latent image or video, as a dict."""
    from edgesdk.errors import InvalidArgumentError, NotFoundError

    kind = kind_of(target, must_exist=True)
    path = local_path(target)
    if kind in ("latent-video", "latent-image") and not path.is_file():
        raise NotFoundError(f"{target}: no such file")
    if kind == "latent-video":
        return {"file": str(path), "kind": kind, **video_info(path)}
    if kind != "latent-image":
        raise InvalidArgumentError(f"{target}: edgesdk info reads latent images (.eli) and videos (.elv), "
                                   f"not {'an' if kind[0] in 'aeiou' else 'a'} {kind.replace('-', ' ')}")
    if path.stat().st_size > MAX_INFO_FILE:
        from edgesdk.errors import LimitExceededError

        raise LimitExceededError(f"{target}: {path.stat().st_size} bytes is too large for one latent image")
    return {"file": str(path), "kind": kind, **frame_info(path.read_bytes())}


def format_info(info: dict) -> str:
    """The dict of :func:`describe` as readable lines (nested values spelt out, not as Python reprs)."""
    lines = []
    for key, value in info.items():
        label = key.replace("_", " ")
        if value is None:
            continue
        if key == "sections":
            value = ", ".join(f"{s['kind']} {s['bytes']} bytes" for s in value)
        elif key == "transforms":
            value = ", ".join(value)
        elif key == "parameters":
            value = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
        elif key in ("frames_by_type", "coding"):
            value = ", ".join(f"{count} {kind}" for kind, count in value.items())
        elif key == "mean_bytes_by_type":
            label, value = "mean bytes", ", ".join(f"{kind} {size}" for kind, size in value.items())
        elif isinstance(value, float):
            value = f"{value:g}"
        lines.append(f"{label}: {value}")
    return "\n".join(lines)
