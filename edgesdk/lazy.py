"""The one way edgesdk loads an optional dependency: on first use, with an install hint; and
the one way it runs the plugins other packages declare as entry points."""

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


def load_plugins(group: str) -> None:
    """Runs every entry point of ``group`` of the installed packages (each a function that
    registers something, e.g. ``edgesdk.backends``: edgesdk_export's pytorch backend). A
    package that is half installed (its import fails) registers nothing."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=group):
        try:
            entry.load()()
        except ImportError:
            continue
