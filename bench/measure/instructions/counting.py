"""Inside a counting child: bracket each timed round with callgrind client requests.

The parent (bench.measure.instructions.layouts) starts the child under valgrind with
SQLA_BENCH_CALLGRIND_OUT (the child's callgrind file) and SQLA_BENCH_CALLGRIND_EXT (the
built extension) in its environment; `active()` is then the process's RoundCounter, else
None and nothing changes. A timed round's call (only the call: not the family's round
hooks) runs between ZERO+START and STOP+DUMP(label), under the counting conditions
(bench.measure.instructions.quiet: collection frozen and off, a long switch interval);
each dump is one round's count, read back from the file by its label.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.measure.instructions.callgrind_out import RoundCount, TotalsReader
from bench.measure.instructions.hooks import Requests, load

OUT_VARIABLE = "SQLA_BENCH_CALLGRIND_OUT"
EXTENSION_VARIABLE = "SQLA_BENCH_CALLGRIND_EXT"
PAD_VARIABLE = "SQLA_BENCH_LAYOUT_PAD"  # the child's layout: its environment padding
# The label of the namespace a pytest counting child claims on each server: the same in
# every run (bench.plugin.counted), where a random name's hash moved counts.
NAMESPACE_VARIABLE = "SQLA_BENCH_NAMESPACE"
# Digits a PID is padded to in a callgrind file's path (pid_max is at most 2**22 on Linux).
PID_WIDTH = 10
# Counted rounds a case needs: counts of one process normally agree exactly, so a few
# that agree are the measurement (more only cost emulated time).
COUNTED_ROUNDS = 3


class RoundCounter:
    """Labels rounds, brackets their calls, and reads their counts back."""

    def __init__(self, requests: Requests, out_file: str | Path) -> None:
        self.requests, self.out_file = requests, out_file
        self._next = 0
        self._reader = TotalsReader(out_file)

    def bracket(self, call: Callable[[], Any], is_sync: bool) -> tuple[Callable[[], Any], str]:
        """`call` wrapped in the client requests, and the label its count will have."""
        self._next += 1
        # of fixed length: a label is allocated each round, and PIDs wrap at pid_max, so a
        # child's PID may have a digit more than another's; counting children fell into
        # groups 0.7% apart before, and not since (docs/ci-gate.md)
        label = f"sqla-bench:{os.getpid():010d}:{self._next:08d}"
        requests = self.requests
        if is_sync:
            def counted_sync() -> Any:
                requests.zero()
                requests.start()
                try:
                    return call()
                finally:
                    requests.stop()
                    requests.dump(label)
            return counted_sync, label

        async def counted() -> Any:
            requests.zero()
            requests.start()
            try:
                outcome = call()
                return await outcome
            finally:
                requests.stop()
                requests.dump(label)
        return counted, label

    def counts(self, labels: list[str]) -> list[RoundCount]:
        """The counts of these rounds (valgrind writes each dump when it is asked)."""
        totals = self._reader.read()
        return [totals[label] for label in labels if label in totals]


def in_child() -> bool:
    """This process was started as a counting child (whether or not under valgrind)."""
    return bool(os.environ.get(OUT_VARIABLE))


def first_layout() -> bool:
    """Not a counting child, or the first layout's: what is the same in every layout
    (Python calls, query plans) is measured there only, not again under emulation."""
    return os.environ.get(PAD_VARIABLE, "") == ""


def out_file(template: str, pid: int) -> str:
    """This process's callgrind file: valgrind writes one per process (`%p`, its PID), so
    a process forked from a counting child counts into a file of its own. The path has the
    same length whatever the PID's digits (its last separator repeated: `a//b` is `a/b`):
    PIDs wrap, and a path a character longer lays out the heap of the process that holds
    it otherwise, which moves its counts."""
    directory, name = os.path.split(template)
    digits = str(pid)
    return directory + "/" * (1 + max(0, PID_WIDTH - len(digits))) + name.replace("%p", digits)


@functools.cache
def active() -> RoundCounter | None:
    """This process's counter when it runs under valgrind for a counted measurement."""
    out, extension = os.environ.get(OUT_VARIABLE), os.environ.get(EXTENSION_VARIABLE)
    if not out or not extension:
        return None
    requests = load(Path(extension))
    if not requests.running_on_valgrind():
        return None
    path = out_file(out, os.getpid())
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a file an earlier process of this PID left
    return RoundCounter(requests, path)


# a forked process finds its own counter (its own file), not the parent's
os.register_at_fork(after_in_child=active.cache_clear)


def without_options(args: Sequence[str], options: Mapping[str, bool]) -> list[str]:
    """`args` less the named options (True: the option takes a value, given as the next
    argument or after `=`): what a counting child must not repeat of its parent's."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in options:
            skip = options[name] and "=" not in arg
            continue
        out.append(arg)
    return out
