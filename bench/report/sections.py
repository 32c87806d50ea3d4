"""The page's sections as template contexts: decisions, a family's charts, tables, plans.

One run: each family shows its decisions as sentences, a chart per point where two
variants compare, its sweeps, a table and its query plans. Several runs: the decisions
are a table (comparisons × runs), a chart per point puts the runs side by side, and each
run's details (table, sweeps, plans) fold away under its name.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from bench.judge.decisions import one_point_note
from bench.measure.summary import is_noisy
from bench.report import charts, driver_charts, heatmap, load_charts, plans, rtt
from bench.report.charts import Colours
from bench.report.findings import Decision, decide, undeclared
from bench.report.model import FamilyView, Group, Run
from bench.report.render import Chart
from bench.results import quality
from bench.results.records import CaseRecord, ComparisonRecord, per_op, rtt_text
from bench.results.units import MISSING, fmt_bytes, fmt_count, fmt_duration, fmt_rate, ratio_cell


def _comparisons(view: FamilyView, runs: list[Run]) -> list[ComparisonRecord]:
    """The family's declared comparisons over all runs, each once, in declared order."""
    seen: dict[tuple[str, str], ComparisonRecord] = {}
    for run in runs:
        for comparison in run.comparisons(view.name):
            seen.setdefault((comparison["candidate"], comparison["against"]), comparison)
    return list(seen.values())


def _cell(decision: Decision | None) -> dict[str, str]:
    if decision is None:
        return {"short": MISSING, "outcome": "missing", "tip": "the run has no such family"}
    return {"short": decision.short(), "outcome": decision.tone, "tip": decision.text()}


def verdicts(view: FamilyView, runs: list[Run]) -> list[dict[str, Any]]:
    """A row per declared comparison: its sentence, and its verdict in every run (the
    first row is the family's headline, at the top of the page)."""
    ran = [r for r in runs if view.groups_of(r)]
    comparisons = _comparisons(view, runs)
    if not comparisons:
        return [{"family": view.name, "sentence": None, "outcome": "missing",
                 "text": undeclared(view, ran[0]) if ran else "not measured", "cells": [],
                 "across": rtt.rtt_finding(view, ran[0]) if ran else None}]
    rtts = view.rtts()
    rows = []
    for comparison in comparisons:
        for at_rtt in rtts:  # a decision per RTT of an --rtt sweep: never across two RTTs
            decided = {r.label: decide(view, r, comparison,
                                       [g for g in view.groups_of(r) if g.rtt_ms == at_rtt])
                       for r in ran}
            first = decided[ran[0].label] if ran else None
            at = f" ({rtt_text(at_rtt)})" if len(rtts) > 1 else ""
            rows.append({
                "family": view.name,
                "sentence": comparison["sentence"] + at,
                "text": first.text() if first else comparison["sentence"],
                "outcome": first.tone if first else "missing",
                "cells": [_cell(decided.get(r.label)) for r in runs],
                "across": None,
            })
    if ran:  # how the answer moves with the RTT, on the headline
        rows[0]["across"] = rtt.rtt_finding(view, ran[0])
    return rows


def family(view: FamilyView, runs: list[Run], decided: list[dict[str, Any]], colours: Colours,
           run_colours: Colours, profiles: dict[int, str]) -> dict[str, Any]:
    multi = len(runs) > 1
    ran = [r for r in runs if view.groups_of(r)]
    cases = [c for g in view.groups for c in g.cases]
    return {
        "name": view.name,
        "question": view.question,
        "verdicts": decided,
        "failed": sum(1 for c in cases if c["status"] in ("error", "wrong")),
        "callouts": _reading_notes(view, ran) + _callouts(view, multi),
        "one_point": one_point(view, runs),
        "charts": (_driver_charts(view, ran, run_colours, heatmap.is_paired(runs)) if multi
                   else _variant_charts(view, colours)),
        "runs": [_run_section(view, run, colours, profiles) for run in ran],
    }


def one_point(view: FamilyView, runs: list[Run]) -> str | None:
    """What the page says when a run measured one value of a parameter the family's
    question needs a sweep of (bench.judge.decisions.one_point_note)."""
    for run in runs:
        note = one_point_note(view.groups_of(run), run.sweeps(view.name),
                              run.doc["config"].get("profile"))
        if note is not None:
            return note + (f" ({run.column})" if len(runs) > 1 else "")
    return None


def _variant_charts(view: FamilyView, colours: Colours) -> list[dict[str, Any]]:
    """One chart for the family: its points under one axis (charts.family_chart)."""
    scale = charts.FamilyScale(view.groups)  # one axis for every point of the family
    drawn = [(g, charts.variants_chart(g, view.unit, colours, scale)) for g in view.groups]
    chart = charts.family_chart(view.name, view.question,
                                [(g, c) for g, c in drawn if c is not None])
    return [] if chart is None else [{"svg": chart}]


def _driver_charts(view: FamilyView, runs: list[Run], run_colours: Colours,
                   paired: bool = False) -> list[dict[str, Any]]:
    """The drivers of one run of several: their paired ratios (bench.report.driver_charts);
    else (separate runs, or drivers of different backends) absolute times, said so."""
    if paired and (chart := driver_charts.paired_drivers_chart(view, runs, run_colours)):
        return [{"svg": chart}]
    caption = ("absolute times, not paired (different backends)" if paired
               else "separate runs: absolute times, not paired")
    points: dict[str, dict[str, dict[str, CaseRecord]]] = defaultdict(lambda: defaultdict(dict))
    first: dict[str, Group] = {}
    for group in view.groups:
        first.setdefault(group.params_text, group)
        for case in group.ok_cases():
            points[group.params_text][case["variant"]][group.run.column] = case
    columns = [r.column for r in runs]
    limits = charts.driver_limits(points.values())  # one axis for every point of the family
    parts = []
    for point, rows in points.items():
        chart = charts.drivers_chart(view.name, point, rows, columns, view.unit, run_colours,
                                     limits, caption)
        if chart is not None:
            parts.append((first[point], chart))
    chart = charts.family_chart(view.name, view.question, parts)
    return [] if chart is None else [{"svg": chart}]


def _run_section(view: FamilyView, run: Run, colours: Colours,
                 profiles: dict[int, str]) -> dict[str, Any]:
    groups = view.groups_of(run)
    counts = Counter(c["status"] for g in groups for c in g.cases)
    sweeps: list[Chart] = [svg for axis in charts.sweep_axes(view)
                            for svg in charts.sweep_charts(view, axis, run, view.unit, colours)]
    return {
        "label": run.label,
        "unit": view.unit or "ops",
        "memory": any("peak_memory_bytes" in c["extra"] for g in groups for c in g.cases),
        "instructions": any(c.get("instructions_per_op") for g in groups for c in g.cases),
        # --measure instructions alone: the round times were taken under valgrind
        "times_under_valgrind": run.doc["config"].get("measure") == "instructions",
        "counts": dict(counts),
        "points": [_table_point(g, profiles) for g in groups if any(
            c["status"] != "skipped" for c in g.cases)],
        "skipped": _skipped(groups, run),
        "sweeps": sweeps,
        "rtt_finding": rtt.rtt_finding(view, run),
        "rtt_charts": rtt.rtt_charts(view, run, colours),
        "load_charts": load_charts.load_charts(view, run, colours),
        "bottlenecks": load_charts.bottlenecks(view, run),
        "plans": _plans(groups),
    }


def _table_point(group: Group, profiles: dict[int, str]) -> dict[str, Any]:
    shown = [c for c in group.cases if c["status"] != "skipped"]
    reference = next((c["reference"] for c in shown if c["reference"]), None)
    ref_case = next((c for c in shown if c["variant"] == reference), None)
    rows = [_row(c, profiles) for c in shown]
    for case, row in zip(shown, rows, strict=True):
        row.update(instruction_cells(case, ref_case))
    return {"params": group.params_text, "reference": reference, "rows": rows}


def instruction_cells(case: CaseRecord, reference: CaseRecord | None) -> dict[str, Any]:
    """Instructions per op and their ratio to the reference's: a paired, machine-independent
    "ORM costs 6.8× the raw driver's CPU work" (the client's user-space work, counted)."""
    counted = case.get("instructions_per_op")
    ref = reference.get("instructions_per_op") if reference is not None else None
    cells: dict[str, Any] = {"instructions": MISSING, "instructions_ratio": MISSING,
                             "instructions_sentence": None}
    if not counted:
        return cells
    detail: dict[str, Any] = dict(case.get("instructions") or {})
    spread = detail.get("spread")
    cells["instructions"] = f"{counted:,.0f}" + (f" ±{spread / 2:.1%}" if spread else "")
    if ref and reference is not None and reference is not case:
        ratio = counted / ref
        cells["instructions_ratio"] = f"{ratio:.1f}×"
        cells["instructions_sentence"] = (f"{case['variant']} costs {ratio:.1f}× "
                                          f"{reference['variant']}'s CPU work (instructions "
                                          "per op, counted)")
    return cells


def _row(case: CaseRecord, profiles: dict[int, str]) -> dict[str, Any]:
    stats = case["stats"]
    extra = case["extra"]
    notes = _notes(extra)
    frames = [f"{f['function']} ({f['file']}) {f['self_seconds'] * 1000:.1f} ms"
              for f in (extra.get("profile") or {}).get("top_frames", [])[:5]]
    row: dict[str, Any] = {
        "variant": case["variant"],
        "status": case["status"],
        "error": case["error"],
        # flags on the figures they concern, explained in their tooltips
        "wide": f"{quality.flag(case)}: wider than ±{quality.WIDE_INTERVAL:.0%}, too wide to "
                "decide on" if quality.too_wide(case) else None,
        "noisy": f"noisy: {case['noisy_rounds']} of {len(case['samples_ns'])} rounds waited "
                 "for a CPU" if is_noisy(case) else None,
        "statements": fmt_count(case["statements_per_op"]),
        "calls": fmt_count(case["calls_per_op"]),
        "ratio": ratio_cell(case),
        "memory": fmt_bytes(extra.get("peak_memory_bytes")),
        "profile": profiles.get(id(case)),
        "notes": notes,
        "frames": frames,
        "detail": bool(case["error"] or notes or frames),
        "median": MISSING, "ci": MISSING, "p99": MISSING, "cv": MISSING, "throughput": MISSING,
    }
    if stats:
        row.update(
            median=fmt_duration(per_op(case)),
            ci=f"{fmt_duration(per_op(case, 'ci95_low'))} – "
               f"{fmt_duration(per_op(case, 'ci95_high'))}",
            p99=fmt_duration(per_op(case, "p99")),
            cv=f"{stats['cv']:.1%}",
            throughput=fmt_rate(case["throughput_per_s"]).removesuffix("/s")
            if case["throughput_per_s"] else MISSING,
        )
    return row


def _notes(extra: dict[str, Any]) -> list[str]:
    """Scenario-specific measurements worth a glance: waits, latencies, errors."""
    notes = []
    for key, label in (("checkout_wait_ns", "checkout wait"), ("latency_ns", "latency")):
        value = extra.get(key)
        if isinstance(value, dict) and value.get("p99") is not None:
            notes.append(f"{label} p50 {fmt_duration(value.get('p50'))}, "
                         f"p99 {fmt_duration(value.get('p99'))}")
    for key in ("pool_timeouts", "errors", "case_teardown_error"):
        if extra.get(key) is not None:
            notes.append(f"{key.replace('_', ' ')}: {extra[key]}")
    if extra.get("bottleneck"):  # a CPU-bound load worker (bench.scale.distributed)
        notes.append(str(extra["bottleneck"]))
    notes.extend(note for note in [rtt.proxy_note(extra)] if note)
    return notes


def _skipped(groups: list[Group], run: Run) -> list[str]:
    """One line per reason: the variants this run's driver could not run."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for group in groups:
        for case in group.cases:
            if case["status"] == "skipped":
                reason = (case["error"] or "").removeprefix("skipped: ") or "not applicable"
                if case["variant"] not in by_reason[reason]:
                    by_reason[reason].append(case["variant"])
    return [f"{', '.join(names)} not run on {run.column}: {reason}"
            for reason, names in by_reason.items()]


def _plans(groups: list[Group]) -> list[dict[str, Any]]:
    out = []
    for group in groups:
        for case in group.cases:
            records = case.get("plans") or []
            if not records:
                continue
            scans = [plans.scan_text(s) for r in records for s in r["scans"] if s.get("callout")]
            out.append({
                "params": group.params_text, "variant": case["variant"], "flags": scans,
                "statements": [{"sql": r["sql"], "sent": r["sent"], "explain": r["explain"],
                                "error": r["error"], "plan": plans.plan_text(r),
                                "scans": [plans.scan_text(s) for s in r["scans"]]}
                               for r in records],
            })
    return out


def _reading_notes(view: FamilyView, runs: list[Run]) -> list[str]:
    """What to know to read the family's answers on a run's backend (SQLite's single
    writer); a run measured at one point only says so in `one_point`."""
    out = []
    for run in runs:
        where = f" ({run.column})" if len(runs) > 1 else ""
        meta = run.doc["families"].get(view.name)
        if meta and meta.get("note"):
            out.append(meta["note"] + where)
    return list(dict.fromkeys(out))


def _callouts(view: FamilyView, multi: bool) -> list[str]:
    """Full scans of large tables, named outside the folded plans."""
    out = []
    for group in view.groups:
        for case in group.cases:
            for record in case.get("plans") or []:
                for scan in record["scans"]:
                    if scan.get("callout"):
                        where = f" on {group.run.column}" if multi else ""
                        out.append(f"{case['variant']} at {group.params_text}{where}: "
                                   f"{plans.scan_text(scan)}")
    return list(dict.fromkeys(out))
