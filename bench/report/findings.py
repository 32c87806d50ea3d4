"""The report's side of the decisions: bench.judge.decisions reads them (one home, shared
with the terminal's answers); this module hands it the report's groups of a run."""

from __future__ import annotations

from bench.judge import decisions as judged
from bench.judge.decisions import Decision, Outcome, paired_ratio, read_point, singular
from bench.report.model import FamilyView, Group, Run
from bench.results.records import ComparisonRecord

__all__ = ["Decision", "Outcome", "decide", "decisions", "paired_ratio", "read_point",
           "singular", "undeclared"]


def decide(view: FamilyView, run: Run, comparison: ComparisonRecord,
           among: list[Group] | None = None) -> Decision:
    """The comparison read on one run, at the point it names; `among` narrows the run's
    groups (to one RTT of an --rtt sweep: a decision never pairs cases across RTTs)."""
    groups = view.groups_of(run) if among is None else among
    return judged.decide(view.name, view.unit, comparison, groups)


def decisions(view: FamilyView, run: Run) -> list[Decision]:
    """Every comparison the family declared in this run's file, in declared order."""
    return judged.decisions(view.name, view.unit, run.comparisons(view.name),
                            view.groups_of(run))


def undeclared(view: FamilyView, run: Run) -> str:
    """What the page says of a family that declares no comparison."""
    return judged.undeclared(view.groups_of(run))
