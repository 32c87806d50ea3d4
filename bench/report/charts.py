"""Charts as inline SVG, drawn with matplotlib: no image files, no network."""

from __future__ import annotations

import io
import re
import textwrap
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from markupsafe import Markup  # noqa: E402

from bench.records import rtt_text  # noqa: E402
from bench.report import rtt  # noqa: E402
from bench.report.model import FamilyView, Group, Run, per_op  # noqa: E402
from bench.units import duration_unit  # noqa: E402

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: smaller, selectable, no embedded glyphs
        "font.family": "sans-serif",
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
    }
)

PALETTE = [
    "#3b6ea8",
    "#e07b39",
    "#4a9e5c",
    "#c44e52",
    "#8172b2",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
]


def time_unit(values_ns: Sequence[float]) -> tuple[float, str]:
    """The divisor and label that keep the largest value readable."""
    return duration_unit(max(values_ns) if len(values_ns) else 0)


def to_svg(fig: plt.Figure) -> Markup:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")  # layout is set by tight_layout: one render, not two
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML header and doctype: inline in HTML
    # Unique ids per chart, so two charts in one page never share a clip path.
    suffix = f"c{id(buffer):x}"
    text = re.sub(r'id="([^"]+)"', rf'id="\1-{suffix}"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#\1-{suffix})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#\1-{suffix}"', text)
    return Markup(text)


def singular(unit: str) -> str:
    """'queries' -> 'query', 'rows' -> 'row': axis labels read "time per query"."""
    if unit.endswith("ies"):
        return unit[:-3] + "y"
    return unit[:-1] if unit.endswith("s") else (unit or "op")


def _wrap(name: str, width: int = 22) -> str:
    return "\n".join(textwrap.wrap(name.replace("_", "_\u200b"), width)).replace("\u200b", "")


def variants_chart(group: Group, unit: str) -> Markup | None:
    """Median per op with its 95% CI (left) and the per-op distribution of samples (right)."""
    cases = group.ok_cases()
    if not cases:
        return None
    names = [_wrap(c["variant"]) for c in cases]
    medians = np.array([per_op(c) for c in cases])
    low = np.array([per_op(c, "ci95_low") for c in cases])
    high = np.array([per_op(c, "ci95_high") for c in cases])
    samples = [np.asarray(c["samples_ns"], dtype=float) / max(1, c["ops_per_round"]) for c in cases]
    divisor, label = time_unit([*high, *(s.max() for s in samples)])
    height = 0.9 + 0.42 * len(cases)
    fig, (bars, boxes) = plt.subplots(
        1, 2, figsize=(10, height), sharey=True, gridspec_kw={"width_ratios": [1.1, 1]}
    )
    y = np.arange(len(cases))
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(cases))]
    bars.barh(
        y,
        medians / divisor,
        color=colors,
        alpha=0.85,
        xerr=[(medians - low) / divisor, (high - medians) / divisor],
        capsize=3,
        error_kw={"elinewidth": 1},
    )
    bars.invert_yaxis()
    bars.set_xlabel(f"median time per {singular(unit)} ({label}), 95% CI")
    bars.set_title("median per operation")
    boxes.boxplot(
        [s / divisor for s in samples],
        positions=y,
        orientation="horizontal",
        widths=0.6,
        showfliers=True,
        flierprops={"markersize": 3, "alpha": 0.5},
    )
    bars.set_yticks(y, names)  # again: boxplot relabels the shared axis with positions
    boxes.set_xlabel(f"time per {singular(unit)} ({label}), one point per round")
    boxes.set_title("distribution of rounds")
    if (high.max() / max(medians.min(), 1e-9)) > 50:
        bars.set_xscale("log")
        boxes.set_xscale("log")
    fig.tight_layout()
    return to_svg(fig)


# Metrics a sweep can draw: (title, unit kind, getter in ns or plain numbers).
SweepMetric = tuple[str, str, Callable[[dict[str, Any]], float | None]]


def _extra_p99(key: str) -> Callable[[dict[str, Any]], float | None]:
    def get(case: dict[str, Any]) -> float | None:
        value = case.get("extra", {}).get(key)
        return value.get("p99") if isinstance(value, dict) else None

    return get


SWEEP_METRICS: list[SweepMetric] = [
    ("median time per op", "time", lambda c: per_op(c)),
    ("throughput", "rate", lambda c: c.get("throughput_per_s")),
    ("p99 checkout wait", "time", _extra_p99("checkout_wait_ns")),
    ("p99 latency", "time", _extra_p99("latency_ns")),
]


def sweep_axes(view: FamilyView) -> list[str]:
    """Numeric parameters that take several values within one run of the family."""
    values: dict[str, set] = defaultdict(set)
    for group in view.groups:
        for key, value in group.params.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[key].add(value)
    return [k for k, v in values.items() if len(v) >= 3 or (len(v) == 2 and len(view.groups) <= 4)]


def sweep_charts(view: FamilyView, axis: str, run: Run, unit: str) -> list[Markup]:
    """One line per variant (and per value of the other parameters), x = `axis`."""
    groups = [g for g in view.groups if g.run is run and axis in g.params]
    lines: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    for group in groups:
        rest = " ".join([*(f"{k}={v}" for k, v in group.params.items() if k != axis),
                         *([] if group.rtt_ms is None else [rtt_text(group.rtt_ms)])])
        for case in group.ok_cases():
            label = case["variant"] + (f" · {rest}" if rest and len(groups) > 1 else "")
            lines[label].append((group.params[axis], case))
    lines = {k: sorted(v, key=lambda item: item[0]) for k, v in lines.items() if len(v) >= 2}
    if not lines:
        return []
    if len(lines) > 10:  # too many to read: keep the variants at the first value of the rest
        lines = dict(list(lines.items())[:10])
    charts = []
    for title, kind, getter in SWEEP_METRICS:
        series = {
            k: [(x, y) for x, c in pts if (y := getter(c)) is not None] for k, pts in lines.items()
        }
        series = {k: v for k, v in series.items() if len(v) >= 2}
        if not series or (kind == "rate" and not _wants_throughput(view)):
            continue
        charts.append(_line_chart(view, axis, title, kind, series, unit))
    return charts


def _wants_throughput(view: FamilyView) -> bool:
    # Throughput is the question for load-shaped families; time per op says the rest.
    return any(k in {"concurrency", "pool_size"} for g in view.groups for k in g.params)


def _line_chart(
    view: FamilyView,
    axis: str,
    title: str,
    kind: str,
    series: dict[str, list[tuple[float, float]]],
    unit: str,
) -> Markup:
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    all_y = [y for pts in series.values() for _, y in pts]
    if kind == "time":
        divisor, label = time_unit(all_y)
        ylabel = f"{title} ({label})"
    else:
        divisor, ylabel = 1.0, f"{unit or 'ops'} per second"
    for index, (name, pts) in enumerate(series.items()):
        xs, ys = zip(*pts, strict=True)
        ax.plot(
            xs,
            np.asarray(ys) / divisor,
            marker="o",
            markersize=4,
            color=PALETTE[index % len(PALETTE)],
            label=name,
        )
    xs_all = [x for pts in series.values() for x, _ in pts]
    if min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 20:
        ax.set_xscale("log")
    positive = [y for y in all_y if y and y > 0]
    if positive and max(positive) / min(positive) >= 50:
        ax.set_yscale("log")
    ax.set_xlabel(axis)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{view.name}: {title} vs {axis}")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return to_svg(fig)


def drivers_chart(
    view: FamilyView,
    runs: list[Run],
    params_text: str,
    medians: dict[str, dict[str, float]],
    unit: str,
) -> Markup | None:
    """Grouped bars at one parameter point: one group per variant, one bar per run."""
    variants = [v for v in medians if medians[v]]
    labels = [r.label for r in runs]
    if not variants or len(labels) < 2:
        return None
    divisor, time_label = time_unit([m for v in variants for m in medians[v].values()])
    fig, ax = plt.subplots(figsize=(10, 0.9 + 0.22 * len(variants) * len(labels) + 0.3))
    height = 0.8 / len(labels)
    y = np.arange(len(variants))
    for index, label in enumerate(labels):
        values = [medians[v].get(label, np.nan) / divisor for v in variants]
        ax.barh(
            y + index * height, values, height, label=label, color=PALETTE[index % len(PALETTE)]
        )
    ax.set_yticks(y + height * (len(labels) - 1) / 2, [_wrap(v) for v in variants])
    ax.invert_yaxis()
    ax.set_xlabel(f"median time per {singular(unit)} ({time_label})")
    ax.set_title(f"{view.name} at {params_text}: drivers side by side")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return to_svg(fig)


# -- RTT sweeps (`--rtt 0,1ms,2ms`): each family's answer against network distance ----------

MAX_RTT_POINTS = 3  # parameter points drawn against RTT per family and run, preferred first
# A series: name -> [(rtt in ms, value, interval low, interval high)].
RttSeries = dict[str, list[tuple[float, float, float, float]]]


def rtt_charts(view: FamilyView, run: Run, unit: str) -> list[Markup]:
    """Lines against RTT: each variant's time (throughput for load-shaped families), the
    family's headline ratio (or each variant's ratio to the reference), and the best
    pool size per RTT."""
    drawn = []
    for sweep in rtt.rtt_sweeps(view, run)[:MAX_RTT_POINTS]:
        drawn.append(_rtt_level_chart(view, sweep, unit))
        ratio = _rtt_ratio_chart(view, sweep)
        if ratio is not None:
            drawn.append(ratio)
    best = rtt.best_values(view, run)
    if best:
        series = {label: [(x, float(v), float(v), float(v)) for x, v in points]
                  for label, points in best.items()}
        drawn.append(_rtt_chart(f"{view.name}: best {rtt.BEST_OF} (most {unit or 'ops'}/s) "
                                "vs RTT", f"best {rtt.BEST_OF}", series))
    return drawn


def _rtt_level_chart(view: FamilyView, sweep: rtt.RttSweep, unit: str) -> Markup:
    series: RttSeries = defaultdict(list)
    throughput = _wants_throughput(view)
    for group in sweep.groups:
        x = float(group.rtt_ms or 0)
        for case in group.ok_cases():
            median, low, high = (per_op(case, f) for f in ("median", "ci95_low", "ci95_high"))
            if throughput:  # a faster op is more per second: the interval turns around
                series[case["variant"]].append((x, 1e9 / median, 1e9 / high, 1e9 / low))
            else:
                series[case["variant"]].append((x, median, low, high))
    if throughput:
        return _rtt_chart(f"{view.name} at {sweep.params_text}: throughput vs RTT",
                          f"{unit or 'ops'} per second", series)
    divisor, label = time_unit([p[3] for points in series.values() for p in points])
    scaled = {k: [(x, y / divisor, lo / divisor, hi / divisor) for x, y, lo, hi in v]
              for k, v in series.items()}
    return _rtt_chart(f"{view.name} at {sweep.params_text}: time per {singular(unit)} vs RTT",
                      f"median per {singular(unit)} ({label}), 95% CI", scaled)


def _rtt_ratio_chart(view: FamilyView, sweep: rtt.RttSweep) -> Markup | None:
    pair = rtt.ratio_pair(view, sweep)
    series: RttSeries = defaultdict(list)
    for group in sweep.groups:
        x = float(group.rtt_ms or 0)
        if pair is not None:
            found = rtt.pair_ratio(group, *pair)
            if found is not None:
                series[f"{pair[0]} / {pair[1]}"].append((x, *found))
            continue
        for case in group.ok_cases():
            paired = case.get("paired")
            if paired:
                series[f"{case['variant']} / {paired['reference']}"].append(
                    (x, paired["median"], paired["ci95_low"], paired["ci95_high"]))
    series = defaultdict(list, {k: v for k, v in series.items() if len(v) >= 2})
    if not series:
        return None
    return _rtt_chart(f"{view.name} at {sweep.params_text}: ratio vs RTT",
                      "ratio of time per op (paired by block), 95% CI", series)


def _rtt_chart(title: str, ylabel: str, series: RttSeries) -> Markup:
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    for index, (name, points) in enumerate(series.items()):
        points = sorted(points)
        xs = [p[0] for p in points]
        ys = np.array([p[1] for p in points])
        errors = [ys - np.array([p[2] for p in points]), np.array([p[3] for p in points]) - ys]
        ax.errorbar(xs, ys, yerr=np.clip(errors, 0, None), marker="o", markersize=4, capsize=3,
                    color=PALETTE[index % len(PALETTE)], label=name)
    positive = [p[1] for points in series.values() for p in points if p[1] > 0]
    if positive and max(positive) / min(positive) >= 50:
        ax.set_yscale("log")
    ax.set_xlabel("round-trip time added by the proxy (ms)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return to_svg(fig)


# -- load from several processes (issue 14): latency spectra and app-process scaling ------

SPECTRUM_KEYS = ("latency_ns", "checkout_wait_ns")  # the first a case has is drawn
MAX_SPECTRA = 4  # per family and run: the points with the most variants


def latency_spectrum_chart(group: Group) -> Markup | None:
    """Latency at p50 ... p99.99 per variant, from each case's HDR histogram: x spreads
    the tail (1 / (1 - p), log), y is log scale."""
    from bench import hdr

    key = next((k for k in SPECTRUM_KEYS
                if any(k in (c.get("histograms") or {}) for c in group.ok_cases())), None)
    if key is None:
        return None
    lines = {c["variant"]: hdr.spectrum(c["histograms"][key]) for c in group.ok_cases()
             if key in (c.get("histograms") or {})}
    lines = {name: points for name, points in lines.items() if points}
    if not lines:
        return None
    divisor, label = time_unit([v for points in lines.values() for _, v in points])
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    for index, (name, points) in enumerate(lines.items()):
        xs = [1 / (1 - p / 100) for p, _ in points]
        ax.plot(xs, [v / divisor for _, v in points], marker="o", markersize=3,
                color=PALETTE[index % len(PALETTE)], label=name)
    ticks = [50.0, 90.0, 99.0, 99.9, 99.99]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1 / (1 - p / 100) for p in ticks], [f"p{p:g}" for p in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("percentile")
    what = "checkout wait" if key == "checkout_wait_ns" else "latency"
    ax.set_ylabel(f"{what} ({label})")
    ax.set_title(f"{group.family}: {what} percentiles\n" + textwrap.fill(group.params_text, 90),
                 fontsize=9)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return to_svg(fig)


def app_processes_chart(view: FamilyView, run: Run, unit: str) -> Markup | None:
    """Throughput against app_processes (pool_sizing): one line per variant and value of
    the other parameters that vary."""
    groups = [g for g in view.groups if g.run is run and "app_processes" in g.params]
    if len({g.params["app_processes"] for g in groups}) < 2:
        return None
    varying = {k for k in groups[0].params if k != "app_processes"
               and len({str(g.params.get(k)) for g in groups}) > 1}
    lines: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for group in groups:
        rest = " ".join(f"{k}={group.params[k]}" for k in sorted(varying))
        for case in group.ok_cases():
            if case.get("throughput_per_s"):
                name = case["variant"] + (f" · {rest}" if rest else "")
                lines[name].append((group.params["app_processes"], case["throughput_per_s"]))
    series = {k: sorted(v) for k, v in lines.items() if len(v) >= 2}
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    for index, (name, points) in enumerate(list(series.items())[:10]):
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", markersize=4, color=PALETTE[index % len(PALETTE)],
                label=name)
    ax.set_xscale("log", base=2)
    ticks = sorted({x for points in series.values() for x, _ in points})
    ax.set_xticks(ticks, [f"{x:g}" for x in ticks])
    ax.minorticks_off()
    ax.set_xlabel("app processes (each with its own pool)")
    ax.set_ylabel(f"{unit or 'ops'} per second, all processes")
    ax.set_title(f"{view.name}: throughput vs app processes")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return to_svg(fig)


def load_charts(view: FamilyView, run: Run, unit: str) -> list[Markup]:
    """The charts of load-shaped families: throughput vs app processes, then the latency
    spectra of the points with histograms (most variants first)."""
    charts = [svg for svg in [app_processes_chart(view, run, unit)] if svg is not None]
    groups = [g for g in view.groups if g.run is run
              and any(c.get("histograms") for c in g.ok_cases())]
    groups.sort(key=lambda g: -len(g.ok_cases()))
    for group in groups[:MAX_SPECTRA]:
        svg = latency_spectrum_chart(group)
        if svg is not None:
            charts.append(svg)
    return charts
