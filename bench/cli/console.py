"""What the terminal shows: the end-of-run table, and the list and doctor listings."""

from __future__ import annotations

from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table

from bench.measure.summary import is_noisy
from bench.results.records import RunRecord, case_point_text
from bench.results.units import fmt_duration, fmt_rate


def summary_table(doc: RunRecord) -> Table:
    """One row per case: per-op median and CI, throughput, counts, CPU share, and the paired
    ratio to the point's reference with its interval; flags for what to distrust."""
    cfg = doc["config"]
    several = bool(cfg.get("drivers"))  # a run of several drivers: a driver column and ratio
    table = Table(
        title=f"sqla-bench · {doc['label']} · {cfg.get('url')} · profile {cfg.get('profile')} "
        f"({cfg.get('rounds')} rounds, {cfg.get('schedule', 'interleaved')})",
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("scenario", "left"),
        ("params", "left"),
        ("variant", "left"),
        ("median/op", "right"),
        ("95% CI", "right"),
        ("throughput", "right"),
        ("stmts/op", "right"),
        ("calls/op", "right"),
        ("CPU", "right"),
        ("vs ref (95% CI)", "right"),
        ("", "left"),
    )
    if several:
        columns = (columns[:2] + (("driver", "left"),) + columns[2:-1]
                   + (("vs ref driver (95% CI)", "right"), columns[-1]))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    skipped = sum(1 for case in doc["cases"] if case["status"] == "skipped")
    if skipped:
        table.caption = (f"{skipped} variant(s) the driver cannot run are left out "
                         "(status skipped in the results file, with the reason)")
        down = [d for d in cfg.get("drivers") or [] if d.get("skipped")]
        if down:
            table.caption += "; not run: " + "; ".join(f"{d['label']} ({d['skipped']})"
                                                       for d in down)
    for case in doc["cases"]:
        if case["status"] == "skipped":
            continue
        stats = case["stats"]
        ops = case["ops_per_round"] or 1
        if stats:
            median = fmt_duration(stats["median"] / ops)
            low, high = stats["ci95_low"] / ops, stats["ci95_high"] / ops
            ci = f"{fmt_duration(low)} – {fmt_duration(high)}"
        else:
            median = ci = "-"
        flags = []
        if case["status"] != "ok":
            flags.append(f"{case['status'].upper()}: {case['error']}")
        if stats and case["unstable"]:
            flags.append("unstable (CV {:.0%})".format(stats["cv"]))
        if is_noisy(case):
            flags.append(f"noisy ({case['noisy_rounds']} of {len(case['samples_ns'])} rounds "
                         "waited for a CPU)")
        cells = [
            case["scenario"],
            case_point_text(case),
            *([case["driver"]] if several else []),
            case["variant"],
            median,
            ci,
            f"{fmt_rate(case['throughput_per_s'])} {case['unit']}"
            if case["throughput_per_s"] else "-",
            "-" if case["statements_per_op"] is None else f"{case['statements_per_op']:g}",
            "-" if case["calls_per_op"] is None else f"{case['calls_per_op']:,.0f}",
            "-" if case["cpu_share"] is None else f"{case['cpu_share']:.0%}",
            _ratio_cell(case),
            *([_driver_ratio_cell(case, cfg)] if several else []),
            "; ".join(flags),
        ]
        table.add_row(*cells)
    return table


def _driver_ratio_cell(case: dict[str, Any] | Any, cfg: dict[str, Any] | Any) -> str:
    paired = case.get("paired_driver")
    if paired is not None:
        return f"{paired['median']:.2f}× ({paired['ci95_low']:.2f}–{paired['ci95_high']:.2f})"
    is_reference = any(d.get("label") == case["driver"] and d.get("reference") is None
                       for d in cfg.get("drivers") or [])
    return "ref" if is_reference and case["status"] == "ok" else "-"


def driver_decision_lines(doc: RunRecord) -> list[str]:
    """A run of several drivers: per family, one decision per driver against its reference."""
    from bench.report.driver_pairs import driver_pairs

    return [pair.text() + "." for pair in driver_pairs(doc["cases"])]


def _ratio_cell(case: dict[str, Any] | Any) -> str:
    paired = case["paired"]
    if paired is not None:
        return f"{paired['median']:.2f}× ({paired['ci95_low']:.2f}–{paired['ci95_high']:.2f})"
    if case["reference"] == case["variant"] and case["status"] == "ok":
        return "ref"
    return "-"


def print_summary(doc: RunRecord, console: Console | None = None) -> None:
    from bench.measure.machine import run_speed_line, speed_of_runs

    console = console or Console(width=200)
    console.print(summary_table(doc))
    for line in driver_decision_lines(doc):
        console.print(line, markup=False, highlight=False)
    speed = run_speed_line(speed_of_runs([doc]))
    if speed is not None:
        console.print(speed, markup=False, highlight=False)


def print_listing(families: dict[str, Any], console: Console | None = None) -> None:
    """Every family with its question, variants and parameters, then the drivers."""
    from bench.db.drivers import DRIVERS

    console = console or Console(width=200)
    for family in families.values():
        console.print(
            f"[bold]{family.name}[/bold] — {family.question}  (unit: {family.unit}; "
            f"{family.module})"
        )
        for variant in family.variants.values():
            console.print(f"    variant  {variant.name:<24} {variant.doc}", markup=False)
        if family.sync_variants:
            names = ", ".join(family.sync_variants)
            console.print(f"    sync     {names}  (on the sync baseline drivers)", markup=False)
        for param in family.params:
            sizes = "; ".join(
                f"{p}: {', '.join(map(str, param.values(p)))}"
                for p in ("quick", "standard", "full")
            )
            console.print(f"    param    {param.name:<24} {param.help}  [{sizes}]", markup=False)
    table = Table(title="drivers", title_justify="left")
    for column in ("driver", "backend", "URL scheme", "installed"):
        table.add_column(column)
    for driver in DRIVERS.values():
        version = driver.version() if driver.installed() else None
        table.add_row(
            driver.name + (" (sync)" if driver.is_sync else ""),
            driver.backend,
            driver.scheme,
            version or "[red]no[/red]",
        )
    console.print(table)
