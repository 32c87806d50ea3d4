"""What every command shares: the one-line usage error, exit codes, limits."""

from __future__ import annotations

import sys


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
