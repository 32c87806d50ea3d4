"""The report's charts as specs (bench.report.figures), drawn by matplotlib in
bench.report.render: inline SVG in the page, PNG and SVG files beside it.

Each chart is one function of the data it shows, and is drawn so it cannot mislead:
variants as dots with their 95% intervals, sorted fastest first with the reference
marked; a comparison as the paired ratio to the reference (time per op when a point has
none); one scale for every chart of a family; a log axis only when the values span more
than 20×, and then its label says so. Colours come from one map per page (Colours), so a
variant, or a run, has the same colour in every chart. A chart is only drawn when it
compares something: a point where one variant ran gets none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bench.report.figures import Dot, DotSpec, Line, LineSpec, log_label, spans_widely
from bench.report.findings import singular
from bench.report.model import FamilyView, Group, Run, varying_params
from bench.report.render import Chart
from bench.results.records import RAW_VARIANT, CaseRecord, per_op, rtt_text
from bench.results.units import duration_unit, fmt_duration, fmt_rate

PALETTE = [
    "#3b6ea8", "#e07b39", "#4a9e5c", "#c44e52", "#8172b2", "#937860",
    "#da8bc3", "#ccb974", "#64b5cd", "#2f4b7c", "#a05195", "#6b8e23",
]
REFERENCE_COLOUR = "#8c8c8c"  # the raw driver: the floor, drawn in grey everywhere


class Colours:
    """One colour per name for the whole page. Names are given a group at a time (a
    family's variants): a new name takes the first colour no name of its group has."""

    def __init__(self, fixed: dict[str, str] | None = None) -> None:
        self.assigned: dict[str, str] = dict(fixed or {})

    def assign(self, names: Iterable[str]) -> None:
        names = list(names)
        used = {self.assigned[n] for n in names if n in self.assigned}
        for name in names:
            if name in self.assigned:
                continue
            free = [c for c in PALETTE if c not in used] or PALETTE
            self.assigned[name] = free[0]
            used.add(free[0])

    def __call__(self, name: str) -> str:
        if name not in self.assigned:
            self.assign([name])
        return self.assigned[name]


def variant_colours(views: Sequence[FamilyView]) -> Colours:
    colours = Colours({RAW_VARIANT: REFERENCE_COLOUR})
    for view in views:
        colours.assign(view.variants())
    return colours



# -- one point: variants as dots with intervals ------------------------------------------


def _padded(values: Sequence[float], log: bool) -> tuple[float, float]:
    low, high = min(values), max(values)
    if log:
        return low / 1.25, high * 1.25
    pad = (high - low) * 0.06 or abs(high) * 0.1 or 1.0
    return max(0.0, low - pad) if low >= 0 else low - pad, high + pad


def _ratio(case: CaseRecord) -> tuple[float, float, float] | None:
    paired = case["paired"]
    if paired is None:
        return None
    return paired["median"], paired["ci95_low"], paired["ci95_high"]


def ratio_text(case: CaseRecord) -> str:
    found = _ratio(case)
    if found is not None:
        return f"{found[0]:.2f}× ({found[1]:.2f}–{found[2]:.2f})"
    return "reference" if case["reference"] == case["variant"] else "–"


class FamilyScale:
    """One x axis for every variants chart of a family: paired ratios when the family's
    points have them (1 = the reference), else time per op; log only past 20×."""

    def __init__(self, groups: Iterable[Group]) -> None:
        cases = [c for g in groups for c in g.ok_cases()]
        self.ratios = any(c["paired"] is not None for c in cases)
        if self.ratios:
            values = [1.0] + [v for c in cases if (r := _ratio(c)) for v in r]
            self.divisor, self.time_unit = 1.0, ""
        else:
            values = [per_op(c, k) for c in cases for k in ("ci95_low", "ci95_high")] or [1.0]
            self.divisor, self.time_unit = duration_unit(max(values))
            values = [v / self.divisor for v in values]
        self.log = spans_widely(values)
        self.limits = _padded(values, self.log)


def variants_chart(group: Group, unit: str, colours: Colours,
                   scale: FamilyScale | None = None) -> Chart | None:
    """Per variant at one point: its paired ratio to the point's reference with the 95%
    interval (a dot and a bar), fastest first, the reference marked; time per op with
    its 95% CI beside it. Without paired ratios, time per op on the axis."""
    cases = group.ok_cases()
    if len(cases) < 2:
        return None
    scale = scale or FamilyScale([group])
    reference = next((c["reference"] for c in cases if c["reference"]), None)
    op = singular(unit)
    dots = []
    if scale.ratios:
        def key(case: CaseRecord) -> float:
            found = _ratio(case)
            return found[0] if found else (1.0 if case["variant"] == reference else 1e9)
        cases = sorted(cases, key=key)
        for case in cases:
            found = _ratio(case)
            if found is None and case["variant"] != reference:
                continue
            median, low, high = found or (1.0, None, None)
            dots.append(Dot(
                case["variant"], median, low, high, colours(case["variant"]),
                tip=f"{case['variant']}: {ratio_text(case)} the time of {reference}; "
                    f"{fmt_duration(per_op(case))} per {op}",
                note=f"{ratio_text(case) if found else 'reference'} · "
                     f"{fmt_duration(per_op(case))}"))
        x_label = (f"time per {op} as a multiple of {reference}'s (paired by block): "
                   "dot median, bar 95% interval")
        line: float | None = 1.0
    else:
        cases = sorted(cases, key=per_op)
        for case in cases:
            dots.append(Dot(
                case["variant"], per_op(case) / scale.divisor,
                per_op(case, "ci95_low") / scale.divisor,
                per_op(case, "ci95_high") / scale.divisor, colours(case["variant"]),
                tip=f"{case['variant']}: {fmt_duration(per_op(case))} per {op} (95% CI "
                    f"{fmt_duration(per_op(case, 'ci95_low'))} – "
                    f"{fmt_duration(per_op(case, 'ci95_high'))})",
                note=fmt_duration(per_op(case))))
        x_label = f"median time per {op} ({scale.time_unit}), bar 95% CI"
        line = None
    rows = [d.row for d in dots]
    if len(rows) < 2:  # nothing paired to the reference at this point
        return None
    spec = DotSpec(f"{group.family} at {group.params_text}", rows, dots,
                   log_label(x_label, scale.log), scale.limits, scale.log, line,
                   marked=reference if reference in rows else None)
    return Chart(spec, f"{group.family}-{group.params_text}")


def drivers_chart(family: str, group_text: str, rows: dict[str, dict[str, CaseRecord]],
                  columns: list[str], unit: str, run_colours: Colours,
                  limits: tuple[float, float, bool, float, str] | None = None,
                  caption: str = "") -> Chart | None:
    """Several runs at one point: per variant (fastest first), a dot per run at its median
    time per op with the 95% CI; the legend names the runs in their page colours.
    `limits` (low, high, log, divisor, unit label): the family's one scale. `caption`
    follows the axis label: why these are absolute times (the runs were not paired)."""
    rows = {v: by_run for v, by_run in rows.items() if by_run}
    shown = [c for c in columns if any(c in by_run for by_run in rows.values())]
    if not rows or len(shown) < 2:
        return None
    low, high, log, divisor, time_label = limits or driver_limits([rows])
    order = sorted(rows, key=lambda v: min(per_op(c) for c in rows[v].values()))
    dots = []
    for variant in order:
        for k, column in enumerate(shown):
            case = rows[variant].get(column)
            if case is None:
                continue
            dots.append(Dot(variant, per_op(case) / divisor, per_op(case, "ci95_low") / divisor,
                            per_op(case, "ci95_high") / divisor, run_colours(column),
                            tip=f"{variant} on {column}: {fmt_duration(per_op(case))} per "
                                f"{singular(unit)}", series=k))
    spec = DotSpec(f"{family} at {group_text}: drivers", order, dots,
                   log_label(f"median time per {singular(unit)} ({time_label}), bar 95% CI",
                             log) + (f" · {caption}" if caption else ""), (low, high), log,
                   marked=RAW_VARIANT if RAW_VARIANT in order else None,
                   series=[(c, run_colours(c)) for c in shown])
    return Chart(spec, f"{family}-{group_text}")


def family_chart(family: str, question: str, parts: list[tuple[Group, Chart]]) -> Chart | None:
    """A family's points in one chart on its one axis: a heading per point naming only
    the parameters that vary between them. A single point keeps its own chart."""
    if len(parts) <= 1:
        return parts[0][1] if parts else None
    varying = varying_params([g for g, _ in parts])
    headings = []
    for group, chart in parts:
        shown = {k: v for k, v in group.params.items() if k in varying}
        text = " ".join(f"{k}={v}" for k, v in shown.items()) or group.params_text
        if group.rtt_ms is not None:
            text += f" {rtt_text(group.rtt_ms)}"
        assert isinstance(chart.spec, DotSpec)
        headings.append((text, chart.spec))
    first = headings[0][1]
    spec = DotSpec(f"{family}: {question}" if question else family, [], [], first.x_label,
                   first.x_limits, first.log, first.reference_line,
                   reference_label=first.reference_label,
                   series=first.series, parts=headings)
    return Chart(spec, family)


def driver_limits(points: Iterable[dict[str, dict[str, CaseRecord]]]
                  ) -> tuple[float, float, bool, float, str]:
    """The family's one time axis over all its points and runs."""
    values = [per_op(c, k) for rows in points for by_run in rows.values()
              for c in by_run.values() for k in ("ci95_low", "ci95_high")] or [1.0]
    divisor, label = duration_unit(max(values))
    scaled = [v / divisor for v in values]
    log = spans_widely(scaled)
    low, high = _padded(scaled, log)
    return low, high, log, divisor, label


# -- parameter sweeps ------------------------------------------------------------------

# Metrics a sweep can draw: (title, unit kind, getter in ns or plain numbers).
SweepMetric = tuple[str, str, Callable[[CaseRecord], float | None]]


def _extra_p99(key: str) -> Callable[[CaseRecord], float | None]:
    def get(case: CaseRecord) -> float | None:
        value = case["extra"].get(key)
        return value.get("p99") if isinstance(value, dict) else None

    return get


SWEEP_METRICS: list[SweepMetric] = [
    ("median time per op", "time", lambda c: per_op(c)),
    ("throughput", "rate", lambda c: c["throughput_per_s"]),
    ("p99 checkout wait", "time", _extra_p99("checkout_wait_ns")),
    ("p99 latency", "time", _extra_p99("latency_ns")),
]


def sweep_axes(view: FamilyView) -> list[str]:
    """Numeric parameters that take several values within one run of the family (but
    the one counting processes: its throughput chart is bench.report.load_charts')."""
    values: dict[str, set[Any]] = defaultdict(set)
    for group in view.groups:
        for key, value in group.params.items():
            if key == view.processes_param:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[key].add(value)
    return [k for k, v in values.items() if len(v) >= 3 or (len(v) == 2 and len(view.groups) <= 4)]


def sweep_charts(view: FamilyView, axis: str, run: Run, unit: str,
                 colours: Colours) -> list[Chart]:
    """One line per variant (and per value of the other parameters), x = `axis`."""
    groups = [g for g in view.groups_of(run) if axis in g.params]
    varying = varying_params(groups) - {axis}
    several_rtts = len({g.rtt_ms for g in groups}) > 1
    lines: dict[str, list[tuple[float, CaseRecord]]] = defaultdict(list)
    variant_of: dict[str, str] = {}
    rest_of: dict[str, str] = {}
    for group in groups:
        rest = " ".join([*(f"{k}={v}" for k, v in group.params.items() if k in varying),
                         *([rtt_text(group.rtt_ms)] if several_rtts else [])])
        for case in group.ok_cases():
            label = case["variant"] + (f" · {rest}" if rest and len(groups) > 1 else "")
            lines[label].append((group.params[axis], case))
            variant_of[label], rest_of[label] = case["variant"], rest
    lines = {k: sorted(v, key=lambda item: item[0]) for k, v in lines.items() if len(v) >= 2}
    lines = dict(list(lines.items())[:10])  # more lines than this cannot be told apart
    dashes = dashes_for({k: rest_of[k] for k in lines})
    charts = []
    for title, kind, getter in SWEEP_METRICS:
        if kind == "rate" and not wants_throughput(view):
            continue
        series = {k: [(x, y) for x, c in pts if (y := getter(c)) is not None]
                  for k, pts in lines.items()}
        series = {k: v for k, v in series.items() if len(v) >= 2}
        if series:
            charts.append(line_chart(f"{view.name}: {title} vs {axis}", axis, kind, series,
                                     {k: colours(variant_of[k]) for k in series}, unit,
                                     dashes))
    return charts


DASHES = (None, "6 3", "2 2", "8 3 2 3")


def dashes_for(rests: dict[str, str]) -> dict[str, str | None]:
    """A dash pattern per line from the values of its other parameters: lines of one
    variant share its colour, so `pool_size=5` and `pool_size=10` differ by their dash."""
    patterns = {rest: DASHES[k % len(DASHES)]
                for k, rest in enumerate(dict.fromkeys(rests.values()))}
    return {name: patterns[rest] for name, rest in rests.items()}


def wants_throughput(view: FamilyView) -> bool:
    # Throughput is the question for load-shaped families; time per op says the rest.
    return any(k in {"concurrency", "pool_size"} for g in view.groups for k in g.params)


def line_chart(title: str, x_label: str, kind: str, series: dict[str, list[tuple[float, float]]],
               colours: dict[str, str], unit: str,
               dashes: dict[str, str | None] | None = None) -> Chart:
    """Lines of (x, y) points: `kind` "time" (y in ns) or "rate" (y per second)."""
    ys = [y for pts in series.values() for _, y in pts]
    if kind == "time":
        divisor, label = duration_unit(max(ys))
        y_title = f"{title.split(':')[-1].split(' vs ')[0].strip()} ({label})"
    else:
        divisor, y_title = 1.0, f"{unit or 'ops'} per second"
    lines = [Line(name, colours[name], [(x, y / divisor) for x, y in pts],
                  tips=[f"{name}: {fmt_duration(y) if kind == 'time' else fmt_rate(y)} "
                        f"at {x_label}={x:g}" for x, y in pts], dash=(dashes or {}).get(name))
             for name, pts in series.items()]
    return xy_chart(title, lines, x_title=x_label, y_title=y_title)


def xy_chart(title: str, lines: list[Line], *, x_title: str, y_title: str,
             x_ticks: Sequence[tuple[float, str]] | None = None,
             y_log: bool | None = None, name: str | None = None) -> Chart:
    """Lines over a numeric x, each with its dots, whiskers and a legend on the right.
    x_ticks: fixed (value, label) ticks (a percentile axis, say); else each measured x.
    y is linear from zero unless the values span more than 20× (or y_log says), and its
    label then says "log scale"."""
    spec = LineSpec(title, lines, x_title, y_title,
                    list(x_ticks) if x_ticks is not None else None, y_log)
    return Chart(spec, name or title.replace(": ", "-"))


# -- history across runs ---------------------------------------------------------------

HistoryPoint = tuple[int, float, float | None, float | None]  # (run index, value, low, high)


def history_chart(title: str, runs: list[str], series: dict[str, list[HistoryPoint]],
                  steps: dict[str, list[int]], colours: Colours, y_title: str,
                  name: str | None = None) -> Chart | None:
    """One line per variant over the runs in time order (x: each run's commit or date),
    with 95% intervals as whiskers and each detected step as a dashed mark."""
    series = {k: v for k, v in series.items() if v}
    if not series or len(runs) < 2:
        return None
    lines = [Line(variant, colours(variant), [(float(i), v) for i, v, _, _ in pts],
                  [(lo if lo is not None else v, hi if hi is not None else v)
                   for _, v, lo, hi in pts],
                  [f"{variant}: {v:.3g} at {runs[i]}" for i, v, _, _ in pts])
             for variant, pts in series.items()]
    every = max(1, len(runs) // 12)  # at most a dozen run labels under the axis
    ticks = [(float(i), label) for i, label in enumerate(runs) if i % every == 0]
    marks = [(index - 0.5, "step", colours(variant))
             for variant, indexes in steps.items() for index in indexes]
    spec = LineSpec(title, lines, "runs in time order (commit)", y_title, ticks, None,
                    y_zero=False, x_index=True, marks=marks)
    return Chart(spec, name or title)
