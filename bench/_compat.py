"""Old import paths that users' scenario files may still name (sqla-bench 0.2).

Each old module forwards every attribute to its new home and warns once, at import,
with the path to use instead. They go in 0.4.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def forward(old: str, new: str, use: str) -> Callable[[str], Any]:
    """A module `__getattr__` for `old` that reads from `new`; warns that `use` replaces it."""
    warnings.warn(f"{old} is deprecated and goes in sqla-bench 0.4: import from {use}",
                  DeprecationWarning, stacklevel=3)
    target = importlib.import_module(new)

    def __getattr__(name: str) -> Any:
        return getattr(target, name)

    return __getattr__
