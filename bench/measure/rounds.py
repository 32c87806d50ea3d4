"""What one round measured: a plain record, importable without SQLAlchemy (the command
line and the judges read rounds back from results files)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class RoundResult:
    """One round's measurements."""

    wall_ns: int
    cpu_ns: int
    wait_ns: int | None  # run-queue wait, where the kernel reports it
    statements: int
    data: Any
    stray_tasks: int = 0
    operations: int = 0  # requests the round ran, where the family counts them (drive)
    count_label: str | None = None  # its callgrind dump, in a counting child
