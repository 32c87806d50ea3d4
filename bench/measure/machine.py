"""How fast the machine was while a point was measured: a fixed pure-Python probe.

Interleaving cancels a slowdown that hits every variant alike. This project's 2-core
VM also changes speed in a way that does not: with nothing else running, a fixed
Python loop took 27 ms for some seconds, then 49 ms for tens of seconds, and the
ORM's work slows more in such a spell than a driver waiting on a socket. So the ratio
of an ORM variant to `raw_driver` is itself higher in a slow spell (asyncpg, crud
create, add_commit_refresh: 5.4-5.5x in fast spells, 7.0-7.6x in slow ones), and two runs
taken in different spells disagree however they are scheduled. The probe makes that
visible: before every block the schedule times the same small piece of Python work, and
each sample keeps the probe time of its block (`machine_ns`). The end-of-run line says
when the probe moved during a run, and `sqla-bench compare` when it differed between
the sides. It runs in the measuring process: with load workers on other machines it
says how fast this one was.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench.results.records import CaseRecord, RunRecord, rtt_of

PROBE_ITERATIONS = 10_000  # about 1 ms of dict and int work on this project's machine
# Probes this far apart are worth a line to the reader: on a steady machine the probe's
# own 10th and 90th percentiles lie 5-20% apart.
SPEED_CHANGE_NOTED = 0.25


def probe_ns() -> int:
    """Time a fixed piece of Python work: the same instructions every call, so its time
    follows the CPU's speed (and nothing about the database). It runs once, cold, right
    after the block before it: what the rounds meet is a CPU whose caches the other rounds
    just used (a warm probe, the fastest of three, followed the ratios half as well)."""
    start = time.perf_counter_ns()
    table: dict[int, int] = {}
    for i in range(PROBE_ITERATIONS):
        slot = i % 256
        table[slot] = table.get(slot, 0) + i
    ",".join(map(str, table))
    return time.perf_counter_ns() - start


@dataclass(frozen=True)
class Speed:
    """The probe's times over a run's blocks, in ns."""

    median: float
    low: float  # 10th percentile: a fast spell
    high: float  # 90th percentile: a slow one

    @property
    def swing(self) -> float:
        """How far apart the run's fast and slow spells were (1.0: steady)."""
        return self.high / self.low if self.low > 0 else 1.0


def point_probes(cases: Iterable[CaseRecord]) -> list[int]:
    """Each block's probe once: the cases of a point share their blocks' probes, so a
    point counts through the case with the most of them."""
    best: dict[tuple[str, str, float | None], list[int]] = {}
    for case in cases:
        probes = case.get("machine_ns") or []
        point = (case["scenario"], repr(sorted(case["params"].items())), rtt_of(case))
        if len(probes) > len(best.get(point, [])):
            best[point] = list(probes)
    return [p for probes in best.values() for p in probes]


def speed_of(probes: Sequence[int]) -> Speed | None:
    """The run's speed, or None for a run that recorded no probe (older files)."""
    if not probes:
        return None
    ordered = sorted(probes)
    decile = len(ordered) // 10
    return Speed(median=statistics.median(ordered), low=ordered[decile],
                 high=ordered[len(ordered) - 1 - decile])


def speed_of_runs(docs: Iterable[RunRecord]) -> Speed | None:
    """The speed over one or several runs: each run's points counted once (a point met
    again in another run is another set of blocks)."""
    return speed_of([p for doc in docs for p in point_probes(doc["cases"])])


def run_speed_line(speed: Speed | None) -> str | None:
    """One line for the end of a run: how fast the machine was, and whether it moved."""
    if speed is None:
        return None
    line = (f"machine speed: a fixed Python probe took {speed.median / 1e6:.2f} ms per block "
            f"(p10-p90 {speed.low / 1e6:.2f}-{speed.high / 1e6:.2f} ms)")
    if speed.swing - 1 >= SPEED_CHANGE_NOTED:
        line += (f"; the machine changed speed {speed.swing:.2f}x during the run, which moves "
                 "the ratios of variants that differ in CPU share")
    return line


def compare_speed_line(base: Speed | None, new: Speed | None) -> str | None:
    """A line for compare when the two sides' probes differ enough to move ratios. None
    otherwise: a steady probe does not vouch for the verdicts (the ORM's slow spells are
    not all visible to it), so it earns no reassuring line."""
    if base is None or new is None:
        return None
    change = new.median / base.median - 1
    if abs(change) < SPEED_CHANGE_NOTED:
        return None
    return (f"machine speed: the Python probe took {base.median / 1e6:.2f} ms per block in "
            f"BASE and {new.median / 1e6:.2f} ms in NEW ({change:+.0%}): the machine ran at "
            "another speed, and ratios of variants that differ in CPU share move with it; "
            "`sqla-bench ab` measures both sides in the same spells")
