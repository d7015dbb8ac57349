"""The one way edgesdk loads an optional dependency: on first use, with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from edgesdk.errors import DependencyError


def require(module: str, hint: str) -> ModuleType:
    """``import module``, or a :class:`~edgesdk.errors.DependencyError` saying ``hint``
    (what needs it and how to install it, e.g. ``"video files need PyAV: pip install av"``)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise DependencyError(hint) from error
