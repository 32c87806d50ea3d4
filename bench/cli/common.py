"""What every command shares: the one-line usage error, exit codes, limits."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def gate_status(judgements: Sequence[Any], fail_on_regression: bool) -> int:
    """The gate's end: 1 with each failing case and why on stderr, when asked to fail."""
    failing = [j for j in judgements if j.fails]
    if not (fail_on_regression and failing):
        return 0
    print(f"sqla-bench: the gate fails on {len(failing)} case(s):", file=sys.stderr)
    for j in failing:
        print(f"  {j.name}: {j.why()}", file=sys.stderr)
    return 1


class UsageError(Exception):
    """Bad input, said in one line."""


EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 3  # a bug in sqla-bench itself


def progress_line(line: str) -> None:
    print(f"sqla-bench: {line}", file=sys.stderr, flush=True)


def check_runs(runs: int, least: int) -> None:
    if not least <= runs <= 1000:
        raise UsageError(f"--runs must be between {least} and 1000, not {runs}")
