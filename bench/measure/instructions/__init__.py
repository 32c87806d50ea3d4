"""Instructions per op: the client's user-space work of each counted round, under callgrind.

Counts, not times: this machine (and a CI runner) changes speed in spells, while the
instructions the same code executes under the same Python build and valgrind version
repeat to a fraction of a per cent. A counted measurement is the same command run again
in child processes under `valgrind --tool=callgrind --instr-atstart=no`, one per memory
layout (bench.measure.instructions.layouts), in parallel; inside each child the case
lifecycle brackets every timed round with callgrind client requests
(bench.measure.instructions.counting) and the parent merges the layouts' counts into each
case (bench.measure.instructions.merge). Valgrind's start-up (seconds, importing
SQLAlchemy under emulation) is paid once per child, not per case.

The parts: the client-request extension (_callgrind.c) and its build (build.py), its
loading (hooks.py), the in-process counting conditions (quiet.py), the callgrind-file
reader (callgrind_out.py), the counts' identity (identity.py) and their summary
(summary.py).
"""

from __future__ import annotations

import shutil
import sys

from bench.measure.instructions.build import INSTALL_HINT, BuildError, built_extension

MEASURES = ("time", "instructions", "both")


def unavailable() -> str | None:
    """None when counting works here; else one line saying what is missing and how to get
    it. Builds the client-request extension on first call (cached afterwards)."""
    if not sys.platform.startswith("linux"):
        return f"--measure instructions needs valgrind on Linux (this is {sys.platform})"
    if shutil.which("valgrind") is None:
        return f"--measure instructions needs valgrind, which is not installed: {INSTALL_HINT}"
    try:
        built_extension()
    except BuildError as error:
        return f"--measure instructions: {error}"
    return None
