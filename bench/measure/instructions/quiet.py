"""The in-process conditions of counted rounds: what would otherwise make a count differ
between two rounds of identical work.

- Garbage collection runs when allocation counters cross a threshold, so whether a round
  pays for a collection depends on what came before; a collection can double a round's
  count. Collect once, freeze the survivors (later collections would not scan them) and
  disable collection for the counted rounds. The survivors stay frozen afterwards: only a
  counting child enters these conditions, and each round's collection then scans what is
  new since the last one, not the whole heap again (collecting everything before every
  round was 40% of a counting child's CPU time under emulation).
- The GIL's switch interval is wall-clock time (5 ms); under valgrind a round is 10-50x
  slower, so a thread (aiosqlite's worker) would be interrupted a varying number of times.
  A long interval leaves hand-overs to the points where threads block.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def counting_conditions(switch_interval: float = 1000.0) -> Iterator[None]:
    """Collection frozen and off, a long switch interval; on exit collection is on again
    and the interval restored (what was frozen stays frozen)."""
    was_enabled = gc.isenabled()
    interval = sys.getswitchinterval()
    gc.collect()
    gc.freeze()
    gc.disable()
    sys.setswitchinterval(switch_interval)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if was_enabled:
            gc.enable()
