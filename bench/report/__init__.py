"""`sqla-bench report`: one self-contained HTML page from results files.

The page needs nothing but itself: CSS inline, charts inline SVG, profiles
copied beside it. Every string taken from a results file goes through jinja2's
autoescaping.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from bench.report import charts
from bench.report.environment import environment_rows
from bench.report.findings import finding, representative_group
from bench.report.model import FamilyView, Run, family_views, load_runs, params_text, per_op
from bench.report.rtt import proxy_note, rtt_finding
from bench.results import ResultsFileError
from bench.units import fmt_bytes, fmt_duration, fmt_rate

MAX_GROUP_CHARTS = 6  # per family and run; the table still lists every case


def write_report(paths: list[Path], output_dir: Path) -> Path:
    """Write output_dir/index.html from the results files; return its path."""
    runs = load_runs(paths)
    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsFileError(
            f"cannot create report directory {output_dir}: {exc.strerror}"
        ) from None
    if not os.access(output_dir, os.W_OK):
        raise ResultsFileError(f"report directory {output_dir} is not writable")
    views = family_views(runs)
    profiles = _copy_profiles(runs, output_dir)
    page = (
        _environment()
        .get_template("index.html")
        .render(
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            runs=[_run_context(run) for run in runs],
            families=[_family_context(view, runs, profiles) for view in views],
            comparison=_comparison_context(views, runs) if len(runs) > 1 else None,
        )
    )
    index = output_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bench.report", "templates"),
        autoescape=True,  # every template, whatever its name: results files are untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = fmt_duration
    env.filters["rate"] = fmt_rate
    env.filters["bytes"] = fmt_bytes
    return env


def _run_context(run: Run) -> dict[str, Any]:
    env = run.doc.get("environment", {})
    cfg = run.doc.get("config", {})
    server = env.get("server") or {}
    drivers = env.get("driver_versions") or {}
    rows = [
        ("results file", run.path.name),
        ("date", run.doc.get("created_at", "?")),
        (
            "driver",
            f"{cfg.get('driver', '?')} " + " ".join(f"{k} {v}" for k, v in drivers.items() if v),
        ),
        ("database", f"{server.get('product', '?')} {server.get('version', '')}".strip()),
        ("URL", cfg.get("url", "?")),
        (
            "profile",
            f"{cfg.get('profile', '?')}: {cfg.get('warmup', '?')} warmup + "
            f"{cfg.get('rounds', '?')} timed rounds per case",
        ),
        ("Python", f"{env.get('python', '?')} ({env.get('implementation', '?')})"),
        ("SQLAlchemy", env.get("sqlalchemy", "?")),
        ("event loop", env.get("event_loop", "?")),
        ("CPU", f"{env.get('cpu_model', '?')}, {env.get('cpu_count', '?')} cores"),
        ("memory", fmt_bytes(env.get("memory_total"))),
        ("platform", env.get("platform", "?")),
        ("git commit", env.get("git_commit") or "not a git checkout"),
        ("status", run.doc.get("run_status", "complete")),
        *environment_rows(run.doc),
    ]
    cases = run.doc["cases"]
    counts: defaultdict[str, int] = defaultdict(int)
    for case in cases:
        counts[case["status"]] += 1
    return {"label": run.label, "rows": rows, "counts": dict(counts), "total": len(cases)}


def _family_context(view: FamilyView, runs: list[Run], profiles: dict[int, str]) -> dict[str, Any]:
    per_run = []
    for run in runs:
        groups = [g for g in view.groups if g.run is run]
        if not groups:
            continue
        charted = [g for g in groups if g.ok_cases()][:MAX_GROUP_CHARTS]
        representative = representative_group(view, run)
        if representative is not None and representative not in charted:
            charted = [representative, *charted[: MAX_GROUP_CHARTS - 1]]
        per_run.append(
            {
                "label": run.label,
                "finding": finding(view, run),
                "charts": [
                    {"params": g.params_text, "svg": charts.variants_chart(g, view.unit)}
                    for g in charted
                ],
                "more_points": len(groups) - len(charted),
                "sweeps": [
                    svg
                    for axis in charts.sweep_axes(view)
                    for svg in charts.sweep_charts(view, axis, run, view.unit)
                ],
                "rows": [_case_row(c, g.params_text, profiles) for g in groups for c in g.cases],
                "rtt_finding": rtt_finding(view, run),
                "rtt_charts": charts.rtt_charts(view, run, view.unit),
                "load_charts": charts.load_charts(view, run, view.unit),  # issue 14
            }
        )
    return {"name": view.name, "question": view.question, "unit": view.unit, "runs": per_run}


def _case_row(case: dict[str, Any], params: str, profiles: dict[int, str]) -> dict[str, Any]:
    stats = case.get("stats")
    extra = case.get("extra") or {}
    row: dict[str, Any] = {
        "variant": case["variant"],
        "params": params,
        "status": case["status"],
        "error": case.get("error"),
        "unstable": bool(case.get("unstable")),
        "statements": case.get("statements_per_op"),
        "throughput": case.get("throughput_per_s"),
        "unit": case.get("unit", ""),
        "ratio": _paired(case),
        "reference": case.get("reference"),
        "is_reference": case.get("reference") == case["variant"] and case["status"] == "ok",
        "memory": extra.get("peak_memory_bytes"),
        "profile": profiles.get(id(case)),
        "top_frames": (extra.get("profile") or {}).get("top_frames", [])[:5],
        "notes": _notes(extra),
    }
    if stats:
        ops = max(1, case["ops_per_round"])
        row.update(
            median=stats["median"] / ops,
            ci_low=stats["ci95_low"] / ops,
            ci_high=stats["ci95_high"] / ops,
            p95=stats["p95"] / ops,
            p99=stats["p99"] / ops,
            cv=stats["cv"],
        )
    return row


def _paired(case: dict[str, Any]) -> tuple[float, float, float] | None:
    paired = case.get("paired")
    if not paired:
        return None
    return (paired["median"], paired["ci95_low"], paired["ci95_high"])


def _notes(extra: dict[str, Any]) -> list[str]:
    """Scenario-specific measurements worth a glance: waits, latencies, errors."""
    notes = []
    for key, label in (("checkout_wait_ns", "checkout wait"), ("latency_ns", "latency")):
        value = extra.get(key)
        if isinstance(value, dict) and value.get("p99") is not None:
            notes.append(
                f"{label} p50 {fmt_duration(value.get('p50'))}, "
                f"p99 {fmt_duration(value.get('p99'))}"
            )
    if extra.get("bottleneck"):  # load from several processes (issue 14)
        notes.append(str(extra["bottleneck"]))
    for key in ("pool_timeouts", "errors", "result_items"):
        if extra.get(key) is not None:
            notes.append(f"{key.replace('_', ' ')}: {extra[key]}")
    notes.extend(note for note in [proxy_note(extra)] if note)
    return notes


def _comparison_context(views: list[FamilyView], runs: list[Run]) -> dict[str, Any]:
    """Drivers (or loops) side by side: grouped bars, and medians relative to the fastest."""
    labels = [r.label for r in runs]
    sections, matrix = [], []
    for view in views:
        medians: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
        for group in view.groups:
            for case in group.ok_cases():
                medians[(group.params_text, case["variant"])][group.run.label] = per_op(case)
        shared = [key for key, by_run in medians.items() if len(by_run) >= 2]
        if not shared:
            continue
        point = _most_common_point(view, runs, shared)
        at_point = {variant: medians[(p, variant)] for p, variant in shared if p == point}
        sections.append(
            {"name": view.name, "svg": charts.drivers_chart(view, runs, point, at_point, view.unit)}
        )
        for key in shared:
            by_run = medians[key]
            fastest = min(by_run.values())
            matrix.append(
                {
                    "case": f"{view.name} · {key[1]} · {key[0]}",
                    "cells": [
                        by_run[label] / fastest if label in by_run else None for label in labels
                    ],
                }
            )
    return {"labels": labels, "sections": sections, "matrix": matrix}


def _most_common_point(view: FamilyView, runs: list[Run], shared: list[tuple[str, str]]) -> str:
    run = runs[0]
    group = representative_group(view, run)
    if group is not None and any(p == group.params_text for p, _ in shared):
        return group.params_text
    counts: dict[str, int] = defaultdict(int)
    for point, _ in shared:
        counts[point] += 1
    return max(counts, key=lambda point: counts[point])


def _copy_profiles(runs: list[Run], output_dir: Path) -> dict[int, str]:
    """Copy each case's pyinstrument page into the report; map case id -> relative link."""
    links: dict[int, str] = {}
    target = output_dir / "profiles"
    for run_index, run in enumerate(runs):
        for case in run.doc["cases"]:
            profile = (case.get("extra") or {}).get("profile") or {}
            relative = profile.get("html")
            if not relative:
                continue
            source = (run.path.parent / relative).resolve()
            if not source.is_file() or source.suffix != ".html":
                continue
            target.mkdir(exist_ok=True)
            name = f"{run_index}_{source.name}"
            shutil.copyfile(source, target / name)
            links[id(case)] = f"profiles/{name}"
    return links


__all__ = ["write_report", "params_text"]
