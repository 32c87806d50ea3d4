"""The HTML page of `sqla-bench history RESULTS_DIR --output DIR`."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.judge.history import History, Series
from bench.report import render
from bench.report.charts import REFERENCE_COLOUR, Colours, HistoryPoint, history_chart
from bench.report.page import page_css, prepare_output_dir
from bench.report.templating import environment
from bench.results.records import RAW_VARIANT
from bench.results.units import duration_unit


def write_history_page(history: History, directory: Path, output: Path) -> Path:
    output = prepare_output_dir(output)
    colours = Colours({RAW_VARIANT: REFERENCE_COLOUR})
    points: dict[tuple[str, str, str], list[Series]] = defaultdict(list)
    for series in history.series:
        points[series.point].append(series)
    labels = [run.short for run in history.runs]
    drawn = [_point(key, group, labels, colours) for key, group in points.items()
             if len({e.run for s in group for e in s.entries}) >= 2]
    render.render_all(render.charts_in(drawn), output)
    page = environment().get_template("history.html").render(
        css=page_css(),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        directory=str(directory),
        runs=history.runs,
        skipped=history.skipped,
        steps=_steps(history),
        counts=_count_changes(history),
        points=drawn,
    )
    index = output / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _case_name(series: Series) -> str:
    return f"{series.scenario} · {series.variant} · {series.params} · {series.driver}"


def _steps(history: History) -> list[dict[str, Any]]:
    rows = []
    for series in history.series:
        for step in series.steps:
            run = history.runs[step.index]
            rows.append({"case": _case_name(series), "metric": series.metric,
                         "before": step.before, "after": step.after, "change": step.change,
                         "slower": step.change > 1, "run": run.label, "commit": run.commit,
                         "date": run.created_at, "index": step.index})
    return sorted(rows, key=lambda r: (-r["index"], -abs(r["change"] - 1)))


def _count_changes(history: History) -> list[dict[str, Any]]:
    return [{"case": _case_name(series), "before": before, "after": after,
             "run": history.runs[index].label, "commit": history.runs[index].commit}
            for series in history.series for index, before, after in series.count_changes]


def _point(key: tuple[str, str, str], group: list[Series], labels: list[str],
           colours: Colours) -> dict[str, Any]:
    scenario, driver, params = key
    colours.assign(s.variant for s in group)
    title = f"{scenario} · {params} · {driver}"
    ratios: dict[str, list[HistoryPoint]] = {
        s.variant: [(e.run, *e.ratio) for e in s.entries if e.ratio is not None] for s in group}
    reference = next((s.reference for s in group if s.reference), "the reference")
    divisor, unit = duration_unit(max(e.median for s in group for e in s.entries))
    medians: dict[str, list[HistoryPoint]] = {
        s.variant: [(e.run, e.median / divisor, None, None) for e in s.entries] for s in group}
    ratio_steps = {s.variant: [st.index for st in s.steps] for s in group
                   if s.metric == "paired ratio"}
    median_steps = {s.variant: [st.index for st in s.steps] for s in group
                    if s.metric != "paired ratio"}
    return {
        "title": title,
        "scenario": scenario,
        "charts": [chart for chart in (
            history_chart(f"{title}: paired ratio to {reference}", labels, ratios, ratio_steps,
                          colours, "× the reference's time", name=f"{title}-ratio"),
            history_chart(f"{title}: median per op", labels, medians, median_steps, colours,
                          f"median per op ({unit})", name=f"{title}-median"),
        ) if chart is not None],
    }
