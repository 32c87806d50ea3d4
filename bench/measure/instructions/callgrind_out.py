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


class TotalsReader:
    """The totals of a growing callgrind file, reading only what was written since the last
    read: each dump lists the cost of every function it saw, so the file grows by about half
    a megabyte a case, and reading it whole after every case made a counting child's time
    grow with the square of its cases. A dump is complete when its client request returns,
    so every read ends on a part's boundary."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)  # as given: a padded path (counting.out_file) stays padded
        self.offset = 0
        self.totals: dict[str, int] = {}

    def read(self) -> dict[str, int]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                new = handle.read()
        except FileNotFoundError:
            return self.totals
        self.offset += len(new)
        self.totals.update(parse_totals(new.decode(errors="replace")))
        return self.totals
