"""Checks of device profile fields (docs/devices.md): each raises DeviceProfileError saying
where in the profile the value is wrong."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from edgesdk.errors import DeviceProfileError
from edgesdk.shapes import MAX_SIDE, PAD_MULTIPLE as SHAPE_MULTIPLE


def check_size(size: Any, label: str) -> None:
    """A shape-profile side: a multiple of 64 within MAX_SIDE."""
    if not (isinstance(size, tuple) and len(size) == 2):
        raise DeviceProfileError(f"{label}: expected (height, width), got {size!r}")
    for side in size:
        if isinstance(side, bool) or not isinstance(side, int):
            raise DeviceProfileError(f"{label}: sides must be integers, got {side!r}")
        if not 0 < side <= MAX_SIDE or side % SHAPE_MULTIPLE:
            raise DeviceProfileError(f"{label}: {side} is not a multiple of {SHAPE_MULTIPLE} in 64..{MAX_SIDE}")


def expect_object(value: Any, where: str, required: Iterable[str], allowed: Iterable[str] | None = None) -> None:
    """A JSON object with the ``required`` keys and no others than ``allowed``."""
    if not isinstance(value, Mapping):
        raise DeviceProfileError(f"{where}: expected an object, got {type(value).__name__}")
    required = tuple(required)
    allowed = set(allowed) if allowed is not None else set(required)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise DeviceProfileError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    missing = [key for key in required if key not in value]
    if missing:
        raise DeviceProfileError(f"{where}: missing field {missing[0]!r}")


def expect_int(value: Any, where: str) -> int:
    """``value`` as an int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeviceProfileError(f"{where}: expected an integer, got {value!r}")
    return value


def expect_str(value: Any, where: str) -> str:
    """``value`` as a str."""
    if not isinstance(value, str):
        raise DeviceProfileError(f"{where}: expected a string, got {value!r}")
    return value


def expect_optional_str(value: Any, where: str) -> str | None:
    """``value`` as a str or None."""
    return None if value is None else expect_str(value, where)


def expect_str_list(value: Any, where: str, allow_empty: bool = False) -> tuple[str, ...]:
    """``value`` as a tuple of str (non-empty unless ``allow_empty``)."""
    if not isinstance(value, list) or (not value and not allow_empty):
        raise DeviceProfileError(f"{where}: expected a non-empty list of strings, got {value!r}")
    return tuple(expect_str(item, f"{where}[{index}]") for index, item in enumerate(value))


def expect_choice(value: str, choices: tuple[str, ...], where: str) -> None:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise DeviceProfileError(f"{where}: {value!r} is not one of {', '.join(choices)}")
