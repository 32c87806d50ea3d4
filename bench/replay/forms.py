"""The three forms a unit is replayed in, side by side: the raw driver, Core text() on an
AsyncEngine, and an AsyncSession. Each runs a unit's statements in order inside one
transaction, rolled back at the end (committed with --commit). A statement that fails is
counted with its error (bench.replay.tally); the transaction is rolled back, a new one
begun, and the unit goes on with its next statement.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa
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
    """One way of sending a unit's statements, with its pool of pool_size connections."""

    name = ""

    def __init__(self, driver: Driver, url: URL, pool_size: int, *, commit: bool,
                 connect_timeout: float) -> None:
        self.driver, self.url, self.pool_size = driver, url, pool_size
        self.commit, self.connect_timeout = commit, connect_timeout
        self.secrets = [url.password]

    async def open(self) -> None:
        raise NotImplementedError

    async def run_unit(self, unit: Unit, tally: Tally) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def _failed(self, tally: Tally, statement: Statement, exc: BaseException) -> None:
        tally.failed(statement, describe_error(exc, self.secrets))


class RawForm(Form):
    name = "raw"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style = STYLE_OF_PLACEHOLDER[self.driver.placeholder]
        self._idle: asyncio.Queue[RawConnection] = asyncio.Queue()
        self._all: list[RawConnection] = []
        self._texts: dict[int, str] = {}

    async def open(self) -> None:
        for _ in range(self.pool_size):
            conn = await self.driver.open_raw(self.url, self.connect_timeout)
            self._all.append(conn)
            self._idle.put_nowait(conn)

    async def run_unit(self, unit: Unit, tally: Tally) -> None:
        conn = await self._idle.get()
        try:
            await conn.begin()
            for statement in unit.statements:
                sql = self._texts.get(id(statement))
                if sql is None:
                    sql = self._texts[id(statement)] = statement.parsed.render(self.style)
                start = time.perf_counter_ns()
                try:
                    rows = await self._send(conn, sql, statement)
                except Exception as exc:  # noqa: BLE001 - counted; the unit goes on
                    self._failed(tally, statement, exc)
                    await conn.end(commit=False)
                    await conn.begin()
                    continue
                tally.ran(statement, time.perf_counter_ns() - start, rows)
            await conn.end(commit=self.commit)
        finally:
            self._idle.put_nowait(conn)

    @staticmethod
    async def _send(conn: RawConnection, sql: str, statement: Statement) -> int | None:
        if statement.many:
            await conn.executemany(sql, statement.rows)
            return None
        if statement.returns:
            return len(await conn.fetch(sql, statement.rows[0]))
        await conn.execute(sql, statement.rows[0])
        return None

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
        self.engine = make_engine(self.driver, self.url, connect_timeout=self.connect_timeout,
                                  pool_size=self.pool_size, max_overflow=0, pool_timeout=120)
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


def _rows_of(result: Any) -> int | None:
    return len(result.all()) if result.returns_rows else None


class CoreForm(_EngineForm):
    name = "core"

    async def run_unit(self, unit: Unit, tally: Tally) -> None:
        assert self.engine is not None
        async with self.engine.connect() as conn:
            transaction = await conn.begin()
            for statement in unit.statements:
                clause, params = self.clause(statement)
                start = time.perf_counter_ns()
                try:
                    rows = _rows_of(await conn.execute(clause, params))
                except Exception as exc:  # noqa: BLE001 - counted; the unit goes on
                    self._failed(tally, statement, exc)
                    await transaction.rollback()
                    transaction = await conn.begin()
                    continue
                tally.ran(statement, time.perf_counter_ns() - start, rows)
            await (transaction.commit() if self.commit else transaction.rollback())


class SessionForm(_EngineForm):
    name = "session"

    async def open(self) -> None:
        await super().open()
        assert self.engine is not None
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def run_unit(self, unit: Unit, tally: Tally) -> None:
        session: AsyncSession
        async with self.sessions() as session:
            for statement in unit.statements:
                clause, params = self.clause(statement)
                start = time.perf_counter_ns()
                try:
                    rows = _rows_of(await session.execute(clause, params))
                except Exception as exc:  # noqa: BLE001 - counted; the unit goes on
                    self._failed(tally, statement, exc)
                    await session.rollback()
                    continue
                tally.ran(statement, time.perf_counter_ns() - start, rows)
            await (session.commit() if self.commit else session.rollback())


FORM_CLASSES: dict[str, type[Form]] = {"raw": RawForm, "core": CoreForm, "session": SessionForm}
