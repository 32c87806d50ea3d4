"""Read per-round instruction counts out of a callgrind output file.

The child runs valgrind with --combine-dumps=yes, so one file holds a part per
CALLGRIND_DUMP_STATS_AT; each part names its trigger ("desc: Trigger: Client Request: LABEL"),
lists the cost of every function the round ran and ends with "totals: N" (N is Ir, the only
event collected). The part written at program termination has no client-request label and
is ignored.

A round's count is its total less the instructions spent in CPython's type-attribute cache's
miss path (`find_name_in_mro` and what it calls). That cache has 4096 entries, indexed by a
type's version and the ADDRESS of the attribute's name, so which lookups evict each other
follows where the interned names happen to lie: any change of code, or the checkout's path,
moves them. In eight memory layouts the miss path was up to 9% of a round and made nearly
all of the layout spread: an sqlite3 ORM lookup (raw_queries/orm_get) spread 6.7% with it
and 0.4% without, an asyncpg cached ORM query 7.1% and 0.3% (2026-12-05, docs/ci-gate.md).
What it leaves out is work whose amount the layout decides, not the code; the lookups
themselves (the cache's hits, the attribute access in the interpreter) are still counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The function whose calls (inclusive of their callees) a round's count leaves out.
EXCLUDED_FUNCTION = "find_name_in_mro"
# What a count is, part of its identity (compare): counts made by another rule never meet.
COUNTED = f"Ir less {EXCLUDED_FUNCTION}"

_PART = re.compile(r"^part:", re.M)
_TRIGGER = re.compile(r"^desc: Trigger: Client Request: (.+)$", re.M)
_TOTALS = re.compile(r"^totals: (\d+)", re.M)
# --compress-strings: a function's name follows its number the first time the file uses it
_NAMED = re.compile(r"^c?fn=\((\d+)\) ([^\n]+)$", re.M)
# a call: its callee, `calls=N ...`, then the position and inclusive cost of those calls
_CALL = re.compile(r"^cfn=\((\d+)\)[^\n]*\ncalls=[^\n]*\n\S+ (\d+)", re.M)


@dataclass(frozen=True)
class RoundCount:
    """One round's instructions: every one, and those of the excluded miss path."""

    total: int
    excluded: int = 0

    @property
    def counted(self) -> int:
        return self.total - self.excluded


class _Parser:
    """Parts of one file, in order: the numbers that name the excluded function are kept
    from part to part (a name is spelled out once per file)."""

    def __init__(self) -> None:
        self.excluded_ids: set[str] = set()

    def parts(self, text: str) -> dict[str, RoundCount]:
        counts: dict[str, RoundCount] = {}
        for part in _PART.split(text):
            for number, name in _NAMED.findall(part):
                # a recursive call's callee is named `f'2`: the same function
                if name.split("'")[0] == EXCLUDED_FUNCTION:
                    self.excluded_ids.add(number)
            trigger, totals = _TRIGGER.search(part), _TOTALS.search(part)
            if trigger is None or totals is None:
                continue
            excluded = sum(int(cost) for number, cost in _CALL.findall(part)
                           if number in self.excluded_ids)
            counts[trigger.group(1).strip()] = RoundCount(int(totals.group(1)), excluded)
        return counts


class TotalsReader:
    """The counts of a growing callgrind file, reading only what was written since the last
    read: each dump lists the cost of every function it saw, so the file grows by about half
    a megabyte a case, and reading it whole after every case made a counting child's time
    grow with the square of its cases. A dump is complete when its client request returns,
    so every read ends on a part's boundary."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)  # as given: a padded path (counting.out_file) stays padded
        self.offset = 0
        self.totals: dict[str, RoundCount] = {}
        self._parser = _Parser()

    def read(self) -> dict[str, RoundCount]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                new = handle.read()
        except FileNotFoundError:
            return self.totals
        self.offset += len(new)
        self.totals.update(self._parser.parts(new.decode(errors="replace")))
        return self.totals
