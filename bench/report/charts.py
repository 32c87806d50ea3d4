"""The report's charts, as inline SVG drawn by bench.report.svg: no image files, no network.

Each chart is one function of the data it shows. Colours come from one map per page
(Colours), so a variant, or a run, has the same colour in every chart. A chart is only
drawn when it compares something: a point where one variant ran gets none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from bench.api.family import RAW_VARIANT
from bench.report.findings import singular
from bench.report.model import FamilyView, Group, Run, varying_params
from bench.report.svg import Scale, Svg, text_width, tick_label, x_axis, y_axis
from bench.results.records import CaseRecord, per_op, rtt_text
from bench.results.units import duration_unit, fmt_duration, fmt_rate, ratio_cell

PALETTE = [
    "#3b6ea8", "#e07b39", "#4a9e5c", "#c44e52", "#8172b2", "#937860",
    "#da8bc3", "#ccb974", "#64b5cd", "#2f4b7c", "#a05195", "#6b8e23",
]
REFERENCE_COLOUR = "#8c8c8c"  # the raw driver: the floor, drawn in grey everywhere
WIDTH = 920  # px: fits the page's 1180 px column with room to spare at 1400 px
ROW = 24
MAX_DOTS = 60  # rounds drawn per case: more are shown by their quantiles


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


def _spread(values: Sequence[float], most: int = MAX_DOTS) -> list[float]:
    """At most `most` values that keep the distribution's shape: evenly spaced quantiles."""
    ordered = sorted(values)
    if len(ordered) <= most:
        return ordered
    step = (len(ordered) - 1) / (most - 1)
    return [ordered[round(i * step)] for i in range(most)]


def _label_width(names: Iterable[str], most: float = 300) -> float:
    return min(most, max((text_width(n) for n in names), default=40) + 14)


def variants_chart(group: Group, unit: str, colours: Colours) -> Markup | None:
    """Per variant at one point: the median time per op (bar), its 95% CI (line), every
    round (dots), and the paired ratio to the point's reference (right)."""
    cases = group.ok_cases()
    if len(cases) < 2:
        return None
    left = _label_width(c["variant"] for c in cases)
    right = WIDTH - 160
    top = 20
    rounds = [_spread([s / c["ops_per_round"] for s in c["samples_ns"]]) for c in cases]
    values = [v for r in rounds for v in r] + [per_op(c, "ci95_high") for c in cases]
    divisor, time_label = duration_unit(max(values))
    scale = Scale.fit([v / divisor for v in values], left, right, zero=True)
    bottom = top + ROW * len(cases)
    svg = Svg(WIDTH, bottom + 36, f"{group.family} at {group.params_text}")
    x_axis(svg, scale, top, bottom,
           f"time per {singular(unit)} ({time_label}): bar median, line 95% CI, dots rounds")
    svg.text(right + 10, top - 7, f"vs {cases[0]['reference'] or 'reference'} (95% CI)",
             cls="note")
    for index, (case, dots) in enumerate(zip(cases, rounds, strict=True)):
        mid = top + ROW * index + ROW / 2
        median = per_op(case) / divisor
        low, high = per_op(case, "ci95_low") / divisor, per_op(case, "ci95_high") / divisor
        svg.text(left - 6, mid + 4, case["variant"], anchor="end")
        svg.rect(scale.start, mid - 7, scale(median) - scale.start, 14,
                 colours(case["variant"]), opacity=0.85,
                 tip=f"{case['variant']}: {fmt_duration(per_op(case))} per {singular(unit)} "
                     f"(95% CI {fmt_duration(per_op(case, 'ci95_low'))} – "
                     f"{fmt_duration(per_op(case, 'ci95_high'))})")
        for k, value in enumerate(dots):
            svg.circle(scale(value / divisor), mid + (k % 5 - 2) * 1.8, 1.5, "#222",
                       opacity=0.4)
        svg.line(scale(low), mid, scale(high), mid, cls="ci")
        for end in (low, high):
            svg.line(scale(end), mid - 4, scale(end), mid + 4, cls="ci")
        svg.text(right + 10, mid + 4, ratio_cell(case), cls="val")
    return svg.markup()


def drivers_chart(group_text: str, rows: dict[str, dict[str, CaseRecord]], columns: list[str],
                  unit: str, run_colours: Colours) -> Markup | None:
    """Several runs at one point: per variant, one dot per run at its median time per op,
    with the 95% CI; the legend names the runs in their page colours."""
    rows = {v: by_run for v, by_run in rows.items() if by_run}
    shown = [c for c in columns if any(c in by_run for by_run in rows.values())]
    if not rows or len(shown) < 2:
        return None
    left = _label_width(rows)
    legend_rows = _legend_rows(shown, WIDTH - left)
    top = 14 + 16 * len(legend_rows)
    row = max(ROW, 5 * len(shown) + 10)
    values = [per_op(c, k) for by_run in rows.values() for c in by_run.values()
              for k in ("ci95_low", "ci95_high")]
    divisor, time_label = duration_unit(max(values))
    scale = Scale.fit([v / divisor for v in values], left, WIDTH - 20)
    bottom = top + row * len(rows)
    svg = Svg(WIDTH, bottom + 36, f"drivers at {group_text}")
    for line_index, names in enumerate(legend_rows):
        x = left
        for name in names:
            svg.rect(x, 4 + 16 * line_index, 10, 10, run_colours(name))
            svg.text(x + 14, 13 + 16 * line_index, name, cls="note")
            x += text_width(name, 10) + 30
    x_axis(svg, scale, top, bottom, f"median time per {singular(unit)} ({time_label}), 95% CI")
    for index, (variant, by_run) in enumerate(rows.items()):
        y0 = top + row * index
        svg.text(left - 6, y0 + row / 2 + 4, variant, anchor="end")
        for k, column in enumerate(shown):
            case = by_run.get(column)
            if case is None:
                continue
            y = y0 + 5 + (row - 10) * (k + 0.5) / len(shown)
            colour = run_colours(column)
            svg.line(scale(per_op(case, "ci95_low") / divisor), y,
                     scale(per_op(case, "ci95_high") / divisor), y, cls="key", stroke=colour)
            svg.circle(scale(per_op(case) / divisor), y, 3.2, colour,
                       tip=f"{variant} on {column}: {fmt_duration(per_op(case))}")
        if index:
            svg.line(left, y0, WIDTH - 20, y0, cls="grid")
    return svg.markup()


def _legend_rows(names: list[str], width: float) -> list[list[str]]:
    rows: list[list[str]] = [[]]
    used = 0.0
    for name in names:
        need = text_width(name, 10) + 30
        if rows[-1] and used + need > width:
            rows.append([])
            used = 0.0
        rows[-1].append(name)
        used += need
    return rows


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
                 colours: Colours) -> list[Markup]:
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
               dashes: dict[str, str | None] | None = None) -> Markup:
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


@dataclass
class Line:
    """One line of an xy_chart: points in drawing units, optionally a 95% interval
    (low, high) per point, drawn as a whisker, and a tooltip per point."""

    name: str
    colour: str
    points: list[tuple[float, float]]
    intervals: list[tuple[float, float]] | None = None
    tips: list[str] | None = None
    dash: str | None = None  # an SVG dash pattern: tells apart lines of one colour


def _x_scale(xs: list[float], start: float, end: float) -> Scale:
    """Every x inside the plot, none on its edge (an RTT of 0 included); logarithmic
    when positive values span more than 20×."""
    low, high = min(xs), max(xs)
    if low > 0 and high / low > 20:
        return Scale(low / 1.3, high * 1.3, start, end, log=True)
    pad = (high - low) * 0.06 or max(abs(high), 1.0) * 0.5
    return Scale(low - pad, high + pad, start, end)


def xy_chart(title: str, lines: list[Line], *, x_title: str, y_title: str,
             x_ticks: Sequence[tuple[float, str]] | None = None, y_log: bool = False) -> Markup:
    """Lines over a numeric x, each with its dots, whiskers and a legend on the right.
    x_ticks: fixed (value, label) ticks (a percentile axis, say); else each measured x.
    y_log forces a logarithmic y (latency spectra); else y is linear from zero unless
    the values span more than 50×."""
    legend = _label_width((line.name for line in lines), 320) + 20
    titles = _wrapped(title, WIDTH - 72, 12)  # a long parameter point takes two lines
    left, right, top = 62, WIDTH - legend, 26 + 14 * len(titles)
    bottom = top + 200
    xs = sorted({x for line in lines for x, _ in line.points})
    ys = [y for line in lines for _, y in line.points] + [
        v for line in lines for interval in (line.intervals or []) for v in interval]
    xscale = _x_scale(xs, left, right)
    if y_log:
        positive = [y for y in ys if y > 0] or [1.0]
        yscale = Scale(min(positive) / 1.3, max(positive) * 1.3, bottom, top, log=True)
    else:
        yscale = Scale.fit(ys, bottom, top, zero=True, log_above=50)
    svg = Svg(WIDTH, bottom + 40, title)
    for row, text in enumerate(titles):
        svg.text(left, 14 + 14 * row, text, cls="title")
    y_axis(svg, yscale, left, right, "")
    svg.text(8, top - 8, y_title, cls="note")
    for x, label in x_ticks or [(x, tick_label(x)) for x in xs]:
        svg.line(xscale(x), top, xscale(x), bottom, cls="grid")
        svg.text(xscale(x), bottom + 14, label, cls="tick", anchor="middle")
    svg.line(left, bottom, right, bottom)
    svg.text((left + right) / 2, bottom + 30, x_title, cls="note", anchor="middle")
    for index, line in enumerate(lines):
        dash = line.dash or (None if index < len(PALETTE) else "4 3")
        svg.polyline([(xscale(x), yscale(y)) for x, y in line.points], line.colour, dash=dash)
        for k, (x, y) in enumerate(line.points):
            if line.intervals is not None:
                low, high = line.intervals[k]
                svg.line(xscale(x), yscale(low), xscale(x), yscale(high), cls="key",
                         stroke=line.colour)
            svg.circle(xscale(x), yscale(y), 2.6, line.colour,
                       tip=line.tips[k] if line.tips else f"{line.name}: {y:.3g}")
        y_legend = top + 4 + 16 * index
        svg.line(right + 14, y_legend, right + 30, y_legend, cls="key", stroke=line.colour,
                 width=2.5, dash=dash)
        shown = _clipped(line.name, WIDTH - right - 40)
        svg.text(right + 35, y_legend + 4, shown, cls="note",
                 tip=line.name if shown != line.name else None)
    return svg.markup()


def _wrapped(text: str, width: float, size: float) -> list[str]:
    """Words into lines no wider than `width` px (a word longer than that stays whole)."""
    rows = [""]
    for word in text.split(" "):
        trial = f"{rows[-1]} {word}".strip()
        if rows[-1] and text_width(trial, size) > width:
            rows.append(word)
        else:
            rows[-1] = trial
    return rows


def _clipped(text: str, width: float, size: float = 10) -> str:
    """The text, cut with an ellipsis to fit `width` px; the full text goes in a tooltip."""
    if text_width(text, size) <= width:
        return text
    keep = max(1, int(width / text_width("x", size)) - 1)
    return text[:keep] + "…"


# -- history across runs ---------------------------------------------------------------

HistoryPoint = tuple[int, float, float | None, float | None]  # (run index, value, low, high)


def history_chart(title: str, runs: list[str], series: dict[str, list[HistoryPoint]],
                  steps: dict[str, list[int]], colours: Colours, y_title: str) -> Markup | None:
    """One line per variant over the runs in time order (x: each run's commit or date),
    with 95% intervals as whiskers and each detected step as a dashed mark."""
    series = {k: v for k, v in series.items() if v}
    if not series or len(runs) < 2:
        return None
    legend = _label_width(series, 260) + 20
    left, right, top, bottom = 58, WIDTH - legend, 40, 210
    values = [y for pts in series.values() for _, v, lo, hi in pts
              for y in (v, lo, hi) if y is not None]
    xscale = Scale(-0.5, len(runs) - 0.5, left + 8, right - 8)
    yscale = Scale.fit(values, bottom, top, log_above=20)
    svg = Svg(WIDTH, bottom + 44, title)
    svg.text(left, 14, title, cls="title")
    y_axis(svg, yscale, left, right, "")
    svg.text(8, top - 8, y_title, cls="note")
    every = max(1, len(runs) // 12)  # at most a dozen run labels under the axis
    for index, label in enumerate(runs):
        if index % every == 0:
            svg.text(xscale(index), bottom + 14, label, cls="tick", anchor="middle")
    svg.line(left, bottom, right, bottom)
    svg.text((left + right) / 2, bottom + 32, "runs in time order (commit)", cls="note",
             anchor="middle")
    for row, (name, pts) in enumerate(series.items()):
        colour = colours(name)
        svg.polyline([(xscale(i), yscale(v)) for i, v, _, _ in pts], colour)
        for i, v, lo, hi in pts:
            if lo is not None and hi is not None:
                svg.line(xscale(i), yscale(lo), xscale(i), yscale(hi), cls="key", stroke=colour)
            svg.circle(xscale(i), yscale(v), 2.6, colour, tip=f"{name}: {v:.3g} at {runs[i]}")
        for index in steps.get(name, []):
            x = (xscale(index - 1) + xscale(index)) / 2
            svg.line(x, top, x, bottom, cls="step", stroke=colour, dash="4 3")
            svg.text(x + 3, top + 10, "step", cls="note", fill=colour)
        y_legend = top + 4 + 16 * row
        svg.line(right + 14, y_legend, right + 30, y_legend, cls="key", stroke=colour, width=2.5)
        svg.text(right + 35, y_legend + 4, name, cls="note")
    return svg.markup()
