"""What the terminal shows: the end-of-run tables and answers, and the list listing.

Every width comes from rich's own detection of the terminal (a pipe gets 80 columns, or
$COLUMNS). The end-of-run output is a table per family, each parameter point once as a
group header naming only the parameters that vary; columns the width cannot hold are
left out, least useful first, so a row never wraps. Then the family's declared decisions
(bench.judge.decisions, as the report states them) and the variants that were skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, JustifyMethod
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from bench.db.drivers import DRIVERS
from bench.judge.decisions import (
    Decision,
    Point,
    one_point_note,
    run_decisions,
    run_points,
    varying_params,
)
from bench.judge.driver_pairs import driver_pairs
from bench.measure.machine import run_speed_line, speed_of_runs
from bench.measure.summary import is_noisy
from bench.results import quality
from bench.results.records import CaseRecord, RunRecord, params_text, per_op
from bench.results.units import fmt_count, fmt_duration, fmt_paired, fmt_rate, ratio_cell

NARROW = 120  # below this many columns: the fewest columns, errors under the table

# How a decision's verdict is coloured (the report's colours; an overhead is no choice).
TONES = {"candidate": "green", "against": "red", "tie": "yellow", "missing": "dim",
         "overhead": ""}


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[CaseRecord], str]
    justify: JustifyMethod = "right"
    drop: int = 0  # 0: always shown; higher: left out first when the width is short


def _per_op(case: CaseRecord) -> str:
    return fmt_duration(per_op(case)) if case["stats"] else "-"


def _ci(case: CaseRecord) -> str:
    if not case["stats"]:
        return "-"
    return f"{fmt_duration(per_op(case, 'ci95_low'))}–{fmt_duration(per_op(case, 'ci95_high'))}"


def _throughput(case: CaseRecord) -> str:
    rate = case["throughput_per_s"]
    return f"{fmt_rate(rate)} {case['unit']}" if rate else "-"


def _ratio_cell(case: CaseRecord) -> str:
    return ratio_cell(case, "ref")


# What each flag word means, printed once under the tables when a flag is shown.
FLAG_LEGEND = {
    "ERROR": "the case failed: its error is under the tables",
    "WRONG": "the case returned other data than the reference: under the tables",
    "too wide": (f"its paired ratio's 95% interval reaches beyond ±{quality.WIDE_INTERVAL:.0%}: "
                 "too wide to decide on"),
    "noisy": "many of its rounds waited for a CPU (another process ran)",
}


def flags(case: CaseRecord) -> list[str]:
    """Short words for what to distrust in a case (FLAG_LEGEND); the error itself goes
    under the tables, so a row keeps its one line."""
    out = []
    if case["status"] not in ("ok", "skipped"):
        out.append(case["status"].upper())
    if quality.too_wide(case):  # the one precision signal (CV stays in the file)
        out.append("too wide")
    if is_noisy(case):
        out.append("noisy")
    return out


COLUMNS = (
    Column("variant", lambda c: c["variant"], "left"),
    Column("per op", _per_op, drop=1),
    Column("vs ref (95% CI)", _ratio_cell),
    Column("stmts", lambda c: "-" if c["statements_per_op"] is None
           else fmt_count(c["statements_per_op"])),
    Column("flags", lambda c: ", ".join(flags(c)), "left"),
    Column("calls/op", lambda c: "-" if c["calls_per_op"] is None
           else f"{c['calls_per_op']:,.0f}", drop=3),
    Column("per-op CI", _ci, drop=5),
    Column("throughput", _throughput, drop=4),
    Column("CPU", lambda c: "-" if c["cpu_share"] is None else f"{c['cpu_share']:.0%}", drop=2),
)


def driver_columns(doc: RunRecord) -> tuple[Column, ...]:
    """A run of several drivers: each case's driver, and its paired ratio to the reference
    driver of its backend in the same blocks."""
    references = {d.get("label") for d in doc["config"].get("drivers") or []
                  if d.get("reference") is None}

    def against_reference(case: CaseRecord) -> str:
        paired = case.get("paired_driver")
        if paired is not None:
            return fmt_paired(paired)
        return "ref" if case["driver"] in references and case["status"] == "ok" else "-"

    return (Column("driver", lambda c: c["driver"], "left"),
            Column("vs ref driver", against_reference))


def driver_decision_lines(doc: RunRecord) -> list[str]:
    """A run of several drivers: per family, one decision per driver against its reference."""
    return [pair.text() + "." for pair in driver_pairs(doc["cases"])]


def point_label(point: Point, keys: set[str]) -> str:
    """The point by its varying parameters (and RTT): what tells it from its neighbours."""
    text = params_text({k: v for k, v in point.params.items() if k in keys}) if keys else ""
    if point.rtt_ms is not None:
        text = f"{text} {point.params_text.rsplit(' ', 1)[-1]}".strip()
    return text


def family_table(family: str, points: list[Point], columns: tuple[Column, ...],
                 question: str = "") -> Table:
    """One family's cases, each point once as a group header; fixed parameters in the caption."""
    keys = varying_params(points)
    fixed = {k: v for k, v in points[0].params.items() if k not in keys}
    table = Table(title=f"[bold]{family}[/bold]" + (f" — {question}" if question else ""),
                  title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD,
                  caption=("at " + params_text(fixed)) if fixed else None, pad_edge=False,
                  collapse_padding=True, show_edge=False)
    for column in columns:
        table.add_column(column.header, justify=column.justify, no_wrap=True)
    longest = max((len(c["variant"]) for p in points for c in p.cases), default=0)
    for index, point in enumerate(points):
        shown = [c for c in point.cases if c["status"] != "skipped"]
        if not shown:
            continue
        label = point_label(point, keys)
        if len(label) > longest:  # one parameter a line rather than a wider first column
            label = label.replace(" ", "\n")
        if label:
            table.add_row(Text(label, style="bold cyan"), *[""] * (len(columns) - 1))
        for case in shown:
            table.add_row(*[column.cell(case) for column in columns],
                          style="red" if case["status"] in ("error", "wrong") else None)
        if index < len(points) - 1:
            table.add_section()
    return table


def natural_width(console: Console, table: Table) -> int:
    """The columns the table takes unwrapped (console.measure clamps to the console)."""
    return Measurement.get(console, console.options.update(max_width=100_000), table).maximum


def print_fitted(console: Console, build: Callable[[bool], Table]) -> None:
    """`build(False)`, the wide table, when it fits the console unwrapped; else
    `build(True)`, the narrow one."""
    table = build(False)
    if natural_width(console, table) > console.width:
        table = build(True)
    console.print(table)


def fitted_table(console: Console, family: str, points: list[Point], question: str,
                 columns: tuple[Column, ...] = COLUMNS) -> Table:
    """The family's table with as many columns as the console's width holds unwrapped."""
    while True:
        table = family_table(family, points, columns, question)
        droppable = [c for c in columns if c.drop]
        if not droppable or natural_width(console, table) <= console.width:
            return table
        worst = max(droppable, key=lambda c: c.drop)
        columns = tuple(c for c in columns if c is not worst)


def header_lines(doc: RunRecord) -> list[str]:
    cfg = doc["config"]
    return [f"sqla-bench · {doc['label']}",
            f"profile {cfg.get('profile')}: {cfg.get('rounds')} rounds a case, "
            f"{cfg.get('schedule', 'interleaved')}", f"database {cfg.get('url')}"]


def decision_text(decision: Decision, keys: set[str]) -> Text:
    """A decision as the report states it, its point named by the varying parameters,
    coloured by its outcome (an overhead in a neutral tone)."""
    where = None
    if decision.params is not None:
        where = point_label(Point(decision.params, decision.rtt_ms), keys) or None
    return Text(decision.brief(where), style=TONES[decision.tone])


def decisions_grid(doc: RunRecord, decided: list[Decision],
                   keys: dict[str, set[str]]) -> list[Any]:
    """Each family's decisions, one entry each under the family's name (a long one wraps
    under itself), then the family's note for this backend."""
    out: list[Any] = []
    for family in dict.fromkeys(d.family for d in decided):
        grid = Table.grid(padding=(0, 1), pad_edge=False)
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1)
        for decision in (d for d in decided if d.family == family):
            grid.add_row(" •", decision_text(decision, keys.get(family, set())))
        meta = doc["families"].get(family)
        note = meta.get("note") if meta else None
        if note:
            grid.add_row(" !", Text(note, style="dim"))
        out += [Text(family, style="bold"), grid]
    return out


def skipped_lines(doc: RunRecord) -> list[str]:
    """Each variant the run left out, once, with its reason and how many points."""
    seen: dict[tuple[str, str, str], int] = {}
    for case in doc["cases"]:
        if case["status"] == "skipped":
            reason = (case["error"] or "").removeprefix("skipped: ")
            key = (case["scenario"], case["variant"], reason)
            seen[key] = seen.get(key, 0) + 1
    return [f"{family} · {variant} ({count} point{'s' * (count > 1)}): {reason}"
            for (family, variant, reason), count in seen.items()]


def error_lines(doc: RunRecord) -> list[str]:
    return [f"{c['scenario']} {c['variant']} at {params_text(c['params'])}: "
            f"{c['status'].upper()}: {c['error']}"
            for c in doc["cases"] if c["status"] in ("error", "wrong")]


def _sweeps(doc: RunRecord, family: str) -> list[str]:
    meta = doc["families"].get(family)
    return list(meta.get("sweeps") or []) if meta else []


def print_summary(doc: RunRecord, console: Console | None = None) -> None:
    """The run's tables, its decisions, what was skipped and failed, and the machine."""
    console = console or Console()
    for line in header_lines(doc):
        console.print(line, markup=False, highlight=False)
    points = run_points(doc)
    keys = {family: varying_params(family_points) for family, family_points in points.items()}
    several = bool(doc["config"].get("drivers"))  # a run of several drivers
    columns = COLUMNS[:1] + driver_columns(doc) + COLUMNS[1:] if several else COLUMNS
    for family, family_points in points.items():
        if not any(c["status"] != "skipped" for p in family_points for c in p.cases):
            continue
        meta = doc["families"].get(family)
        question = meta["question"] if meta else ""
        console.print()
        console.print(fitted_table(console, family, family_points, question, columns))
    console.print()
    errors = error_lines(doc)
    if errors:
        console.print("[bold red]failed[/bold red]")
        for line in errors:
            console.print(f"  {line}", markup=False, highlight=False, style="red")
    shown = {f for case in doc["cases"] if case["status"] != "skipped" for f in flags(case)}
    for flag in (f for f in FLAG_LEGEND if f in shown):
        console.print(Text(f"{flag}: ", style="bold") + Text(FLAG_LEGEND[flag]))
    single = [family for family, family_points in points.items()
              if one_point_note(family_points, _sweeps(doc, family), None) is not None
              and any(c["status"] != "skipped" for p in family_points for c in p.cases)]
    answers = decisions_grid(doc, run_decisions(doc), keys)
    if answers:
        console.print("[bold underline]decisions[/bold underline] (paired ratio of time per "
                      "op, 95% interval)")
        for answer in answers:
            console.print(answer, highlight=False)
    if single:
        console.print(Text(f"one point only (profile {doc['config'].get('profile')}): "
                           f"{', '.join(single)}: their answers hold at that point; "
                           "--profile standard sweeps the parameters", style="dim"))
    pairs = driver_decision_lines(doc) if several else []
    if pairs:
        console.print("[bold underline]drivers[/bold underline] (paired ratio to the reference "
                      "driver in the same blocks; a family's intervals hold together at 95%)")
        for line in pairs:
            console.print(f"  {line}", markup=False, highlight=False)
    down = [d for d in doc["config"].get("drivers") or [] if d.get("skipped")]
    if down:
        console.print("not run: " + "; ".join(f"{d['label']} ({d['skipped']})" for d in down),
                      markup=False, highlight=False)
    skipped = skipped_lines(doc)
    if skipped:
        console.print("[bold]skipped[/bold] (the driver cannot run them; status skipped in "
                      "the results file)")
        listing = Table.grid(padding=(0, 1), pad_edge=False)
        listing.add_column(no_wrap=True)
        listing.add_column(ratio=1)
        for line in skipped:
            listing.add_row(" ", Text(line))
        console.print(listing)
    advice = quality.advice(doc["cases"])  # as the report says it at its top
    if advice:
        console.print(f"precision: {advice}", markup=False, highlight=False)
    speed = run_speed_line(speed_of_runs([doc]))
    if speed is not None:
        console.print(speed, markup=False, highlight=False)


def print_listing(families: dict[str, Any], console: Console | None = None) -> None:
    """Every family with its question, whole variant docs (the reference marked) and
    parameters, then the drivers."""
    console = console or Console()
    for family in families.values():
        console.print(
            f"[bold]{family.name}[/bold] — {family.question}  (unit: {family.unit}; "
            f"{family.module})"
        )
        listing = Table.grid(padding=(0, 2), pad_edge=False)
        listing.add_column(no_wrap=True)
        listing.add_column(no_wrap=True)
        listing.add_column(ratio=1)
        reference = family.reference_among(family.variants)
        for variant in family.variants.values():
            mark = " (reference)" if variant.name == reference else ""
            listing.add_row("  variant", variant.name + mark, variant.doc)
        if family.sync_variants:
            listing.add_row("  sync", "", ", ".join(family.sync_variants)
                            + "  (on the sync baseline drivers)")
        for param in family.params:
            sizes = "; ".join(f"{p}: {', '.join(map(str, param.values(p)))}"
                              for p in ("quick", "standard", "full"))
            listing.add_row("  param", param.name, f"{param.help}  [{sizes}]")
        console.print(listing, markup=False, highlight=False)
    if len(families) > 1 or not families:
        console.print(drivers_table(DRIVERS))


def drivers_table(drivers: dict[str, Any]) -> Table:
    table = Table(title="drivers", title_justify="left")
    for column in ("driver", "backend", "URL scheme", "installed"):
        table.add_column(column)
    for driver in drivers.values():
        version = driver.version() if driver.installed() else None
        table.add_row(
            driver.name + (" (sync)" if driver.is_sync else ""),
            driver.backend,
            driver.scheme,
            version or "[red]no[/red]",
        )
    return table
