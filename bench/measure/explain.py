"""`run --explain`: the query plan of every distinct statement a variant sends.

After a case's timed rounds, one more untimed round (Case.extra_round) runs with its
statements recorded: SQLAlchemy's through a before_cursor_execute listener, the raw
driver's by wrapping the case's raw connections (ctx.raw and its raw pools). Each
distinct statement is then explained through the point's setup engine, with the
parameters it was first sent with, after the family's before_round hook has put the
tables back as a round finds them:
- PostgreSQL: EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), which runs the statement, so
  inside a transaction that is always rolled back (writes leave nothing);
- MySQL/MariaDB: EXPLAIN FORMAT=JSON (not run);
- SQLite: EXPLAIN QUERY PLAN (not run).
Full scans of a table are picked out of each plan. One is called out in the report when
an index could have saved it: the table has at least LARGE_SCAN_ROWS rows and the scan
keeps at most a tenth of them (PostgreSQL says how many it kept), or, where the server
does not say, the statement filters with a WHERE clause. Reading a whole table to return
all of it (result_streaming, loading) is no finding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.db.database import TABLE_PREFIX
from bench.db.raw import RawConnection, SyncRawConnection
from bench.measure.lifecycle import Case, describe_error
from bench.measure.plan_shape import plan_nodes
from bench.results.records import PlanRecord, ScanRecord

LARGE_SCAN_ROWS = 1_000
EXPLAIN_FORMS = {
    "postgresql": "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)",
    "mysql": "EXPLAIN FORMAT=JSON",
    "sqlite": "EXPLAIN QUERY PLAN",
}
# When running the statement fails (a row it needs was made by an earlier statement of
# the round, say), PostgreSQL still shows the plan it would take, without running it.
PLAN_ONLY = "EXPLAIN (FORMAT JSON)"
# Statements with a plan; SAVEPOINT, BEGIN, SET and the like have none.
_PLANNED = re.compile(r"^\s*\(?\s*(select|insert|update|delete|with|replace|values)\b", re.I)


@dataclass
class Sent:
    sql: str
    params: Any  # the parameters of its first sending, as the driver took them
    count: int = 1


class StatementLog:
    """The distinct statements of one round, in the order first sent."""

    def __init__(self) -> None:
        self.sent: dict[str, Sent] = {}

    def add(self, sql: str, params: Any) -> None:
        # Statements without a plan differ only by numbers (SAVEPOINT sa_savepoint_7): one.
        key = sql if _PLANNED.match(sql) else re.sub(r"\d+", "N", sql)
        if key in self.sent:
            self.sent[key].count += 1
        else:
            self.sent[key] = Sent(sql, params)

    def on_cursor_execute(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
                          _context: Any, executemany: bool) -> None:
        """SQLAlchemy's before_cursor_execute: an executemany is one statement, explained
        with its first row. (A batch of insertmanyvalues comes as one flat row.)"""
        if (executemany and isinstance(parameters, (list, tuple)) and parameters
                and isinstance(parameters[0], (list, tuple, dict))):
            parameters = parameters[0]
        self.add(statement, parameters)


class RecordingRaw(RawConnection):
    """A raw connection that notes what it sends, then sends it."""

    def __init__(self, inner: RawConnection, log: StatementLog) -> None:
        self.inner, self.log, self.native = inner, log, inner.native

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.log.add(sql, params)
        return await self.inner.fetch(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.log.add(sql, params)
        await self.inner.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        self.log.add(sql, rows[0] if rows else ())
        await self.inner.executemany(sql, rows)

    async def copy_records(self, table: str, columns: Sequence[str],
                           rows: Iterable[Sequence[Any]]) -> None:
        # COPY has no plan to EXPLAIN: sent on, not noted.
        await self.inner.copy_records(table, columns, rows)

    async def commit(self) -> None:
        await self.inner.commit()

    async def close(self) -> None:
        await self.inner.close()


class RecordingSyncRaw(SyncRawConnection):
    """The same for a sync baseline's connection (its methods are not awaited)."""

    def __init__(self, inner: SyncRawConnection, log: StatementLog) -> None:
        self.inner, self.log, self.native = inner, log, inner.native

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:  # type: ignore[override]
        self.log.add(sql, params)
        return self.inner.fetch(sql, params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:  # type: ignore[override]
        self.log.add(sql, params)
        self.inner.execute(sql, params)

    def executemany(  # type: ignore[override]
        self, sql: str, rows: Iterable[Sequence[Any]]
    ) -> None:
        rows = list(rows)
        self.log.add(sql, rows[0] if rows else ())
        self.inner.executemany(sql, rows)

    def commit(self) -> None:  # type: ignore[override]
        self.inner.commit()

    def close(self) -> None:  # type: ignore[override]
        self.inner.close()


def recording(conn: RawConnection, log: StatementLog) -> RawConnection:
    if isinstance(conn, SyncRawConnection):
        return RecordingSyncRaw(conn, log)
    return RecordingRaw(conn, log)


async def capture(case: Case) -> StatementLog:
    """One untimed round of the case with every statement it sends recorded."""
    log = StatementLog()
    ctx = case.ctx
    assert ctx is not None, "the case is not open"

    async def recorded(call: Callable[[], Awaitable[Any]]) -> None:
        # On the Engine class: engines the variant makes during the round are heard too.
        event.listen(sa.Engine, "before_cursor_execute", log.on_cursor_execute)
        raw = ctx.raw_connection
        if raw is not None:
            ctx.raw_connection = recording(raw, log)
        for pool in ctx.raw_pools.values():
            pool.wrap = lambda conn: recording(conn, log)
        try:
            await call()
        finally:
            event.remove(sa.Engine, "before_cursor_execute", log.on_cursor_execute)
            ctx.raw_connection = raw
            for pool in ctx.raw_pools.values():
                pool.wrap = None

    await case.extra_round(recorded)
    return log


async def explain_case(case: Case, engine: AsyncEngine) -> list[PlanRecord]:
    """Capture a round of the case, put the tables back, explain each statement."""
    log = await capture(case)
    ctx = case.ctx
    if ctx is not None and case.family.before_round_fn is not None:
        await case.family.before_round_fn(ctx)  # EXPLAIN ANALYZE runs writes: on a fresh state
    secrets = [case.point.url.password]
    async with engine.connect() as conn:
        await _analyze(conn, case.family.tables)
        return [await _explain(conn, sent, secrets) for sent in log.sent.values()]


async def _analyze(conn: AsyncConnection, tables: sa.MetaData | None) -> None:
    """Fresh statistics of the family's own tables before planning: whether autovacuum
    got to a new table yet would otherwise decide between two plans, and a plan's
    fingerprint (bench.measure.plan_shape) must not depend on that. MariaDB/MySQL's
    tables are rebuilt (OPTIMIZE: InnoDB recreates, then analyzes): the rows a round
    deleted stay in the index, delete-marked, until a background purge gets to them, and
    on the small tables of a counted run the optimizer chose between `ref` on an index
    and a scan of PRIMARY by how far it had (concurrent_sessions on aiomysql, two A/A
    runs of 2026-12-03)."""
    if tables is None:
        return
    names = [t.name for t in tables.sorted_tables if t.name.startswith(TABLE_PREFIX)]
    statement = {"postgresql": "ANALYZE {}", "mysql": "OPTIMIZE TABLE {}",
                 "sqlite": "ANALYZE {}"}.get(conn.dialect.name)
    if statement is None:
        return
    for name in names:
        try:
            await conn.exec_driver_sql(statement.format(name))
            await conn.commit()
        except Exception:  # noqa: BLE001 - a plan on older statistics is still a plan
            await conn.rollback()


def _driver_params(params: Any) -> Any:
    """Parameters as exec_driver_sql passes them on: a mapping, or one positional tuple."""
    if isinstance(params, dict):
        return params
    if isinstance(params, (list, tuple)):
        return tuple(params)
    return ()


async def _explain(conn: AsyncConnection, sent: Sent, secrets: list[str | None]) -> PlanRecord:
    dialect = conn.dialect.name
    form = EXPLAIN_FORMS.get(dialect)
    record: PlanRecord = {"sql": sent.sql, "sent": sent.count, "explain": None, "plan": None,
                          "scans": [], "error": None}
    if form is None or not _PLANNED.match(sent.sql):
        return record
    forms = [form, *([PLAN_ONLY] if dialect == "postgresql" else [])]
    for tried in forms:
        record["explain"] = tried
        transaction = await conn.begin()
        try:
            result = await conn.exec_driver_sql(f"{tried} {sent.sql}",
                                                _driver_params(sent.params))
            rows = [tuple(row) for row in result.all()]
            record["plan"] = _plan(dialect, rows)
            record["scans"] = await _scans(conn, dialect, record["plan"], sent.sql)
            record["error"] = None
            break
        except Exception as exc:  # noqa: BLE001 - a statement the server will not explain
            record["error"] = describe_error(exc, secrets)
        finally:
            await transaction.rollback()
    return record


def _plan(dialect: str, rows: list[tuple[Any, ...]]) -> Any:
    if dialect == "sqlite":  # (id, parent, notused, detail): indent each step under its parent
        depth: dict[Any, int] = {0: -1}
        lines = []
        for step_id, parent, _unused, detail in rows:
            depth[step_id] = depth.get(parent, -1) + 1
            lines.append("  " * depth[step_id] + str(detail))
        return lines
    value = rows[0][0]
    return json.loads(value) if isinstance(value, (str, bytes)) else value


async def _scans(conn: AsyncConnection, dialect: str, plan: Any, sql: str) -> list[ScanRecord]:
    filtered = re.search(r"\bWHERE\b", sql, re.I) is not None
    found: list[tuple[str, int | None, int | None]] = []  # (table, rows read, rows kept)
    if dialect == "postgresql":
        for node in plan_nodes(plan, "Plans"):
            if node.get("Node Type") == "Seq Scan" and node.get("Relation Name"):
                loops = max(1, node.get("Actual Loops", 1))
                kept = node.get("Actual Rows")
                read = (kept if kept is not None else node.get("Plan Rows", 0)) + node.get(
                    "Rows Removed by Filter", 0)
                found.append((node["Relation Name"], int(read * loops),
                              None if kept is None else int(kept * loops)))
    elif dialect == "mysql":
        for node in plan_nodes(plan):
            # ALL reads the table, "index" the whole of an index tree: both every row.
            if node.get("access_type") in ("ALL", "index") and node.get("table_name"):
                rows = node.get("rows", node.get("rows_examined_per_scan"))
                found.append((node["table_name"], None if rows is None else int(rows), None))
    else:
        for line in plan:
            match = re.match(r"\s*SCAN (?:TABLE )?(\w+)(.*)", line)
            if match and "USING" not in match.group(2) and match.group(1).startswith(
                    TABLE_PREFIX):
                count = await conn.exec_driver_sql(f"SELECT COUNT(*) FROM {match.group(1)}")
                found.append((match.group(1), int(count.scalar_one()), None))
    return [{"table": table, "rows": rows, "kept": kept,
             "callout": _worth_an_index(rows, kept, filtered)} for table, rows, kept in found]


def _worth_an_index(rows: int | None, kept: int | None, filtered: bool) -> bool:
    if rows is None or rows < LARGE_SCAN_ROWS:
        return False
    return kept * 10 <= rows if kept is not None else filtered
