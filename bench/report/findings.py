"""Findings as decisions: the comparisons each family declares, read from the results file.

A family names the decisions it answers (bench.api.family.Comparison); the runner writes
them into the file and this module states each one for a run: at the declared point,
the winner with its paired ratio and 95% interval (per-block ratios of the two cases,
never a ratio of medians), and the statements per operation of both. An interval that
holds 1 is "no clear winner".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bench.report.model import FamilyView, Group, Run
from bench.results import stats
from bench.results.records import CaseRecord, ComparisonRecord
from bench.results.units import fmt_bytes, fmt_duration

Outcome = Literal["candidate", "against", "tie", "missing"]


def singular(unit: str) -> str:
    """'queries' -> 'query', 'rows' -> 'row': "statements per query"."""
    if unit.endswith("ies"):
        return unit[:-3] + "y"
    return unit[:-1] if unit.endswith("s") else (unit or "op")


def paired_ratio(case: CaseRecord, other: CaseRecord) -> tuple[float, float, float] | None:
    """`case`'s time per op over `other`'s, block by block: (median, 95% low, 95% high).
    The case's own paired record when `other` is its reference; else computed from the two
    cases' rounds of the same blocks. None when they share no block (an old file)."""
    paired = case["paired"]
    if paired is not None and paired["reference"] == other["variant"]:
        return paired["median"], paired["ci95_low"], paired["ci95_high"]
    if any(len(c["blocks"]) != len(c["samples_ns"]) for c in (case, other)):
        return None
    ratios = stats.block_ratios(case["samples_ns"], case["blocks"], case["ops_per_round"],
                                other["samples_ns"], other["blocks"], other["ops_per_round"])
    if not ratios:
        return None
    return stats.ratio_summary(ratios)


def fmt_factor(value: float) -> str:
    """A ratio or factor as the page writes it: three significant digits."""
    return f"{value:.3g}"


_x = fmt_factor


def _count(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


@dataclass
class Decision:
    """One declared comparison as one run answers it."""

    family: str
    comparison: ComparisonRecord
    unit: str
    point: str | None = None  # the parameter point it was read at
    ratio: tuple[float, float, float] | None = None  # candidate / against time per op
    cases: tuple[CaseRecord, CaseRecord] | None = None  # (candidate, against)
    missing: str | None = None  # why there is no verdict

    @property
    def candidate(self) -> str:
        return self.comparison["candidate"]

    @property
    def against(self) -> str:
        return self.comparison["against"]

    @property
    def outcome(self) -> Outcome:
        if self.ratio is None:
            return "missing"
        _median, low, high = self.ratio
        if high < 1:
            return "candidate"
        if low > 1:
            return "against"
        return "tie"

    def factor(self) -> tuple[float, float, float]:
        """How many times faster the winner is: (median, low, high) of that factor."""
        assert self.ratio is not None
        median, low, high = self.ratio
        if self.outcome == "candidate":
            return 1 / median, 1 / high, 1 / low
        return median, low, high

    def _pair_details(self, first: int) -> str:
        """Statements per op (and peak memory) of the two cases, `first` named first."""
        assert self.cases is not None
        a, b = self.cases[first], self.cases[1 - first]
        text = (f"{_count(a['statements_per_op'])} vs {_count(b['statements_per_op'])} "
                f"statements per {singular(self.unit)}")
        memory = [c["extra"].get("peak_memory_bytes") for c in (a, b)]
        if all(isinstance(m, (int, float)) for m in memory):
            text += f"; peak memory {fmt_bytes(memory[0])} vs {fmt_bytes(memory[1])}"
        return text

    def text(self) -> str:
        """The decision in one sentence."""
        head = self.comparison["sentence"]
        if self.outcome == "missing":
            return f"{head}: {self.missing}."
        median, low, high = self.ratio or (0.0, 0.0, 0.0)
        if self.outcome == "tie":
            return (f"{head}: no clear winner at {self.point} ({self.candidate} takes "
                    f"{_x(median)}× the time of {self.against}, 95% interval "
                    f"{_x(low)}–{_x(high)}×); {self._pair_details(0)}.")
        winner_first = 0 if self.outcome == "candidate" else 1
        winner, loser = ((self.candidate, self.against) if winner_first == 0
                         else (self.against, self.candidate))
        factor, f_low, f_high = self.factor()
        return (f"{head}: {winner} is {_x(factor)}× ({_x(f_low)}–{_x(f_high)}×) faster than "
                f"{loser} at {self.point}; {self._pair_details(winner_first)}.")

    def short(self) -> str:
        """The verdict in a table cell, read with the comparison's sentence."""
        if self.outcome == "missing":
            return "not measured"
        if self.outcome == "tie":
            return "no clear winner"
        factor = _x(self.factor()[0])
        return f"{factor}× faster" if self.outcome == "candidate" else f"{factor}× slower"


def decide(view: FamilyView, run: Run, comparison: ComparisonRecord,
           among: list[Group] | None = None) -> Decision:
    """The comparison read on one run, at the point it names; `among` narrows the run's
    groups (to one RTT of an --rtt sweep: a decision never pairs cases across RTTs)."""
    decision = Decision(view.name, comparison, view.unit)
    candidates = view.groups_of(run) if among is None else among
    groups = [g for g in candidates
              if g.case(comparison["candidate"]) and g.case(comparison["against"])]
    if not groups:
        decision.missing = "not measured: " + _absence(candidates, comparison)
        return decision
    group = read_point(groups, comparison)
    candidate, against = group.case(comparison["candidate"]), group.case(comparison["against"])
    assert candidate is not None and against is not None
    decision.point = group.params_text
    failed = [c for c in (candidate, against) if c["status"] != "ok" or not c["stats"]]
    if failed:
        decision.missing = f"not measured at {group.params_text}: " + "; ".join(
            f"{c['variant']} {_why(c)}" for c in failed)
        return decision
    decision.cases = (candidate, against)
    decision.ratio = paired_ratio(candidate, against)
    if decision.ratio is None:
        assert candidate["stats"] is not None and against["stats"] is not None
        decision.missing = (
            f"not measured side by side at {group.params_text} (no shared blocks, so no "
            f"paired ratio); medians {fmt_duration(candidate['stats']['median'])} vs "
            f"{fmt_duration(against['stats']['median'])} per round")
    return decision


def read_point(groups: list[Group], comparison: ComparisonRecord) -> Group:
    """The group the comparison is read at: its `at` values (when measured), the largest
    value of each `largest` parameter, both variants ok when possible, then run order."""
    at = comparison.get("at") or {}
    chosen = [g for g in groups if all(g.params.get(k) == v for k, v in at.items())] or groups
    for key in comparison.get("largest") or []:
        values = [g.params[key] for g in chosen if isinstance(g.params.get(key), (int, float))]
        if values:
            chosen = [g for g in chosen if g.params.get(key) == max(values)]
    ok = [g for g in chosen if all(c["status"] == "ok" for c in
                                   (g.case(comparison["candidate"]), g.case(comparison["against"]))
                                   if c is not None)]
    return (ok or chosen)[0]


def _why(case: CaseRecord) -> str:
    error = case["error"] or ""
    if error.startswith("skipped: "):
        return f"skipped ({error.removeprefix('skipped: ')})"
    return f"{case['status']} ({error})" if error else case["status"]


def _absence(groups: list[Group], comparison: ComparisonRecord) -> str:
    reasons = []
    for name in (comparison["candidate"], comparison["against"]):
        cases = [c for g in groups for c in g.cases if c["variant"] == name]
        if not cases:
            reasons.append(f"{name} did not run")
        elif all(c["status"] != "ok" for c in cases):
            reasons.append(f"{name} {_why(cases[0])}")
    return "; ".join(reasons) or "the two never ran at one parameter point"


def decisions(view: FamilyView, run: Run) -> list[Decision]:
    """Every comparison the family declared in this run's file, in declared order."""
    if not view.groups_of(run):
        return []
    return [decide(view, run, c) for c in run.comparisons(view.name)]


def undeclared(view: FamilyView, run: Run) -> str:
    """What the page says of a family that declares no comparison (a user's family, a
    pytest-benchmark file): its fastest variant against the reference, paired."""
    best: tuple[float, CaseRecord, Group] | None = None
    for group in view.groups_of(run):
        for case in group.ok_cases():
            paired = case["paired"]
            if paired is not None and (best is None or paired["median"] < best[0]):
                best = (paired["median"], case, group)
    tail = ("the results file declares no comparison for this family (Family(comparisons=[...]) "
            "names the decisions a family answers)")
    if best is None:
        return tail
    ratio, case, group = best
    paired = case["paired"]
    assert paired is not None
    return (f"{tail}; fastest against its reference: {case['variant']} at {group.params_text}, "
            f"{_x(ratio)}× the time of {paired['reference']} "
            f"({_x(paired['ci95_low'])}–{_x(paired['ci95_high'])}×)")
