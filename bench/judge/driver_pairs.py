"""Which driver, from paired rounds: each family's decision per driver pair.

A run of several drivers (`--driver asyncpg,psycopg`) records, for every case, its
per-block ratio to the same variant on the reference driver (`paired_driver`). Here those
ratios become one sentence per family and driver pair, worded as the family decisions
are (bench.report.findings): "asyncpg instead of psycopg on loading: 1.4× (1.3–1.5×)
faster on selectinload; no clear winner on raw_driver". An interval that holds 1 is
"no clear winner", whatever the median says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.judge.decisions import fmt_factor
from bench.results.records import CaseRecord

Outcome = Literal["faster", "slower", "tie"]


@dataclass
class PairedCase:
    """One case's paired driver ratio: this driver's time per op over the reference's."""

    variant: str
    params: dict[str, Any]
    median: float
    low: float
    high: float
    blocks: int

    @property
    def outcome(self) -> Outcome:
        if self.high < 1:
            return "faster"
        if self.low > 1:
            return "slower"
        return "tie"

    def factor_median(self) -> float:
        """How many times faster or slower (the median, always >= 1 for a winner)."""
        return 1 / self.median if self.outcome == "faster" else self.median

    def factor(self) -> str:
        """How many times faster or slower, with its interval: `1.4× (1.3–1.5×)`."""
        median, low, high = self.median, self.low, self.high
        if self.outcome == "faster":
            median, low, high = 1 / median, 1 / high, 1 / low
        return f"{fmt_factor(median)}× ({fmt_factor(low)}–{fmt_factor(high)}×)"


@dataclass
class DriverPair:
    """One driver against its reference driver on one family."""

    family: str
    driver: str
    reference: str
    cases: list[PairedCase] = field(default_factory=list)

    def _point(self, case: PairedCase) -> str:
        """The parameters that tell the pair's points apart (a constant one says nothing)."""
        keys = {k for c in self.cases for k, v in c.params.items()
                if any(o.params.get(k) != v for o in self.cases)}
        return " ".join(f"{k}={v}" for k, v in case.params.items() if k in keys)

    def text(self) -> str:
        """The decision in one sentence (no trailing full stop): a variant measured at
        several points with one outcome is one phrase (its range of medians)."""
        said: dict[Outcome, list[str]] = {"faster": [], "slower": [], "tie": []}
        variants = dict.fromkeys(c.variant for c in self.cases)
        for variant in variants:
            cases = [c for c in self.cases if c.variant == variant]
            outcomes = {c.outcome for c in cases}
            if len(cases) > 1 and len(outcomes) == 1:
                outcome = cases[0].outcome
                if outcome == "tie":
                    said["tie"].append(f"{variant} ({len(cases)} points)")
                    continue
                factors = sorted(c.factor_median() for c in cases)
                said[outcome].append(f"{fmt_factor(factors[0])}–{fmt_factor(factors[-1])}× "
                                     f"{outcome} on {variant} ({len(cases)} points)")
                continue
            for case in cases:
                where = f" [{self._point(case)}]" if len(cases) > 1 else ""
                if case.outcome == "tie":
                    said["tie"].append(variant + where)
                else:
                    said[case.outcome].append(f"{case.factor()} {case.outcome} on "
                                              f"{variant}{where}")
        parts = ["; ".join(said["faster"]), "; ".join(said["slower"])]
        if said["tie"]:
            parts.append("no clear winner on " + ", ".join(said["tie"]))
        return (f"{self.driver} instead of {self.reference} on {self.family}: "
                + "; ".join(p for p in parts if p))

    def counts(self) -> dict[Outcome, int]:
        out: dict[Outcome, int] = {"faster": 0, "slower": 0, "tie": 0}
        for case in self.cases:
            out[case.outcome] += 1
        return out


def driver_pairs(cases: Iterable[CaseRecord]) -> list[DriverPair]:
    """Every (family, driver, reference driver) with paired driver ratios, in the order
    first seen."""
    pairs: dict[tuple[str, str, str], DriverPair] = {}
    for case in cases:
        paired = case.get("paired_driver")
        if paired is None or case["status"] != "ok":
            continue
        key = (case["scenario"], case["driver"], paired["reference"])
        pair = pairs.setdefault(key, DriverPair(*key))
        pair.cases.append(PairedCase(case["variant"], dict(case["params"]), paired["median"],
                                     paired["ci95_low"], paired["ci95_high"], paired["n"]))
    return list(pairs.values())


def holds_one(case: CaseRecord) -> bool | None:
    """Whether the case's paired driver interval holds 1 (None: it has no such ratio)."""
    paired = case.get("paired_driver")
    if paired is None:
        return None
    return paired["ci95_low"] <= 1 <= paired["ci95_high"]
