"""What the terminal shows: the end-of-run table, and the list and doctor listings."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from bench.runner import RAW_VARIANT
from bench.units import fmt_duration, fmt_rate


def fmt_params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def summary_table(doc: dict[str, Any]) -> Table:
    """One row per case: per-op median and CI, throughput, statements, ratio to raw, flags."""
    cfg = doc["config"]
    table = Table(
        title=f"sqla-bench · {cfg['driver']} · {cfg['url']} · profile {cfg['profile']} "
        f"({cfg['rounds']} rounds)",
        title_justify="left",
    )
    for column, justify in (
        ("scenario", "left"),
        ("params", "left"),
        ("variant", "left"),
        ("median/op", "right"),
        ("95% CI", "right"),
        ("throughput", "right"),
        ("stmts/op", "right"),
        ("vs raw", "right"),
        ("", "left"),
    ):
        table.add_column(column, justify=justify)
    skipped = sum(1 for case in doc["cases"] if case["status"] == "skipped")
    if skipped:
        table.caption = (f"{skipped} variant(s) not applicable to this driver or parameter "
                         "point are left out (status skipped in the results file)")
    for case in doc["cases"]:
        if case["status"] == "skipped":
            continue
        stats = case.get("stats")
        ops = case["ops_per_round"] or 1
        if stats:
            median = fmt_duration(stats["median"] / ops)
            low, high = stats["ci95_low"] / ops, stats["ci95_high"] / ops
            ci = f"{fmt_duration(low)} – {fmt_duration(high)}"
        else:
            median = ci = "-"
        ratio = case["extra"].get("ratio_to_raw")
        flags = []
        if case["status"] != "ok":
            flags.append(f"{case['status'].upper()}: {case['error']}")
        if case.get("unstable"):
            flags.append("unstable (CV {:.0%})".format(stats["cv"]))
        table.add_row(
            case["scenario"],
            fmt_params(case["params"]),
            case["variant"],
            median,
            ci,
            f"{fmt_rate(case['throughput_per_s'])} {case['unit']}"
            if case["throughput_per_s"]
            else "-",
            "-" if case["statements_per_op"] is None else f"{case['statements_per_op']:g}",
            "-"
            if ratio is None
            else ("1.00×" if case["variant"] == RAW_VARIANT else f"{ratio:.2f}×"),
            "; ".join(flags),
        )
    return table


def print_summary(doc: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(width=200)
    console.print(summary_table(doc))


def print_listing(families: dict[str, Any], console: Console | None = None) -> None:
    """Every family with its question, variants and parameters, then the drivers."""
    from bench.drivers import DRIVERS

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
