"""What a round measures besides its wall time: CPU, waiting for a CPU, and calls.

- Process CPU time (time.process_time_ns): the client's own work per round: Python,
  SQLAlchemy and the driver, in every thread of the process.
- Run-queue wait (Linux, /proc/self/task/*/schedstat, second field): time the
  process's threads were ready to run but waited for a CPU. On a machine whose
  cores are shared with the database and everything else, a round that waited a
  large share of its time is noise, not a measurement of the code.
- Python calls (CallCounter): function calls made by the round's code, counted in one
  extra untimed round. Unlike time, the count is the same on a busy machine and a quiet
  one, so a change in it is a change in the code (SQLAlchemy's own test suite gates on
  call counts the same way). The event loop's own machinery is left out, and resuming a
  suspended coroutine is not a call: both depend on when the network answered, not on
  the code.
"""

from __future__ import annotations

import asyncio
import dis
import os
import selectors
import sys
import threading
import time
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

_TASKS = Path("/proc/self/task")


def cpu_ns() -> int:
    return time.process_time_ns()


def cpu_wait_ns() -> int | None:
    """Total run-queue wait of this process's threads so far, or None where the kernel
    does not say (not Linux, or schedstats unavailable)."""
    total = 0
    try:
        for task in os.scandir(_TASKS):
            try:
                with open(f"{task.path}/schedstat", "rb") as handle:
                    total += int(handle.read().split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue  # a thread that ended between the listing and the read
    except (OSError, ValueError, IndexError):
        return None
    return total


# Files of the event loop's machinery: when and how often it runs depends on the
# network, not on the code being measured.
_LOOP_FILES = (os.path.dirname(asyncio.__file__) + os.sep, selectors.__file__,
               threading.__file__)


class CallCounter:
    """Counts Python function calls on this thread while active (a context manager).

    A global trace function sees every Python frame entry and nothing else (a profile
    function would also be called for every C call and return: half again as slow), and
    it asks for no line events. A tracer already set (a debugger, coverage) is put back
    after, and is blind for the counted round."""

    def __init__(self) -> None:
        self.calls = 0
        self._first_resume: dict[CodeType, int] = {}
        self._skip: dict[str, bool] = {}

    def __enter__(self) -> CallCounter:
        self.calls = 0
        self._previous = sys.gettrace()
        sys.settrace(self._hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.settrace(self._previous)

    def _hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        skip = self._skip.get(code.co_filename)
        if skip is None:
            skip = self._skip[code.co_filename] = code.co_filename.startswith(_LOOP_FILES)
        if skip:
            return
        first = self._first_resume.get(code)
        if first is None:
            first = self._first_resume[code] = _first_resume_offset(code)
        # A generator or coroutine resumed after a yield or an await re-enters its frame
        # past its first RESUME instruction: not a new call.
        if frame.f_lasti <= first:
            self.calls += 1


def _first_resume_offset(code: CodeType) -> int:
    for instruction in dis.get_instructions(code):
        if instruction.opname == "RESUME":
            return instruction.offset
    return 0
