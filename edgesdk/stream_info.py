"""``edgesdk info``: what a latent image (.eli) or latent video (.elv) holds, as a dict."""

from __future__ import annotations

from edgesdk.container import Frame, FrameType, Parameter, SectionKind
from edgesdk.transcode import kind_of, local_path

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
        "parameters": {_name(Parameter, key): value for key, value in sorted(frame.parameters.items())},
        "sections": [{"kind": _name(SectionKind, s.kind), "bytes": len(s.data)} for s in frame.sections],
    }


def _name(enum_type, value: int) -> str:
    try:
        return enum_type(value).name.lower()
    except ValueError:
        return f"unknown_{value}"


def describe(target: str) -> dict:
    kind = kind_of(target, must_exist=True)
    path = local_path(target)
    if kind == "latent-video":
        from edgesdk.video_codec import describe_video

        return describe_video(path)
    if kind != "latent-image":
        from edgesdk.errors import InvalidArgumentError

        raise InvalidArgumentError(f"{target}: edgesdk info reads latent images (.eli) and videos (.elv), "
                                   f"not a {kind}")
    if path.stat().st_size > MAX_INFO_FILE:
        from edgesdk.errors import LimitExceededError

        raise LimitExceededError(f"{target}: {path.stat().st_size} bytes is too large for one latent image")
    return {"file": str(path), "kind": kind, **frame_info(path.read_bytes())}
