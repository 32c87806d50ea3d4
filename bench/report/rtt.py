"""Families measured at several RTTs in one run (`--rtt 0,1ms,2ms`): what the report
draws and says about them.

A sweep is one parameter point of a family measured in each RTT pass. Across a sweep
the report reads: each variant's time (or throughput) against RTT, the family's declared
comparisons against RTT (the loser's time over the winner's, paired block by block:
lazy_n_plus_1 / selectinload), which variant is fastest at each RTT, and, for a family
with a pool_size parameter, the pool size that served most at each RTT. Every sentence
names the RTT it holds at. The comparisons are the family's own declarations (the
results file's `comparisons`), read at the point they name: no table of pairs here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.report.charts import Colours, Line, wants_throughput, xy_chart
from bench.report.findings import paired_ratio, read_point, singular
from bench.report.model import FamilyView, Group, Run, params_key, varying_params
from bench.report.render import Chart
from bench.results.records import RAW_VARIANT, ComparisonRecord, params_text, per_op, rtt_text
from bench.results.units import duration_unit, fmt_duration, fmt_rate
from bench.rtt.proxy import LATE_EDGES_US

# A ratio with its 95% interval.
Ratio = tuple[float, float, float]
BEST_OF = "pool_size"  # the parameter whose best value per RTT is worth a chart
MAX_RTT_POINTS = 3  # parameter points drawn against RTT per family and run
X_TITLE = "round-trip time added by the proxy (ms)"


@dataclass
class RttSweep:
    """One parameter point of a family on one run, measured at two RTTs or more."""

    params: dict[str, Any]
    groups: list[Group]  # one per RTT, in RTT order

    @property
    def params_text(self) -> str:
        return params_text(self.params)

    def rtts(self) -> list[float]:
        return [float(g.rtt_ms or 0) for g in self.groups]


def rtt_sweeps(view: FamilyView, run: Run) -> list[RttSweep]:
    """The family's points measured at several RTTs; first the point its first declared
    comparison is read at (bench.report.findings.read_point), then in run order."""
    by_point: dict[str, list[Group]] = defaultdict(list)
    for group in view.groups_of(run):
        if group.rtt_ms is not None and group.ok_cases():
            by_point[params_key(group.params)].append(group)
    sweeps = [RttSweep(groups[0].params, sorted(groups, key=lambda g: g.rtt_ms or 0.0))
              for groups in by_point.values() if len(groups) >= 2]
    for comparison in run.comparisons(view.name)[:1]:
        firsts = [s.groups[0] for s in sweeps if _has_pair(s.groups[0], comparison)]
        if firsts:
            chosen = read_point(firsts, comparison)
            sweeps.sort(key=lambda s: s.groups[0] is not chosen)
    return sweeps


def _has_pair(group: Group, comparison: ComparisonRecord) -> bool:
    names = {c["variant"] for c in group.ok_cases()}
    return {comparison["candidate"], comparison["against"]} <= names


def ratio_pairs(run: Run, view: FamilyView, sweep: RttSweep) -> list[tuple[str, str]]:
    """The family's declared comparisons as (against, candidate): the time the candidate
    saves reads as a ratio above 1. Only those measured at every RTT of the sweep."""
    return [(c["against"], c["candidate"]) for c in run.comparisons(view.name)
            if all(_has_pair(g, c) for g in sweep.groups)]


def pair_ratio(group: Group, first: str, second: str) -> Ratio | None:
    """`first`'s time per op over `second`'s at the group's point, block by block."""
    a, b = group.case(first), group.case(second)
    return None if a is None or b is None else paired_ratio(a, b)


def fastest(group: Group) -> str | None:
    """The fastest variant other than the bare driver (the floor, not a recommendation),
    when there is a choice."""
    cases = [c for c in group.ok_cases() if c["variant"] != RAW_VARIANT]
    return min(cases, key=per_op)["variant"] if len(cases) >= 2 else None


def best_values(view: FamilyView, run: Run, param: str = BEST_OF
                ) -> dict[str, list[tuple[float, Any]]]:
    """Per variant (and the other parameters), the value of `param` with the highest
    throughput at each RTT: {label: [(rtt, best value), ...]}, two RTTs or more."""
    candidates: dict[tuple[str, str, float], list[tuple[float, Any]]] = defaultdict(list)
    groups = [g for g in view.groups_of(run) if g.rtt_ms is not None and param in g.params]
    varying = varying_params(groups) - {param}
    for group in groups:
        rest = " ".join(f"{k}={v}" for k, v in group.params.items() if k in varying)
        for case in group.ok_cases():
            if case["throughput_per_s"]:
                candidates[(case["variant"], rest, float(group.rtt_ms or 0))].append(
                    (case["throughput_per_s"], group.params[param]))
    best: dict[str, list[tuple[float, Any]]] = defaultdict(list)
    for (variant, rest, rtt), found in sorted(candidates.items(), key=lambda item: item[0][2]):
        if len(found) >= 2:  # a best needs a choice
            label = f"{variant} · {rest}" if rest else variant
            best[label].append((rtt, max(found, key=lambda f: f[0])[1]))
    return {label: points for label, points in best.items() if len(points) >= 2}


def rtt_finding(view: FamilyView, run: Run) -> str | None:
    """One sentence on how the family's answer moves with RTT, naming each RTT."""
    sweeps = rtt_sweeps(view, run)
    parts = []
    if sweeps:
        sweep = sweeps[0]
        for against, candidate in ratio_pairs(run, view, sweep)[:1]:
            ratios = [(g.rtt_ms, pair_ratio(g, against, candidate)) for g in sweep.groups]
            parts.append(f"{against} / {candidate} " + ", ".join(
                f"{r[0]:.1f}× at {rtt_text(rtt)}" for rtt, r in ratios if r is not None))
        winners = _by_value([(g.rtt_ms, fastest(g)) for g in sweep.groups])
        if len(winners) == 1:
            parts.append(f"fastest at every RTT: {winners[0][0]}")
        elif winners:
            parts.append("fastest: " + _listed(winners))
    best = best_values(view, run)
    best_parts = [f"best {BEST_OF} for {label}: {_listed(_by_value(best[label]))}"
                  for label in sorted(best, key=lambda label: label.startswith(RAW_VARIANT))[:2]]
    if not parts and not best_parts:
        return None
    head = f"Across RTT at {sweeps[0].params_text}: " if parts else "Across RTT: "
    return head + "; ".join([*parts, *best_parts]) + "."


def _by_value(items: Sequence[tuple[float | None, Any]]) -> list[tuple[Any, list[str]]]:
    """Consecutive RTTs with the same value together: [(value, ["rtt=0", "rtt=1ms"])]."""
    runs: list[tuple[Any, list[str]]] = []
    for rtt, value in items:
        if value is None:
            continue
        if runs and runs[-1][0] == value:
            runs[-1][1].append(rtt_text(rtt))
        else:
            runs.append((value, [rtt_text(rtt)]))
    return runs


def _listed(runs: list[tuple[Any, list[str]]]) -> str:
    """`selectinload at rtt=0, rtt=0.5ms; joinedload at rtt=1ms`."""
    return "; ".join(f"{value} at {', '.join(where)}" for value, where in runs)


def proxy_note(extra: dict[str, Any]) -> str | None:
    """What the --rtt proxy cost during the case's point, for the case table."""
    proxy = extra.get("proxy")
    if not isinstance(proxy, dict) or proxy.get("cpu_share") is None:
        return None
    late = proxy.get("late_p99_us")
    if not proxy.get("releases"):
        return f"proxy: {proxy['cpu_share']:.0%} CPU"
    precision = f"< {late:g}" if late is not None else f"> {LATE_EDGES_US[-1]}"
    return f"proxy: {proxy['cpu_share']:.0%} CPU, p99 release {precision} µs late"


# -- charts --------------------------------------------------------------------------------


def rtt_charts(view: FamilyView, run: Run, colours: Colours) -> list[Chart]:
    """Lines against RTT: each variant's time (throughput for load-shaped families) and
    the declared comparisons' ratios (each variant's ratio to the reference when the
    family declares none), per point; then the best pool size per RTT."""
    drawn = []
    for sweep in rtt_sweeps(view, run)[:MAX_RTT_POINTS]:
        drawn.append(_level_chart(view, sweep, colours))
        ratio = _ratio_chart(view, run, sweep, colours)
        if ratio is not None:
            drawn.append(ratio)
    best = best_values(view, run)
    if best:
        lines = [Line(label, colours(label.split(" · ")[0]),
                      [(x, float(v)) for x, v in points],
                      tips=[f"{label}: best {BEST_OF} {v} at {rtt_text(x)}" for x, v in points])
                 for label, points in best.items()]
        drawn.append(xy_chart(f"{view.name}: best {BEST_OF} (most {view.unit or 'ops'}/s) vs RTT",
                              lines, x_title=X_TITLE, y_title=f"best {BEST_OF}"))
    return drawn


def _level_chart(view: FamilyView, sweep: RttSweep, colours: Colours) -> Chart:
    """Each variant's median per op (with its 95% CI) against RTT; for a load-shaped
    family its operations per second, where a faster op is more per second."""
    cases: dict[str, list[tuple[float, Any]]] = defaultdict(list)
    for group in sweep.groups:
        for case in group.ok_cases():
            cases[case["variant"]].append((float(group.rtt_ms or 0), case))
    unit = singular(view.unit)
    if wants_throughput(view):
        lines = [Line(name, colours(name),
                      [(x, 1e9 / per_op(c)) for x, c in pts],
                      [(1e9 / per_op(c, "ci95_high"), 1e9 / per_op(c, "ci95_low"))
                       for _, c in pts],
                      [f"{name}: {fmt_rate(1e9 / per_op(c))} at {rtt_text(x)}" for x, c in pts])
                 for name, pts in cases.items()]
        return xy_chart(f"{view.name} at {sweep.params_text}: throughput vs RTT", lines,
                        x_title=X_TITLE, y_title=f"{view.unit or 'ops'} per second, 95% CI")
    divisor, label = duration_unit(max(per_op(c, "ci95_high") for pts in cases.values()
                                       for _, c in pts))
    lines = [Line(name, colours(name),
                  [(x, per_op(c) / divisor) for x, c in pts],
                  [(per_op(c, "ci95_low") / divisor, per_op(c, "ci95_high") / divisor)
                   for _, c in pts],
                  [f"{name}: {fmt_duration(per_op(c))} per {unit} at {rtt_text(x)}"
                   for x, c in pts])
             for name, pts in cases.items()]
    return xy_chart(f"{view.name} at {sweep.params_text}: time per {unit} vs RTT", lines,
                    x_title=X_TITLE, y_title=f"median per {unit} ({label}), 95% CI")


def _ratio_chart(view: FamilyView, run: Run, sweep: RttSweep,
                 colours: Colours) -> Chart | None:
    series: dict[str, list[tuple[float, Ratio]]] = defaultdict(list)
    pairs = ratio_pairs(run, view, sweep)
    for group in sweep.groups:
        x = float(group.rtt_ms or 0)
        for against, candidate in pairs:
            found = pair_ratio(group, against, candidate)
            if found is not None:
                series[f"{against} / {candidate}"].append((x, found))
        if pairs:
            continue
        for case in group.ok_cases():
            paired = case["paired"]
            if paired is not None:
                series[f"{case['variant']} / {paired['reference']}"].append(
                    (x, (paired["median"], paired["ci95_low"], paired["ci95_high"])))
    colours.assign(series)  # the ratios as one group: each its own colour
    lines = [Line(name, colours(name), [(x, r[0]) for x, r in pts], [(r[1], r[2]) for _, r in pts],
                  [f"{name}: {r[0]:.3g}× ({r[1]:.3g}–{r[2]:.3g}) at {rtt_text(x)}"
                   for x, r in pts])
             for name, pts in series.items() if len(pts) >= 2]
    if not lines:
        return None
    return xy_chart(f"{view.name} at {sweep.params_text}: ratio vs RTT", lines, x_title=X_TITLE,
                    y_title="ratio of time per op (paired by block), 95% CI")
