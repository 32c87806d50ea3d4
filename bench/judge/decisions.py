"""Decisions: the comparisons each family declares, as one run answers them.

A family names the decisions it answers (bench.api.family.Comparison); the runner writes
them into the results file and this module states each one for a run: at the declared
point, the winner with its paired ratio and 95% interval (per-block ratios of the two
cases, never a ratio of medians), and the statements per operation of both. An interval
that holds 1 is "no clear winner". A comparison marked `overhead` is a cost to know, not
a choice to make: its verdict is stated in a neutral tone.

One home for the terminal's answers (bench.cli) and the report's (bench.report): both
hand in their parameter points (anything with `params`, `params_text`, `cases` and
`case(variant)`); `run_points` builds them from a results document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bench.results import stats
from bench.results.records import (
    RAW_VARIANT,
    CaseRecord,
    ComparisonRecord,
    RunRecord,
    params_text,
    rtt_of,
    rtt_text,
)
from bench.results.units import fmt_bytes, fmt_count, fmt_duration

Outcome = Literal["candidate", "against", "tie", "missing"]
Tone = Literal["candidate", "against", "tie", "missing", "overhead"]


class PointCases(Protocol):
    """The cases of one family at one parameter point (and RTT) of one run."""

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def params_text(self) -> str: ...

    @property
    def cases(self) -> list[CaseRecord]: ...

    def case(self, variant: str) -> CaseRecord | None: ...


@dataclass
class Point:
    """A parameter point of a results document (the report has its own, richer Group)."""

    params: dict[str, Any]
    rtt_ms: float | None = None
    cases: list[CaseRecord] = field(default_factory=list)

    @property
    def params_text(self) -> str:
        text = params_text(self.params)
        return text if self.rtt_ms is None else f"{text} {rtt_text(self.rtt_ms)}"

    def case(self, variant: str) -> CaseRecord | None:
        return next((c for c in self.cases if c["variant"] == variant), None)


def run_points(doc: RunRecord) -> dict[str, list[Point]]:
    """Each family's points of one run, families and points in run order."""
    families: dict[str, dict[tuple[str, float | None], Point]] = {}
    for case in doc["cases"]:
        key = (json.dumps(case["params"], sort_keys=True), rtt_of(case))
        points = families.setdefault(case["scenario"], {})
        if key not in points:
            points[key] = Point(case["params"], rtt_of(case))
        points[key].cases.append(case)
    return {name: list(points.values()) for name, points in families.items()}


def varying_params(points: list[Any]) -> set[str]:
    """The parameters that take two values or more among the points: only these tell
    two points apart (a constant pool_timeout=5.0 beside every point says nothing)."""
    values: dict[str, set[str]] = {}
    for point in points:
        for key, value in point.params.items():
            values.setdefault(key, set()).add(json.dumps(value, sort_keys=True))
    return {key for key, seen in values.items() if len(seen) > 1}


def comparisons_of(doc: RunRecord, family: str) -> list[ComparisonRecord]:
    """The decisions the family declared when this run was made."""
    meta = doc["families"].get(family)
    return list(meta.get("comparisons") or []) if meta else []


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
    """A ratio or factor as decisions write it: three significant digits."""
    return f"{value:.3g}"


_x = fmt_factor


def _count(value: float | None) -> str:
    return "?" if value is None else fmt_count(value)


@dataclass
class Decision:
    """One declared comparison as one run answers it."""

    family: str
    comparison: ComparisonRecord
    unit: str
    point: str | None = None  # the parameter point it was read at
    params: dict[str, Any] | None = None  # that point's parameters
    rtt_ms: float | None = None  # and its RTT through the proxy (None: direct)
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
    def overhead(self) -> bool:
        """A cost to know, not a choice to make: declared so, or read against the bare
        driver (the floor no application chooses; results files from before 0.3)."""
        return (bool(self.comparison.get("overhead"))
                or RAW_VARIANT in (self.candidate, self.against))

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

    @property
    def tone(self) -> Tone:
        """How the verdict is coloured: by its outcome, neutral for an overhead."""
        if self.overhead and self.outcome != "missing":
            return "overhead"
        return self.outcome

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
        """The decision in one sentence, at its whole parameter point (the report's)."""
        return self.brief(self.point) + "."

    def brief(self, where: str | None) -> str:
        """The decision in one sentence, its point named by `where` (None: not named; the
        terminal names only the parameters that vary)."""
        head = self.comparison["sentence"]
        if self.outcome == "missing":
            return f"{head}: {self.missing}"
        at = f" at {where}" if where else ""
        median, low, high = self.ratio or (0.0, 0.0, 0.0)
        if self.overhead:
            return (f"{head}: {self.candidate} takes {_x(median)}× the time of "
                    f"{self.against} ({_x(low)}–{_x(high)}×){at}; {self._pair_details(0)}")
        if self.outcome == "tie":
            return (f"{head}: no clear winner{at} ({self.candidate} takes "
                    f"{_x(median)}× the time of {self.against}, 95% interval "
                    f"{_x(low)}–{_x(high)}×); {self._pair_details(0)}")
        winner_first = 0 if self.outcome == "candidate" else 1
        winner, loser = ((self.candidate, self.against) if winner_first == 0
                         else (self.against, self.candidate))
        factor, f_low, f_high = self.factor()
        return (f"{head}: {winner} is {_x(factor)}× ({_x(f_low)}–{_x(f_high)}×) faster than "
                f"{loser}{at}; {self._pair_details(winner_first)}")

    def short(self) -> str:
        """The verdict in a table cell, read with the comparison's sentence."""
        if self.outcome == "missing":
            return "not measured"
        if self.overhead:
            return f"{_x(self.ratio[0])}× the time" if self.ratio else "not measured"
        if self.outcome == "tie":
            return "no clear winner"
        factor = _x(self.factor()[0])
        return f"{factor}× faster" if self.outcome == "candidate" else f"{factor}× slower"


def decide(family: str, unit: str, comparison: ComparisonRecord,
           points: list[Any]) -> Decision:
    """The comparison read on one run's points of the family (of one RTT in an --rtt
    sweep: a decision never pairs cases across RTTs), at the point it names."""
    decision = Decision(family, comparison, unit)
    candidates: list[PointCases] = points
    groups = [g for g in candidates
              if g.case(comparison["candidate"]) and g.case(comparison["against"])]
    if not groups:
        decision.missing = "not measured: " + _absence(candidates, comparison)
        return decision
    group = read_point(groups, comparison)
    candidate, against = group.case(comparison["candidate"]), group.case(comparison["against"])
    assert candidate is not None and against is not None
    decision.point = group.params_text
    decision.params = dict(group.params)
    decision.rtt_ms = getattr(group, "rtt_ms", None)
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


def read_point(groups: list[Any], comparison: ComparisonRecord) -> Any:
    """The point the comparison is read at: its `at` values (when measured), the largest
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


def _absence(groups: list[PointCases], comparison: ComparisonRecord) -> str:
    reasons = []
    for name in (comparison["candidate"], comparison["against"]):
        cases = [c for g in groups for c in g.cases if c["variant"] == name]
        if not cases:
            reasons.append(f"{name} did not run")
        elif all(c["status"] != "ok" for c in cases):
            reasons.append(f"{name} {_why(cases[0])}")
    return "; ".join(reasons) or "the two never ran at one parameter point"


def decisions(family: str, unit: str, comparisons: list[ComparisonRecord],
              points: list[Any]) -> list[Decision]:
    """Every comparison the family declared, in declared order (none without points)."""
    if not points:
        return []
    return [decide(family, unit, c, points) for c in comparisons]


def run_decisions(doc: RunRecord) -> list[Decision]:
    """Every family's declared decisions in one run, per RTT of an --rtt sweep."""
    out: list[Decision] = []
    for family, points in run_points(doc).items():
        unit = points[0].cases[0].get("unit") or ""
        for rtt in dict.fromkeys(p.rtt_ms for p in points):
            out.extend(decisions(family, unit, comparisons_of(doc, family),
                                 [p for p in points if p.rtt_ms == rtt]))
    return out


def one_point_note(points: list[Any], sweeps: list[str], profile: str | None) -> str | None:
    """What to say when a run measured one value of a parameter the family's question
    needs several of (`sweeps`: pool_sizing's pool sizes): its answers hold at that point
    alone. None when the run swept them, or the question needs no sweep."""
    measured = [p for p in points if any(c["status"] == "ok" for c in p.cases)]
    needed = [s for s in sweeps if any(s in p.params for p in measured)]
    single = [s for s in needed if len({json.dumps(p.params.get(s)) for p in measured}) < 2]
    if not single:
        return None
    values = ", ".join(f"{s}={measured[0].params[s]}" for s in single)
    where = f", profile {profile}" if profile else ""
    return (f"One point only ({values}{where}): this question needs several values of "
            f"{' and '.join(single)}, so its answers hold at this point alone; "
            "use --profile standard for the sweep.")


def undeclared(points: list[Any]) -> str:
    """What is said of a family that declares no comparison (a user's family, a
    pytest-benchmark file): its fastest variant against the reference, paired."""
    best: tuple[float, CaseRecord, Any] | None = None
    for group in points:
        for case in group.cases:
            if case["status"] != "ok" or not case["stats"]:
                continue
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
