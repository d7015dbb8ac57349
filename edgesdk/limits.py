"""What one input may cost: the single set of limits every decoder checks (images ``.eli``,
video frames and streams, the tiles the transforms run on, image files read from disk),
before anything proportional to a declared size is allocated (docs/security.md).

A caller passes :class:`Limits` (``ImageCodec(limits=…)``, ``VideoDecoder(limits=…)``,
``read_video(limits=…)``); naming a device profile derives them from its memory budget
(:meth:`Limits.for_profile`). Anything beyond them raises :class:`LimitExceededError`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from edgesdk.errors import InvalidArgumentError, LimitExceededError
from edgesdk.shapes import MAX_SIDE

# 2**26 pixels (8192 x 8192, or 8K UHD with room to spare): the media layer's limit too
# (edgesdk.media.MAX_PIXELS), so a file that open_source refuses is refused everywhere.
DEFAULT_MAX_PIXELS = 1 << 26
DEFAULT_MAX_VIDEO_PIXELS = 3840 * 2160  # a video decoder holds up to max_reference_distance + 3 frames
DEFAULT_MAX_FRAMES = 1 << 24  # frames one read_video call yields (155 hours at 30 fps)
DEFAULT_MAX_REFERENCE_DISTANCE = 16
DEFAULT_MAX_GOP_LENGTH = 1024
# Decoding costs about 15 bytes per pixel (latents, indexes, the uint8 picture, the generator's
# tile); a profile allows 64 bytes per pixel of its memory budget, four times that.
BYTES_PER_PIXEL_BUDGET = 64


@dataclass(frozen=True)
class Limits:
    """What a decoder accepts. Every field is a positive integer:

    - ``max_pixels``: width x height of an image (``.eli`` frame, image file);
    - ``max_side``: the larger of width and height, of anything;
    - ``max_video_pixels``: width x height of a video frame (also bounded by ``max_pixels``);
    - ``max_tile_pixels``: pixels of one run of a transform (a tile with its halo, or the
      whole image when it is not tiled);
    - ``max_frames``: frames one ``read_video`` call decodes;
    - ``max_reference_distance``, ``max_gop_length``: video frame syntax (docs/video.md).
    """

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_side: int = MAX_SIDE
    max_video_pixels: int = DEFAULT_MAX_VIDEO_PIXELS
    max_tile_pixels: int = DEFAULT_MAX_PIXELS
    max_frames: int = DEFAULT_MAX_FRAMES
    max_reference_distance: int = DEFAULT_MAX_REFERENCE_DISTANCE
    max_gop_length: int = DEFAULT_MAX_GOP_LENGTH

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if type(value) is not int or value < 1:
                raise InvalidArgumentError(f"decoder limits must be positive integers; {item.name} is {value!r}")

    @classmethod
    def for_profile(cls, profile: Any) -> Limits:
        """The limits of a device profile (a name, a path or a loaded DeviceProfile): pixels
        capped by its memory budget at :data:`BYTES_PER_PIXEL_BUDGET` bytes each."""
        if isinstance(profile, str) or hasattr(profile, "__fspath__"):
            from edgesdk.runtime.devices import load_profile

            profile = load_profile(profile)
        budget = (int(profile.memory_budget_mib) << 20) // BYTES_PER_PIXEL_BUDGET
        return cls(max_pixels=min(DEFAULT_MAX_PIXELS, budget), max_video_pixels=min(DEFAULT_MAX_VIDEO_PIXELS, budget),
                   max_tile_pixels=min(DEFAULT_MAX_PIXELS, budget))

    def check_image(self, width: int, height: int, what: str = "image") -> None:
        """Raises LimitExceededError unless a ``width`` x ``height`` image is within the limits."""
        self._check(width, height, self.max_pixels, what)

    def check_video_frame(self, width: int, height: int, what: str = "video frame") -> None:
        """Raises LimitExceededError unless a video frame of this size is within the limits."""
        self._check(width, height, min(self.max_pixels, self.max_video_pixels), what)

    def check_tile(self, height: int, width: int) -> None:
        """Raises LimitExceededError when one transform run would take more than ``max_tile_pixels``."""
        if height * width > self.max_tile_pixels:
            raise LimitExceededError(f"one transform run of {width}x{height} pixels is above the limit of "
                                     f"{self.max_tile_pixels} (Limits.max_tile_pixels); use a smaller tile_size")

    def _check(self, width: int, height: int, max_pixels: int, what: str) -> None:
        if max(width, height) > self.max_side or width * height > max_pixels:
            raise LimitExceededError(f"{what} is {width}x{height}, above the decoder's limits ({self.max_side} "
                                     f"per side, {max_pixels} pixels; edgesdk.Limits)")


def resolve_limits(limits: Limits | None, device: str | None = None) -> Limits:
    """``limits`` when given, else the device profile's, else the defaults."""
    if limits is not None:
        if not isinstance(limits, Limits):
            raise InvalidArgumentError(f"limits must be an edgesdk.Limits, not {type(limits).__name__}")
        return limits
    return Limits.for_profile(device) if device is not None else Limits()
