"""Load from several processes (`--processes`, `--cluster`): what the report draws of it.

A load case carries merged HDR histograms of its requests (bench.measure.hdr), so the report
draws the latency spectrum from p50 up to the percentile its request count supports,
rather than the two percentiles the table has room for; pool_sizing's app_processes axis
(one pool per process) is drawn as throughput against processes. Where a load worker was
CPU-bound, the load generator rather than the database may have set the ceiling: the page
says so beside the charts.
"""

from __future__ import annotations

import math
from collections import defaultdict

from bench.measure import hdr
from bench.report.charts import Colours, Line, dashes_for, xy_chart
from bench.report.model import FamilyView, Group, Run, varying_params
from bench.report.render import Chart
from bench.results.records import CaseRecord, rtt_text
from bench.results.units import duration_unit, fmt_duration, fmt_rate

SPECTRUM_KEYS = ("latency_ns", "checkout_wait_ns")  # the first a point's cases have is drawn
SPECTRUM_TICKS = (50.0, 90.0, 99.0, 99.9, 99.99)
MAX_SPECTRA = 4  # per family and run: the points with the most variants


def supported(percentile: float, count: int) -> bool:
    """Whether `count` requests can show this percentile: at least one request must lie
    beyond it (n·(1 − p) ≥ 1). Past that the value is the largest request, or one read
    off the histogram's bucket edges: p99.99 of 32 requests is not a measurement."""
    return count * (1 - percentile / 100) >= 1 - 1e-9


def _tail_x(percentile: float) -> float:
    """Where a percentile sits on the x axis: log10 of 1 / (1 - p), so p90, p99, p99.9
    and p99.99 are evenly spaced and the tail gets the room."""
    return math.log10(1 / (1 - percentile / 100))


def latency_spectrum_chart(group: Group, colours: Colours) -> Chart | None:
    """Latency at p50 ... p99.99 per variant, from each case's HDR histogram, up to the
    highest percentile each case's request count supports."""
    cases = group.ok_cases()
    key = next((k for k in SPECTRUM_KEYS if any(k in c.get("histograms", {}) for c in cases)),
               None)
    if key is None:
        return None
    spectra: dict[str, list[tuple[float, float]]] = {}
    counts: dict[str, int] = {}
    for case in cases:
        encoded = case.get("histograms", {}).get(key)
        if encoded is None:
            continue
        count = hdr.decode(encoded).get_total_count()
        points = [(p, v) for p, v in hdr.spectrum(encoded) if supported(p, count)]
        if len(points) >= 2:
            spectra[case["variant"]], counts[case["variant"]] = points, count
    if not spectra:
        return None
    divisor, label = duration_unit(max(v for points in spectra.values() for _, v in points))
    what = "checkout wait" if key == "checkout_wait_ns" else "latency"
    lines = [Line(f"{name} (n={counts[name]:,})", colours(name),
                  [(_tail_x(p), v / divisor) for p, v in points],
                  tips=[f"{name}: p{p:g} {fmt_duration(v)} of {counts[name]:,} requests"
                        for p, v in points])
             for name, points in spectra.items()]
    highest = max(p for points in spectra.values() for p, _ in points)
    ticks = [(_tail_x(p), f"p{p:g}") for p in SPECTRUM_TICKS if p <= highest]
    return xy_chart(f"{group.family} at {group.params_text}: {what} percentiles", lines,
                    x_title="percentile of all requests in the timed rounds (shown while "
                            "n·(1 − p) ≥ 1)", y_title=f"{what} ({label})", x_ticks=ticks,
                    name=f"{group.family}-{group.params_text}-{what}")


def app_processes_chart(view: FamilyView, run: Run, colours: Colours) -> Chart | None:
    """Throughput of all processes against the family's process count (pool_sizing's
    app_processes): one line per variant and value of the other parameters that vary."""
    axis = view.processes_param
    groups = [g for g in view.groups_of(run) if axis is not None and axis in g.params]
    if axis is None or len({g.params[axis] for g in groups}) < 2:
        return None
    varying = varying_params(groups) - {axis}
    lines: dict[str, list[tuple[float, float]]] = defaultdict(list)
    style: dict[str, tuple[str, str]] = {}  # line -> (variant, the other parameters' values)
    several_rtts = len({g.rtt_ms for g in groups}) > 1
    for group in groups:
        rest = " ".join([*(f"{k}={v}" for k, v in group.params.items() if k in varying),
                         *([rtt_text(group.rtt_ms)] if several_rtts else [])])
        for case in group.ok_cases():
            if case["throughput_per_s"]:
                name = case["variant"] + (f" · {rest}" if rest else "")
                lines[name].append((group.params[axis], case["throughput_per_s"]))
                style[name] = (case["variant"], rest)
    dashes = dashes_for({name: rest for name, (_, rest) in style.items()})
    drawn = [Line(name, colours(style[name][0]), sorted(points),
                  tips=[f"{name}: {fmt_rate(y)} at {x:g} processes" for x, y in sorted(points)],
                  dash=dashes[name])
             for name, points in list(lines.items())[:12] if len(points) >= 2]
    if not drawn:
        return None
    return xy_chart(f"{view.name}: throughput vs app processes", drawn,
                    x_title="app processes (each with its own pool)",
                    y_title=f"{view.unit or 'ops'} per second, all processes")


def load_charts(view: FamilyView, run: Run, colours: Colours) -> list[Chart]:
    """Throughput vs app processes, then the latency spectra of the points whose cases
    have histograms (those with the most variants first)."""
    charts = [svg for svg in [app_processes_chart(view, run, colours)] if svg is not None]
    groups = [g for g in view.groups_of(run) if any(c.get("histograms") for c in g.ok_cases())]
    groups.sort(key=lambda g: -len(g.ok_cases()))
    for group in groups[:MAX_SPECTRA]:
        svg = latency_spectrum_chart(group, colours)
        if svg is not None:
            charts.append(svg)
    return charts


def bottlenecks(view: FamilyView, run: Run) -> list[str]:
    """Where the load generator, not the database, may have been the ceiling: each case
    whose load workers were CPU-bound (bench.scale.distributed writes `extra.bottleneck`)."""
    return [f"{case['variant']} at {group.params_text}: {case['extra']['bottleneck']}"
            for group in view.groups_of(run) for case in group.cases if _bound(case)]


def _bound(case: CaseRecord) -> bool:
    return case["status"] == "ok" and bool(case["extra"].get("bottleneck"))
