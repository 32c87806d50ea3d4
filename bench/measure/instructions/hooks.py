"""Load the compiled client requests, and bracket one counted round with them.

The child process is told the extension's path (the parent built it, so a child under
valgrind never compiles); loading by path keeps the cache directory off sys.path.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast


class Requests(Protocol):
    """The functions _callgrind.c exports, one client request each."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def zero(self) -> None: ...
    def toggle_collect(self) -> None: ...
    def dump(self, label: str | None = None) -> None: ...
    def running_on_valgrind(self) -> int: ...


def load(path: Path) -> Requests:
    """Import the extension at `path` (module name _callgrind, whatever the file is called)."""
    loader = importlib.machinery.ExtensionFileLoader("_callgrind", str(path))
    spec = importlib.util.spec_from_file_location("_callgrind", path, loader=loader)
    if spec is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return cast(Requests, module)


async def counted_round(requests: Requests, call: Callable[[], Awaitable[Any]], label: str) -> Any:
    """Run one round with instrumentation on, then dump its count under `label`.

    START/STOP_INSTRUMENTATION switch counting on for every thread (aiosqlite's worker
    included), unlike TOGGLE_COLLECT, which only affects the calling thread. ZERO first so a
    stray count can never leak into the round; DUMP after STOP writes this round's total and
    resets it, so each dump is exactly one round. The bracket's own cost (the return from
    start, the call into stop) is the same few hundred instructions in every round.
    """
    requests.zero()
    requests.start()
    try:
        return await call()
    finally:
        requests.stop()
        requests.dump(label)
