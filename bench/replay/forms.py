"""The three forms a unit is replayed in, side by side: the raw driver, Core text() on an
AsyncEngine, and an AsyncSession. Each runs a unit's statements in order inside one
transaction, rolled back at the end (committed with --commit). A statement that fails is
counted with its error (bench.replay.tally); the transaction is rolled back, a new one
begun, and the unit goes on with its next statement.

Without a transaction (--no-transaction) a unit's statements run alone in autocommit: no
BEGIN, savepoint or ROLLBACK is sent, so a unit costs its statements' round trips only.
Every command a form sends besides the statements is counted (Tally.commands).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.db.database import make_engine
from bench.db.drivers import Driver
from bench.db.raw import RawConnection
from bench.measure.lifecycle import close_quietly, describe_error
from bench.replay.sql import text_params
from bench.replay.tally import Tally
from bench.replay.workload import Statement, Unit

FORMS = ("raw", "core", "session")
REFERENCE = "raw"
STYLE_OF_PLACEHOLDER = {"$n": "numeric_dollar", "%s": "format", "?": "qmark"}


class Form:
    """One way of sending a unit's statements, with its pool of pool_size connections.

    A unit runs in one transaction of its own. The transactions the application opened
    inside it are replayed as savepoints (begin: SAVEPOINT, commit: RELEASE, rollback:
    ROLLBACK TO), so what the application rolled back is undone in replay too, and a
    failed statement rolls back to its captured transaction's start and the unit goes on.
    """

    name = ""

    def __init__(self, driver: Driver, url: URL, pool_size: int, *, commit: bool,
                 connect_timeout: float, transaction: bool = True,
                 think_scale: float | None = None) -> None:
        self.driver, self.url, self.pool_size = driver, url, pool_size
        self.commit, self.connect_timeout = commit, connect_timeout
        self.transaction = transaction
        # --think-time captured: wait each statement's captured gap times this (1/speed)
        self.think_scale = think_scale
        self.secrets = [url.password]

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def run_unit(self, unit: Unit, tally: Tally) -> None:
        if not self.transaction:
            await self.run_plain(unit, tally)
            return
        commands = 2  # the unit's BEGIN and its ROLLBACK (or COMMIT)
        async with self.unit_session() as session:
            depth = 0  # captured transactions open (nested ones are savepoints too)
            for step in unit.steps:
                if step == "begin":
                    await session.savepoint()
                    depth += 1
                    commands += 1
                    continue
                if step in ("commit", "rollback"):
                    if depth:
                        await session.release(step == "commit")
                        depth -= 1
                        commands += 1
                    continue
                assert isinstance(step, Statement)
                if self.think_scale is not None:
                    await self.think(step)
                start = time.perf_counter_ns()
                try:
                    rows = await session.execute(step)
                except Exception as exc:  # noqa: BLE001 - counted; the unit goes on
                    tally.failed(step, describe_error(exc, self.secrets))
                    await session.recover(depth > 0)
                    commands += 1 if depth else 2
                    continue
                tally.ran(step, time.perf_counter_ns() - start, rows)
            commands += depth
            while depth:
                await session.release(True)
                depth -= 1
            await session.finish(self.commit)
        tally.commands += commands

    async def run_plain(self, unit: Unit, tally: Tally) -> None:
        """The unit's statements alone, each committing by itself (autocommit)."""
        raise NotImplementedError

    async def think(self, statement: Statement) -> None:
        """The application's own time before `statement`, where replay waits it."""
        if statement.gap_s > 0:
            await asyncio.sleep(statement.gap_s * (self.think_scale or 1.0))

    def unit_session(self) -> Any:
        raise NotImplementedError


class _RawUnit:
    def __init__(self, form: RawForm, conn: RawConnection) -> None:
        self.form, self.conn = form, conn
        self.savepoints: list[str] = []
        self._made = 0

    async def savepoint(self) -> None:
        self._made += 1
        name = f"sqlab_sp_{self._made}"
        self.savepoints.append(name)
        await self.conn.execute(f"SAVEPOINT {name}")

    async def release(self, commit: bool) -> None:
        name = self.savepoints.pop()
        # one round trip, as the application's COMMIT or ROLLBACK was
        await self.conn.execute(f"RELEASE SAVEPOINT {name}" if commit else
                                f"ROLLBACK TO SAVEPOINT {name}")

    async def recover(self, in_savepoint: bool) -> None:
        if in_savepoint:
            name = self.savepoints[-1]
            await self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            return
        await self.conn.end(commit=False)
        await self.conn.begin()

    async def execute(self, statement: Statement) -> int | None:
        return await _raw_execute(self.conn, self.form.text_of(statement), statement)

    async def finish(self, commit: bool) -> None:
        await self.conn.end(commit=commit)


async def _raw_execute(conn: RawConnection, sql: str, statement: Statement) -> int | None:
    """One statement on a raw connection; the rows it returned, where it returns rows."""
    if statement.many:
        await conn.executemany(sql, statement.rows)
        return None
    if statement.returns:
        return len(await conn.fetch(sql, statement.rows[0]))
    await conn.execute(sql, statement.rows[0])
    return None


class RawForm(Form):
    name = "raw"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style = STYLE_OF_PLACEHOLDER[self.driver.placeholder]
        self._idle: asyncio.Queue[RawConnection] = asyncio.Queue()
        self._all: list[RawConnection] = []
        self._texts: dict[int, str] = {}

    def text_of(self, statement: Statement) -> str:
        sql = self._texts.get(id(statement))
        if sql is None:
            sql = self._texts[id(statement)] = statement.parsed.render(self.style)
        return sql

    async def open(self) -> None:
        for _ in range(self.pool_size):
            conn = await self.driver.open_raw(self.url, self.connect_timeout)
            self._all.append(conn)
            if not self.transaction:
                await conn.autocommit()
            self._idle.put_nowait(conn)

    async def run_plain(self, unit: Unit, tally: Tally) -> None:
        conn = await self._idle.get()
        try:
            for statement in unit.statements:
                if self.think_scale is not None:
                    await self.think(statement)
                start = time.perf_counter_ns()
                try:
                    rows = await _raw_execute(conn, self.text_of(statement), statement)
                except Exception as exc:  # noqa: BLE001 - counted; the unit goes on
                    tally.failed(statement, describe_error(exc, self.secrets))
                    continue
                tally.ran(statement, time.perf_counter_ns() - start, rows)
        finally:
            self._idle.put_nowait(conn)

    @asynccontextmanager
    async def unit_session(self) -> AsyncIterator[_RawUnit]:
        conn = await self._idle.get()
        try:
            await conn.begin()
            yield _RawUnit(self, conn)
        finally:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        for conn in self._all:
            await close_quietly(conn)
        self._all.clear()


class _EngineForm(Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engine: AsyncEngine | None = None
        self._clauses: dict[int, sa.TextClause] = {}

    async def open(self) -> None:
        # without a transaction: SQLAlchemy's AUTOCOMMIT level, no BEGIN sent
        options = {} if self.transaction else {"isolation_level": "AUTOCOMMIT"}
        self.engine = make_engine(self.driver, self.url, connect_timeout=self.connect_timeout,
                                  pool_size=self.pool_size, max_overflow=0, pool_timeout=120,
                                  **options)
        if self.driver.backend == "sqlite" and self.transaction:
            _transactional_ddl(self.engine)
        async with self.engine.connect() as conn:  # fails here, not in the first round
            await conn.exec_driver_sql("SELECT 1")

    def clause(self, statement: Statement) -> tuple[sa.TextClause, Any]:
        clause = self._clauses.get(id(statement))
        if clause is None:
            clause = self._clauses[id(statement)] = sa.text(statement.parsed.render("text"))
        if statement.many:
            return clause, [text_params(r) for r in statement.rows]
        return clause, text_params(statement.rows[0])

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None


def _transactional_ddl(engine: AsyncEngine) -> None:
    """SQLAlchemy's documented recipe for SQLite: the driver's own transaction handling
    off, BEGIN emitted by SQLAlchemy, so a unit's DDL is rolled back with it too."""

    @event.listens_for(engine.sync_engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def _rows_of(result: Any) -> int | None:
    return len(result.all()) if result.returns_rows else None


class _NestedUnit:
    """A unit on an AsyncConnection or AsyncSession: captured transactions are
    begin_nested() savepoints."""

    def __init__(self, form: _EngineForm, target: Any, outer: Any) -> None:
        self.form, self.target, self.outer = form, target, outer
        self.nested: list[Any] = []

    async def savepoint(self) -> None:
        self.nested.append(await self.target.begin_nested())

    async def release(self, commit: bool) -> None:
        nested = self.nested.pop()
        await (nested.commit() if commit else nested.rollback())

    async def recover(self, in_savepoint: bool) -> None:
        if in_savepoint:
            await self.nested.pop().rollback()
            self.nested.append(await self.target.begin_nested())
            return
        await self.outer_rollback_and_begin()

    async def outer_rollback_and_begin(self) -> None:
        await self.target.rollback()
        if hasattr(self.target, "begin") and not isinstance(self.target, AsyncSession):
            self.outer = await self.target.begin()

    async def execute(self, statement: Statement) -> int | None:
        clause, params = self.form.clause(statement)
        return _rows_of(await self.target.execute(clause, params))

    async def finish(self, commit: bool) -> None:
        await (self.target.commit() if commit else self.target.rollback())


async def _plain_on(target: Any, form: _EngineForm, unit: Unit, tally: Tally) -> None:
    """A unit's statements on an autocommit AsyncConnection or AsyncSession."""
    for statement in unit.statements:
        clause, params = form.clause(statement)
        if form.think_scale is not None:
            await form.think(statement)
        start = time.perf_counter_ns()
        try:
            rows = _rows_of(await target.execute(clause, params))
        except Exception as exc:  # noqa: BLE001 - counted; the unit goes on
            tally.failed(statement, describe_error(exc, form.secrets))
            await target.rollback()  # SQLAlchemy's own state; nothing is sent in autocommit
            continue
        tally.ran(statement, time.perf_counter_ns() - start, rows)


class CoreForm(_EngineForm):
    name = "core"

    async def run_plain(self, unit: Unit, tally: Tally) -> None:
        assert self.engine is not None
        async with self.engine.connect() as conn:
            await _plain_on(conn, self, unit, tally)

    @asynccontextmanager
    async def unit_session(self) -> AsyncIterator[_NestedUnit]:
        assert self.engine is not None
        async with self.engine.connect() as conn:
            outer = await conn.begin()
            yield _NestedUnit(self, conn, outer)


class SessionForm(_EngineForm):
    name = "session"

    async def open(self) -> None:
        await super().open()
        assert self.engine is not None
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def run_plain(self, unit: Unit, tally: Tally) -> None:
        async with self.sessions() as session:
            await _plain_on(session, self, unit, tally)

    @asynccontextmanager
    async def unit_session(self) -> AsyncIterator[_NestedUnit]:
        async with self.sessions() as session:
            await session.begin()
            yield _NestedUnit(self, session, None)


FORM_CLASSES: dict[str, type[Form]] = {"raw": RawForm, "core": CoreForm, "session": SessionForm}
