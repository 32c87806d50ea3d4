"""Which driver, per family, from paired rounds: the chart of a run of several drivers.

The drivers of one run (`--driver asyncpg,psycopg,aiopg`) ran in the same blocks, so each
case carries its paired driver ratio: its time per op over the same variant's on the
reference driver, block by block (`paired_driver`, bench.run.several). Here, per variant,
a dot per other driver at that ratio's median with its family-wise 95% interval, a line at
1 for the reference driver ("= asyncpg"), hollow and grey where the interval holds 1 (no
clear difference). One scale for the family; log only past 20×, and then it says so.
Separate runs have no such ratio: their chart is charts.drivers_chart (absolute times).
"""

from __future__ import annotations

from collections import defaultdict

from bench.judge.driver_pairs import holds_one
from bench.report.charts import Colours, _padded, family_chart
from bench.report.figures import Dot, DotSpec, log_label, spans_widely
from bench.report.findings import singular
from bench.report.model import FamilyView, Group, Run
from bench.report.render import Chart
from bench.results.records import CaseRecord, per_op
from bench.results.units import fmt_duration

# a part of the chart: (the point as the page names it, the reference driver's label)
Part = tuple[str, str]


def _ratio(case: CaseRecord) -> tuple[float, float, float]:
    paired = case["paired_driver"]
    return paired["median"], paired["ci95_low"], paired["ci95_high"]


def paired_drivers_chart(view: FamilyView, runs: list[Run], run_colours: Colours
                         ) -> Chart | None:
    """The family's paired driver ratios in one chart: a part per point (and reference
    driver, when drivers of several backends each have their own); None when no case of
    the family has a paired driver ratio (one driver ran it, or drivers of different
    backends that were not paired)."""
    parts: dict[Part, dict[str, dict[str, CaseRecord]]] = defaultdict(lambda: defaultdict(dict))
    groups: dict[Part, Group] = {}
    for group in view.groups:
        for case in group.ok_cases():
            if case.get("paired_driver") is None:
                continue
            part = (group.params_text, case["paired_driver"]["reference"])
            groups.setdefault(part, group)
            parts[part][case["variant"]][group.run.column] = case
    if not parts:
        return None
    names = {run.driver: run.column for run in runs}  # a driver's label -> its column
    references = list(dict.fromkeys(names.get(ref, ref) for _, ref in parts))
    paired = {column for rows in parts.values() for by_driver in rows.values()
              for column in by_driver}
    shown = [r.column for r in runs if r.column in paired]  # in the run's order
    series = [(column, run_colours(column)) for column in shown]
    values = [1.0] + [v for rows in parts.values() for by_driver in rows.values()
                      for case in by_driver.values() for v in _ratio(case)]
    log = spans_widely(values)
    limits = _padded(values, log)
    against = references[0] if len(references) == 1 else "the reference driver"
    x_label = log_label(f"time per {singular(view.unit)} relative to {against} (paired per "
                        "block): dot median, bar family-wise 95% interval", log)
    drawn = []
    for (point, label), rows in parts.items():
        spec = _part(view, point, names.get(label, label), rows, shown, run_colours, limits,
                     log)
        spec.x_label, spec.series = x_label, series
        spec.reference_label = f"= {against}"
        drawn.append((groups[(point, label)], Chart(spec, f"{view.name}-{point}-drivers")))
    chart = family_chart(view.name, view.question, drawn)
    if chart is not None and len(references) > 1:  # each part says its reference driver
        assert isinstance(chart.spec, DotSpec)
        chart.spec.parts = [(f"{heading} · against {names.get(label, label)}", spec)
                            for (heading, spec), (_, label) in zip(chart.spec.parts, parts,
                                                                   strict=True)]
    return chart


def _part(view: FamilyView, point: str, reference: str, rows: dict[str, dict[str, CaseRecord]],
          shown: list[str], run_colours: Colours, limits: tuple[float, float],
          log: bool) -> DotSpec:
    """One point against one reference driver: a row per variant (fastest first: its
    smallest ratio over the drivers), a dot per driver; the notes right of the plot when
    one driver is paired (several would crowd the row)."""
    order = sorted(rows, key=lambda v: min(_ratio(c)[0] for c in rows[v].values()))
    reference_variant = next((c["reference"] for by_driver in rows.values()
                              for c in by_driver.values() if c["reference"]), None)
    op = singular(view.unit)
    dots = []
    for variant in order:
        for k, column in enumerate(shown):
            case = rows[variant].get(column)
            if case is None:
                continue
            median, low, high = _ratio(case)
            unclear = bool(holds_one(case))
            dots.append(Dot(
                variant, median, low, high, run_colours(column),
                tip=f"{variant} on {column}: {median:.2f}× the time of {reference} (family-"
                    f"wise 95% interval {low:.2f}–{high:.2f}×, {case['paired_driver']['n']} blocks"
                    f"{'; no clear difference' if unclear else ''}); "
                    f"{fmt_duration(per_op(case))} per {op}",
                series=k, hollow=unclear,
                note=f"{median:.2f}× ({low:.2f}–{high:.2f})" if len(shown) == 1 else ""))
    return DotSpec(f"{view.name} at {point}: drivers against {reference}", order, dots, "",
                   limits, log, 1.0,
                   marked=reference_variant if reference_variant in order else None)
