"""The report's replay section: what `sqla-bench replay` found, per results file of a
replay (a run whose document has a `replay` section, bench.replay.runner).

Two dot-and-interval charts (bench.report.figures): units per second per driver x form x
pool size x RTT with its 95% interval, and the decisions, each pair of drivers' paired
units/s ratio with its interval. Tables beside them: statements and commands per unit,
failures, p50/p99 per unit type, and the top statements by total time with their share.
"""

from __future__ import annotations

from typing import Any

from bench.report.charts import Colours, _padded
from bench.report.figures import Dot, DotSpec, log_label, spans_widely
from bench.report.model import Run
from bench.report.render import Chart
from bench.results.records import CaseRecord, rtt_text

BETTER, WORSE, UNDECIDED = "#2e8b57", "#c0392b", "#8a939e"
TOP_SHOWN = 5


def _where(case: CaseRecord) -> str:
    return (f"{case['driver']} {case['variant']} pool={case['params']['pool_size']} "
            f"{rtt_text(case.get('rtt_ms'))}")


def _units_per_s(case: CaseRecord) -> tuple[float, float | None, float | None]:
    """Median units/s over the rounds and its 95% interval (from the round times')."""
    stats: dict[str, Any] = dict(case["stats"] or {})
    ops = case["ops_per_round"]

    def rate(ns: float | None) -> float | None:
        return ops / (ns / 1e9) if ns else None

    return (rate(stats.get("median")) or 0.0, rate(stats.get("ci95_high")),
            rate(stats.get("ci95_low")))


def _units_chart(run: Run, cases: list[CaseRecord], colours: Colours) -> Chart | None:
    if not cases:
        return None
    ranked = sorted(cases, key=lambda c: -_units_per_s(c)[0])
    dots = []
    for case in ranked:
        value, low, high = _units_per_s(case)
        dots.append(Dot(_where(case), value, low, high, colours(case["driver"]),
                        tip=f"{_where(case)}: {value:,.0f} units/s",
                        note=f"{value:,.0f}/s"))
    values = [v for d in dots for v in (d.value, d.low, d.high) if v]
    log = spans_widely(values)
    spec = DotSpec(f"replay of {run.doc['replay']['workload']}: units per second",
                   [d.row for d in dots], dots,
                   log_label("units per second (median of rounds), bar 95% interval", log),
                   _padded(values, log), log)
    return Chart(spec, f"replay-{run.column}-units")


def decision_rows(ratios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in ratios:
        outcome = ("better" if r["ci95_low"] > 1 else "worse" if r["ci95_high"] < 1
                   else "undecided")
        rows.append({**r, "outcome": outcome, "rtt": rtt_text(r["rtt_ms"]),
                     "label": f"{r['candidate']} vs {r['against']} · {r['form']} "
                              f"pool={r['pool_size']} {rtt_text(r['rtt_ms'])}"})
    return rows


def _decisions_chart(run: Run, rows: list[dict[str, Any]]) -> Chart | None:
    if not rows:
        return None
    colour = {"better": BETTER, "worse": WORSE, "undecided": UNDECIDED}
    dots = [Dot(r["label"], r["units_per_s_ratio"], r["ci95_low"], r["ci95_high"],
                colour[r["outcome"]],
                tip=f"{r['candidate']} instead of {r['against']}: "
                    f"{r['units_per_s_ratio']:.2f}x ({r['ci95_low']:.2f}-{r['ci95_high']:.2f})",
                note=f"{r['units_per_s_ratio']:.2f}x") for r in rows]
    values = [v for d in dots for v in (d.value, d.low, d.high) if v] + [1.0]
    spec = DotSpec(f"replay of {run.doc['replay']['workload']}: driver decisions",
                   [d.row for d in dots], dots,
                   "units/s of the first driver over the second's (paired by block): "
                   "dot median, bar 95% interval", _padded(values, False), False, 1.0)
    return Chart(spec, f"replay-{run.column}-decisions")


def _case_row(case: CaseRecord) -> dict[str, Any]:
    extra = case["extra"].get("replay", {})
    value, low, high = _units_per_s(case)
    types = [{"name": name, "count": t.get("count"),
              "p50_ms": (t.get("p50") or 0) / 1e6, "p99_ms": (t.get("p99") or 0) / 1e6}
             for name, t in extra.get("unit_types", {}).items()]
    return {"where": _where(case), "driver": case["driver"], "form": case["variant"],
            "pool": case["params"]["pool_size"], "rtt": rtt_text(case.get("rtt_ms")),
            "units_per_s": value, "low": low, "high": high,
            "statements_per_unit": extra.get("statements_per_unit"),
            "commands_per_unit": extra.get("commands_per_unit"),
            "failures": extra.get("failures", 0),
            "rows_mismatched": extra.get("rows_mismatched", 0),
            "unit_types": types, "top": extra.get("top_statements", [])[:TOP_SHOWN],
            "processes": case["extra"].get("load_processes")}


def sections(runs: list[Run], colours: Colours) -> list[dict[str, Any]]:
    """One section per replay among the runs (none for ordinary runs)."""
    found = []
    for run in runs:
        info = run.doc.get("replay")
        if not info:
            continue
        ok = [c for c in run.doc["cases"] if c["status"] == "ok"]
        failed = [c for c in run.doc["cases"] if c["status"] != "ok"]
        colours.assign(sorted({c["driver"] for c in ok}))
        decisions = decision_rows(info.get("driver_ratios", []))
        found.append({
            "name": f"replay-{run.column}", "label": run.label, "info": info,
            "units_chart": _units_chart(run, ok, colours),
            "decisions_chart": _decisions_chart(run, decisions),
            "decisions": decisions,
            "cases": [_case_row(c) for c in ok],
            "failed": [{"where": _where(c), "error": c["error"]} for c in failed]})
    return found
