"""Which driver? Cases × runs, each cell the case's time relative to its fastest run.

Runs are separate processes at separate times, so across runs there are no shared
blocks and no paired ratio: a cell is the ratio of two medians per op, and differences
of a few percent can be the machine rather than the driver. A family's row is the
geometric mean of its cells over the cases every run of that family measured, which
names the fastest driver per family in one line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from bench.report.model import FamilyView, Run
from bench.results.records import CaseRecord, per_op
from bench.results.units import fmt_duration

# Colour stops of the relative time, on a log2 scale: 1× pale green, 2.8× pale yellow,
# 8× and beyond red.
STOPS = ((0.0, (227, 242, 225)), (0.5, (255, 243, 196)), (1.0, (214, 83, 79)))
WORST = 8.0


@dataclass
class Cell:
    ratio: float | None  # time / the fastest run's time; None: the run lacks the case
    tip: str = ""

    @property
    def text(self) -> str:
        if self.ratio is None:
            return "–"
        if self.ratio >= 10:
            return f"{self.ratio:.0f}"
        return f"{self.ratio:.2f}" if self.ratio < 2 else f"{self.ratio:.1f}"

    @property
    def style(self) -> str:
        if self.ratio is None:
            return ""
        share = min(1.0, math.log2(max(self.ratio, 1.0)) / math.log2(WORST))
        colour = _blend(share)
        ink = "#fff" if share > 0.8 else "#1d232b"
        return f"background:{colour};color:{ink}"


@dataclass
class CaseRow:
    name: str  # variant · parameters
    cells: list[Cell]


@dataclass
class FamilyRows:
    name: str
    cells: list[Cell]  # geometric means
    fastest: str  # the one line: which run is fastest for this family
    rows: list[CaseRow] = field(default_factory=list)


def _blend(share: float) -> str:
    for (s0, c0), (s1, c1) in zip(STOPS, STOPS[1:], strict=False):
        if share <= s1:
            t = (share - s0) / (s1 - s0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1,
                                                                                 strict=True))
    return "#" + "".join(f"{v:02x}" for v in STOPS[-1][1])


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def heat_map(views: list[FamilyView], runs: list[Run]) -> list[FamilyRows]:
    """A block of rows per family that at least two runs measured."""
    families = []
    for view in views:
        cases: dict[tuple[str, str], dict[str, CaseRecord]] = defaultdict(dict)
        for group in view.groups:
            for case in group.ok_cases():
                cases[(case["variant"], group.params_text)][group.run.label] = case
        ran = [r for r in runs if any(r.label in by_run for by_run in cases.values())]
        if len(ran) < 2:
            continue
        rows, relative = [], {}
        for (variant, point), by_run in cases.items():
            fastest = min(per_op(c) for c in by_run.values())
            relative[(variant, point)] = {label: per_op(c) / fastest if fastest > 0 else 1.0
                                          for label, c in by_run.items()}
            rows.append(CaseRow(f"{variant} · {point}", [
                Cell(relative[(variant, point)].get(run.label),
                     f"{run.column}: {fmt_duration(per_op(by_run[run.label]))} per op"
                     if run.label in by_run else f"{run.column} did not measure it")
                for run in runs]))
        families.append(_family_rows(view.name, runs, ran, relative, rows))
    return families


def _family_rows(name: str, runs: list[Run], ran: list[Run],
                 relative: dict[tuple[str, str], dict[str, float]],
                 rows: list[CaseRow]) -> FamilyRows:
    shared = [by_run for by_run in relative.values() if all(r.label in by_run for r in ran)]
    basis = f"over the {len(shared)} cases every run measured"
    if not shared:  # no case in common: each run's mean over what it measured
        shared, basis = list(relative.values()), "over the cases each run measured"
    means = {r.label: _geomean([c[r.label] for c in shared if r.label in c]) for r in ran}
    cells = [Cell(means.get(r.label), f"{r.column}: geometric mean {basis}") for r in runs]
    order = sorted(ran, key=lambda r: means[r.label])
    best, runner_up = order[0], order[1]
    wins = sum(1 for c in shared if min(c, key=c.__getitem__) == best.label)
    fastest = (f"{best.column} · next {runner_up.column} "
               f"{means[runner_up.label] / means[best.label]:.2f}× · won {wins} of {len(shared)}")
    return FamilyRows(name, cells, fastest, rows)
