"""Package exports imported on first use.

The CLI reads stage configs (`proofpile.dedup.stage`, `proofpile.decontam.stage`) at start-up; importing the
package's heavy modules (datatrove, numpy) there tripled `proofpile --help`'s start-up time."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports `exports[name]` (a module path) when `name` is first
    read and keeps the value in the package's namespace."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
