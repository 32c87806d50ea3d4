"""Read per-round instruction counts out of a callgrind output file.

The child runs valgrind with --combine-dumps=yes, so one file holds a part per
CALLGRIND_DUMP_STATS_AT; each part names its trigger ("desc: Trigger: Client Request: LABEL")
and ends with "totals: N" (N is Ir, the only event we collect). The part written at
program termination has no client-request label and is ignored.
"""

from __future__ import annotations

from pathlib import Path

_TRIGGER = "desc: Trigger: Client Request: "


def parse_totals(text: str) -> dict[str, int]:
    """{label: Ir} for every client-request dump in a combined callgrind output."""
    counts: dict[str, int] = {}
    label: str | None = None
    for line in text.splitlines():
        if line.startswith("part:"):
            label = None
        elif line.startswith(_TRIGGER):
            label = line[len(_TRIGGER):].strip()
        elif line.startswith("totals:") and label is not None:
            counts[label] = int(line.split()[1])
            label = None
    return counts


def read_totals(path: Path) -> dict[str, int]:
    """parse_totals of a file, or {} if valgrind wrote none."""
    try:
        return parse_totals(path.read_text(errors="replace"))
    except FileNotFoundError:
        return {}
