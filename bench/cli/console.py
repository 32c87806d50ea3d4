"""What the terminal shows: the end-of-run table, and the list and doctor listings."""

from __future__ import annotations

from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table

from bench.db.drivers import DRIVERS
from bench.measure.machine import run_speed_line, speed_of_runs
from bench.measure.summary import is_noisy
from bench.results import quality
from bench.results.records import RunRecord, case_point_text, per_op
from bench.results.units import fmt_count, fmt_duration, fmt_rate, ratio_cell


def summary_table(doc: RunRecord) -> Table:
    """One row per case: per-op median and CI, throughput, counts, CPU share, and the paired
    ratio to the point's reference with its interval; flags for what to distrust."""
    cfg = doc["config"]
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
    for column, justify in columns:
        table.add_column(column, justify=justify)
    skipped = sum(1 for case in doc["cases"] if case["status"] == "skipped")
    if skipped:
        table.caption = (f"{skipped} variant(s) the driver cannot run are left out "
                         "(status skipped in the results file, with the reason)")
    for case in doc["cases"]:
        if case["status"] == "skipped":
            continue
        stats = case["stats"]
        if stats:
            median = fmt_duration(per_op(case))
            low, high = per_op(case, "ci95_low"), per_op(case, "ci95_high")
            ci = f"{fmt_duration(low)} – {fmt_duration(high)}"
        else:
            median = ci = "-"
        flags = []
        if case["status"] != "ok":
            flags.append(f"{case['status'].upper()}: {case['error']}")
        wide = quality.flag(case)  # the one precision signal (CV stays in the file)
        if wide:
            flags.append(f"{wide}: too wide")
        if is_noisy(case):
            flags.append(f"noisy ({case['noisy_rounds']} of {len(case['samples_ns'])} rounds "
                         "waited for a CPU)")
        table.add_row(
            case["scenario"],
            case_point_text(case),
            case["variant"],
            median,
            ci,
            f"{fmt_rate(case['throughput_per_s'])} {case['unit']}"
            if case["throughput_per_s"] else "-",
            fmt_count(case["statements_per_op"]),
            fmt_count(case["calls_per_op"]),
            "-" if case["cpu_share"] is None else f"{case['cpu_share']:.0%}",
            ratio_cell(case, "ref"),
            "; ".join(flags),
        )
    return table




def print_summary(doc: RunRecord, console: Console | None = None) -> None:
    console = console or Console(width=200)
    console.print(summary_table(doc))
    speed = run_speed_line(speed_of_runs([doc]))
    if speed is not None:
        console.print(speed, markup=False, highlight=False)


def print_listing(families: dict[str, Any], console: Console | None = None) -> None:
    """Every family with its question, variants and parameters, then the drivers."""
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
