"""A workload file read for replay: its units of work, each a list of statements.

Statements are grouped by the unit they were captured in, in the order they ran; units
are ordered by their first statement. A unit's name is its route, test or the name given
to capture_unit; units without one (a bare transaction) are "unnamed". Every statement's
text is parsed once (bench.replay.sql) so each driver renders it in its own style.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.workload import WorkloadError, decode_params, read_workload
from bench.replay.sql import ParsedSql, SqlStyleError, is_read_only, parse

UNNAMED = "unnamed"


@dataclass
class Statement:
    sql: str  # as captured
    parsed: ParsedSql
    rows: list[list[Any]]  # parameter values in slot order, one list per execution
    many: bool  # captured as executemany
    returns: bool  # it returned rows (a result set)
    captured_rows: int | None  # rows it returned when captured
    compiled: bool  # SQLAlchemy compiled a construct (ORM/Core) rather than text()
    captured_s: float  # how long it took when captured
    captured_error: str | None = None
    start_s: float = 0.0  # its start offset in the capture
    gap_s: float = 0.0  # the application's own time before it, since its unit's last one


TX_EVENTS = ("begin", "commit", "rollback")


@dataclass
class Unit:
    id: int
    name: str
    start_s: float  # offset of its first statement in the capture
    statements: list[Statement] = field(default_factory=list)
    # statements and the captured transaction boundaries ("begin", "commit", "rollback"),
    # in the order they happened
    steps: list[Statement | str] = field(default_factory=list)
    think_s: float = 0.0  # idle time before it, since the unit before it ended

    @property
    def end_s(self) -> float:
        last = self.statements[-1]
        return last.start_s + last.captured_s


@dataclass
class Workload:
    path: Path
    name: str
    backend: str
    driver: str  # the capturing driver
    server_version: str | None
    redacted: bool
    units: list[Unit]
    notes: list[str]
    truncated: bool

    @property
    def statements(self) -> int:
        return sum(len(u.statements) for u in self.units)

    def writes(self) -> list[str]:
        """The distinct statements that may change data (bench.replay.sql.is_read_only)."""
        seen: dict[str, None] = {}
        for unit in self.units:
            for statement in unit.statements:
                if statement.sql not in seen and not is_read_only(statement.sql):
                    seen[statement.sql] = None
        return list(seen)


def workload_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name or "workload"


def load_workload(path: str | Path) -> Workload:
    """The file's units; WorkloadError in one line when it cannot be replayed."""
    wf = read_workload(path)
    engines = {r["engine"]: r for r in wf.records if r.get("k") == "engine"}
    names: dict[int, str] = {}
    for record in wf.records:
        if record.get("k") == "unit" and record.get("name"):
            names[record["unit"]] = record["name"]
    backends = {e.get("backend") for e in engines.values()}
    if len(backends) > 1:
        raise WorkloadError(f"{wf.path} was captured on several backends "
                            f"({', '.join(sorted(map(str, backends)))}): replay takes one")
    units: dict[int, Unit] = {}
    parsed: dict[tuple[str, str], ParsedSql] = {}
    skipped = 0
    pending: dict[int, list[str]] = {}  # boundaries seen before the unit's first statement
    for record in wf.records:
        if record.get("k") == "tx" and record.get("event") in TX_EVENTS:
            known = units.get(record.get("unit", -1))
            if known is not None:
                known.steps.append(record["event"])
            else:
                pending.setdefault(record.get("unit", -1), []).append(record["event"])
            continue
        if record.get("k") != "stmt":
            continue
        engine = engines.get(record.get("engine"))
        if engine is None:
            raise WorkloadError(f"{wf.path}: a statement names engine {record.get('engine')} "
                                "that the file never describes")
        try:
            statement = _statement(record, engine["paramstyle"], parsed)
        except (SqlStyleError, KeyError, IndexError, TypeError):
            skipped += 1
            continue
        unit_id = record["unit"]
        unit = units.get(unit_id)
        if unit is None:
            unit = units[unit_id] = Unit(unit_id, names.get(unit_id, UNNAMED), record["t"])
            unit.steps.extend(pending.pop(unit_id, []))
        unit.statements.append(statement)
        unit.steps.append(statement)
    if not units:
        raise WorkloadError(f"{wf.path} holds no statement to replay")
    notes = list(wf.notes)
    if skipped:
        notes.append(f"{skipped} statements whose parameters do not fit their text were "
                     "left out")
    engine = next(iter(engines.values()))
    ordered = sorted(units.values(), key=lambda u: u.start_s)
    _think_times(ordered)
    return Workload(Path(path), workload_name(Path(path)), engine["backend"], engine["driver"],
                    engine.get("server_version"), bool(wf.header.get("redacted")),
                    ordered, notes, wf.truncated)


def _think_times(units: list[Unit]) -> None:
    """The captured idle gaps replay may wait (--think-time captured): between a unit's
    statements, and before a unit since the one before it ended (none where units
    overlapped, as concurrent requests do)."""
    previous_end: float | None = None
    for unit in units:
        if previous_end is not None:
            unit.think_s = max(0.0, unit.start_s - previous_end)
        previous_end = unit.end_s if previous_end is None else max(previous_end, unit.end_s)
        for before, statement in itertools.pairwise(unit.statements):
            statement.gap_s = max(0.0, statement.start_s - before.start_s - before.captured_s)


def _statement(record: dict[str, Any], style: str,
               cache: dict[tuple[str, str], ParsedSql]) -> Statement:
    sql = record["sql"]
    parsed = cache.get((sql, style))
    if parsed is None:
        parsed = cache[(sql, style)] = parse(sql, style)
    params = record.get("params")
    many = bool(record.get("many"))
    executions = list(params or []) if many else [params]
    rows = [parsed.values(decode_params(p)) for p in executions]
    return Statement(sql=sql, parsed=parsed, rows=rows, many=many,
                     returns=bool(record.get("returns")), captured_rows=record.get("rows"),
                     compiled=bool(record.get("compiled")), captured_s=record.get("d", 0.0),
                     captured_error=record.get("error"), start_s=record.get("t", 0.0))
