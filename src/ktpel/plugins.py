"""Loading the modules capabilities register by name (CLI groups, demo steps, handlers)."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Callable


def optional_module(name: str) -> ModuleType | None:
    """The module if its capability is installed, else None (a missing parent package counts as missing)."""
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None
    return importlib.import_module(name) if spec is not None else None


def resolve(path: str) -> Callable:
    """Import "package.module:function" and return the function.

    Not cached: sys.modules already is the cache, and an entry re-pointed at run time must be honoured.
    """
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
