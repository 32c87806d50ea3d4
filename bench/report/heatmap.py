"""Which driver? Cases × drivers, one cell per case and driver.

From one run of several drivers (`--driver asyncpg,psycopg`), the drivers' rounds ran in
the same blocks: a cell is the case's paired driver ratio (median of per-block ratios to
the reference driver, bench.measure.summary.record_paired_drivers), greyed where its 95%
interval holds 1, and each family says its decision per driver pair
(bench.judge.driver_pairs).

From separate runs there are no shared blocks and no paired ratio: a cell is the case's
median per op relative to its fastest run (a ratio of two medians; a few percent can be
the machine rather than the driver), and the map says so ("separate runs: absolute
times, not paired"). A family's row is the geometric mean of its cells over the cases
every run of that family measured, which names the fastest driver per family in one line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.judge.driver_pairs import Outcome, driver_pairs, holds_one
from bench.report.model import FamilyView, Run
from bench.results.records import CaseRecord, per_op
from bench.results.units import fmt_duration

# Colour stops of the relative time, on a log2 scale: 1× pale green, 2.8× pale yellow,
# 8× and beyond red.
STOPS = ((0.0, (227, 242, 225)), (0.5, (255, 243, 196)), (1.0, (214, 83, 79)))
WORST = 8.0


GREY = "background:#eceff3;color:#8a939e"  # a paired ratio whose interval holds 1
GREEN = (120, 190, 120)  # the strongest green: this driver WORST× faster than the reference


@dataclass
class Cell:
    ratio: float | None  # time / the fastest run's time; None: the run lacks the case
    tip: str = ""
    paired: bool = False  # a paired driver ratio (to the reference driver), not a relative time
    holds_one: bool = False  # its interval holds 1: no clear difference
    reference: bool = False  # the reference driver's own cell

    @property
    def text(self) -> str:
        if self.ratio is None:
            return "–"
        if self.reference:
            return "ref"
        if self.ratio >= 10:
            return f"{self.ratio:.0f}"
        return f"{self.ratio:.2f}" if self.ratio < 2 else f"{self.ratio:.1f}"

    @property
    def style(self) -> str:
        if self.ratio is None or self.reference:
            return ""
        if self.paired and self.holds_one:
            return GREY
        if self.paired and self.ratio < 1:
            share = min(1.0, math.log2(1 / self.ratio) / math.log2(WORST))
            pale = STOPS[0][1]
            return "background:#" + "".join(f"{round(a + (b - a) * share):02x}"
                                            for a, b in zip(pale, GREEN, strict=True))
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
    decisions: list[str] = field(default_factory=list)  # paired: one per driver pair


def _blend(share: float) -> str:
    for (s0, c0), (s1, c1) in zip(STOPS, STOPS[1:], strict=False):
        if share <= s1:
            t = (share - s0) / (s1 - s0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1,
                                                                                 strict=True))
    return "#" + "".join(f"{v:02x}" for v in STOPS[-1][1])


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def is_paired(runs: list[Run]) -> bool:
    """The runs are the drivers of one run of several: their cells can be paired ratios."""
    sources = {run.paired_in for run in runs}
    return len(runs) > 1 and len(sources) == 1 and None not in sources


def cases_by_run(view: FamilyView) -> dict[tuple[str, str], dict[str, CaseRecord]]:
    """The family's ok cases by (variant, point), then by the run's label."""
    cases: dict[tuple[str, str], dict[str, CaseRecord]] = defaultdict(dict)
    for group in view.groups:
        for case in group.ok_cases():
            cases[(case["variant"], group.params_text)][group.run.label] = case
    return cases


def heat_map(views: list[FamilyView], runs: list[Run]) -> list[FamilyRows]:
    """A block of rows per family that at least two runs measured."""
    if is_paired(runs):
        return paired_heat_map(views, runs)
    families = []
    for view in views:
        cases = cases_by_run(view)
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


def paired_heat_map(views: list[FamilyView], runs: list[Run]) -> list[FamilyRows]:
    """The drivers of one run of several: each cell the case's paired driver ratio."""
    families = []
    for view in views:
        cases = cases_by_run(view)
        ran = [r for r in runs if any(r.label in by_run for by_run in cases.values())]
        if len(ran) < 2:
            continue
        rows = []
        ratios: dict[str, list[float]] = defaultdict(list)
        for (variant, point), by_run in cases.items():
            cells = []
            for run in runs:
                found = by_run.get(run.label)
                cells.append(_paired_cell(run, found, holds_one(found) if found else None))
                paired = found.get("paired_driver") if found is not None else None
                if paired is not None:
                    ratios[run.label].append(paired["median"])
            rows.append(CaseRow(f"{variant} · {point}", cells))
        pairs = driver_pairs(c for group in view.groups for c in group.cases)
        cells = [Cell(_geomean(ratios[r.label]), f"{r.column}: geometric mean of its "
                      f"{len(ratios[r.label])} paired ratios", paired=True)
                 if ratios.get(r.label) else
                 Cell(1.0, f"{r.column}: the reference driver", reference=True)
                 if r in ran and _is_reference(r) else Cell(None, f"{r.column}: no paired ratio")
                 for r in runs]
        summary = "; ".join(f"{p.driver}: {_tally(p.counts())}" for p in pairs)
        families.append(FamilyRows(view.name, cells, summary, rows,
                                   decisions=[p.text() + "." for p in pairs]))
    return families


def _is_reference(run: Run) -> bool:
    label = run.doc["config"].get("driver")
    return any(d.get("label") == label and d.get("reference") is None
               for d in run.doc["config"].get("drivers") or [])


def _paired_cell(run: Run, case: CaseRecord | None, holds: bool | None) -> Cell:
    if case is None:
        return Cell(None, f"{run.column} did not measure it")
    paired = case.get("paired_driver")
    time = f"{fmt_duration(per_op(case))} per op"
    if paired is None:
        if _is_reference(run):
            return Cell(1.0, f"{run.column}: the reference driver, {time}", reference=True)
        return Cell(None, f"{run.column}: {time}; not paired (another backend)")
    return Cell(paired["median"], f"{run.column}: {paired['median']:.3g}× the time of "
                f"{paired['reference']} (family-wise 95% interval {paired['ci95_low']:.3g}–"
                f"{paired['ci95_high']:.3g}×, {paired['n']} blocks); {time}",
                paired=True, holds_one=bool(holds))


def _tally(counts: Mapping[Outcome, int]) -> str:
    return (f"faster on {counts['faster']}, slower on {counts['slower']}, "
            f"no clear winner on {counts['tie']}")
