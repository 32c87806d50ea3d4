"""The second half of a memory layout: an allocation part-way through a child's imports.

An environment padding (bench.measure.instructions.layouts) shifts everything a process
allocates by the same amount, which leaves the relative places of its objects alike; a
change of code adds objects part-way through the imports, and moves what comes after
against what came before. That moved some cases more than the paddings did: one Core
count moved 3.0% for an unused function added to bench/db/drivers.py where five paddings
spread it by 0.8%, and an allocation after the 90th import moved it by 4.2% (2026-12-04);
with paddings alone, two unrelated changes each failed a case at any margin up to 2. So
layout k > 0 also allocates a few hundred small objects after the child's (STEP x k)-th
new import: the range over the layouts then covers what an unrelated change of code does,
and becomes the case's tolerance (bench.judge.verdicts).
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import ModuleSpec
from typing import Any

IMPORT_PAD_VARIABLE = "SQLA_BENCH_IMPORT_PAD"  # the layout's number: 0 allocates nothing
STEP = 60  # new imports between two layouts' allocation points (a child makes 500 or more)
OBJECTS_PER_LAYOUT = 40

_kept: list[Any] = []  # the allocation lives as long as the process


class _AllocateAfter:
    """A finder that finds nothing: it counts the imports it is asked about, allocates at
    its mark and leaves sys.meta_path, so it costs nothing afterwards."""

    def __init__(self, layout: int) -> None:
        self.layout, self.left = layout, STEP * layout

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        self.left -= 1
        if self.left == 0:
            _kept.append([{f"pad{i}": str(i) * (i % 13)}
                          for i in range(OBJECTS_PER_LAYOUT * self.layout)])
            sys.meta_path.remove(self)
        return None


def install() -> None:
    """In a counting child, as early as it can: its layout's allocation point."""
    layout = int(os.environ.get(IMPORT_PAD_VARIABLE) or 0)
    if layout > 0:
        sys.meta_path.insert(0, _AllocateAfter(layout))
