"""Raw driver connections: the bare driver behind one small interface.

Every family's floor (`raw_driver`) is written once for all drivers against
RawConnection. The adapters are thin on purpose: one call into the driver per
method, so the floor stays the driver's own cost. Each adapter also knows its
driver's own API for the harness-overhead check (`native_select_1`), so no other
module decides anything by a driver's name.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bench.db.namespace import owns_sqlite_file, session_settings, sqlite_pragmas

if TYPE_CHECKING:  # SQLAlchemy costs a third of a second to import: annotations only
    from sqlalchemy.engine import URL


async def maybe_await(value: Any) -> Any:
    """Drivers disagree on which calls are awaitable; accept both."""
    return await value if inspect.isawaitable(value) else value


class RawConnection:
    """The interface every raw_driver variant uses; `native` is the driver's own object."""

    native: Any

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    async def copy_records(self, table: str, columns: Sequence[str],
                           rows: Iterable[Sequence[Any]]) -> None:
        """Load rows with PostgreSQL's COPY FROM STDIN through the driver's own COPY API
        (drivers registered with supports_copy=True implement it)."""
        raise NotImplementedError

    async def commit(self) -> None:
        """Commit the open transaction, where the driver opened one."""

    async def close(self) -> None:
        raise NotImplementedError

    async def begin(self) -> None:
        """Open a transaction, where the driver does not open one by itself (replay)."""

    async def end(self, commit: bool) -> None:
        """Commit or roll back the transaction begin() opened or the driver opened."""
        await maybe_await(self.native.commit() if commit else self.native.rollback())

    async def autocommit(self) -> None:
        """Each statement its own transaction from now on, the driver opening none
        (replay --no-transaction). asyncpg and aiopg are so already."""

    async def native_select_1(self, times: int) -> None:
        """`SELECT 1` `times` times through the driver's own API, as a person would write
        it by hand, bypassing this adapter: what the harness's overhead is measured against."""
        raise NotImplementedError


class AsyncpgRaw(RawConnection):
    def __init__(self, conn: Any) -> None:
        self.native = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self.native.fetch(sql, *params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self.native.execute(sql, *params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.native.executemany(sql, list(rows))

    async def copy_records(self, table: str, columns: Sequence[str],
                           rows: Iterable[Sequence[Any]]) -> None:
        await self.native.copy_records_to_table(table, records=rows, columns=list(columns))

    async def close(self) -> None:
        await self.native.close()

    async def begin(self) -> None:  # asyncpg is in autocommit mode until told otherwise
        await self.native.execute("BEGIN")

    async def end(self, commit: bool) -> None:
        await self.native.execute("COMMIT" if commit else "ROLLBACK")

    async def native_select_1(self, times: int) -> None:
        for _ in range(times):
            await self.native.fetch("SELECT 1")


class CursorRaw(RawConnection):
    """Drivers with a DBAPI-shaped async cursor (aiomysql, asyncmy, aiopg, psycopg)."""

    def __init__(self, conn: Any, cursor: Any) -> None:
        self.native = conn
        self._cursor = cursor

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        await self._cursor.execute(sql, params)
        return list(await self._cursor.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._cursor.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._cursor.executemany(sql, list(rows))

    async def commit(self) -> None:
        await self.native.commit()

    async def autocommit(self) -> None:  # aiomysql, asyncmy
        await self.native.autocommit(True)

    async def close(self) -> None:
        for closing in (self._cursor.close, self.native.close):
            await maybe_await(closing())

    async def native_select_1(self, times: int) -> None:
        cursor = await maybe_await(self.native.cursor())
        for _ in range(times):
            await cursor.execute("SELECT 1")
            await cursor.fetchall()
        await self.commit()
        await maybe_await(cursor.close())


class PsycopgRaw(CursorRaw):
    async def copy_records(self, table: str, columns: Sequence[str],
                           rows: Iterable[Sequence[Any]]) -> None:
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        async with self._cursor.copy(statement) as copy:
            for row in rows:
                await copy.write_row(row)

    async def autocommit(self) -> None:
        await self.native.set_autocommit(True)


class AiopgRaw(CursorRaw):
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        # aiopg has no executemany: a loop of execute is what the driver offers.
        for row in rows:
            await self._cursor.execute(sql, row)

    async def commit(self) -> None:
        """aiopg connections are always in autocommit mode."""

    async def autocommit(self) -> None:
        """Always."""

    async def begin(self) -> None:  # autocommit-only: transactions are SQL
        await self._cursor.execute("BEGIN")

    async def end(self, commit: bool) -> None:
        await self._cursor.execute("COMMIT" if commit else "ROLLBACK")


class AiosqliteRaw(RawConnection):
    def __init__(self, conn: Any) -> None:
        self.native = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self.native.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self.native.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.native.executemany(sql, rows)

    async def commit(self) -> None:
        await self.native.commit()

    async def begin(self) -> None:  # sqlite3 begins implicitly before DML only, not DDL
        await self.native.execute("BEGIN")

    async def autocommit(self) -> None:
        # sqlite3's own BEGIN before DML off. aiosqlite's isolation_level setter touches
        # the connection from this thread, which sqlite3 refuses: set it in aiosqlite's.
        await self.native._execute(setattr, self.native._conn, "isolation_level", None)

    async def close(self) -> None:
        await self.native.close()

    async def native_select_1(self, times: int) -> None:
        for _ in range(times):
            await self.native.execute_fetchall("SELECT 1")


class SyncRawConnection(RawConnection):
    """A synchronous DBAPI connection for the sync baselines: the same method names, not
    awaitable (sync variants call them directly, blocking, as sync code does)."""

    def __init__(self, conn: Any) -> None:
        self.native = conn
        self._cursor = conn.cursor()

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:  # type: ignore[override]
        self._cursor.execute(sql, params)
        return list(self._cursor.fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:  # type: ignore[override]
        self._cursor.execute(sql, params)

    def executemany(  # type: ignore[override]
        self, sql: str, rows: Iterable[Sequence[Any]]
    ) -> None:
        self._cursor.executemany(sql, list(rows))

    def commit(self) -> None:  # type: ignore[override]
        self.native.commit()

    def close(self) -> None:  # type: ignore[override]
        self._cursor.close()
        self.native.close()

    async def native_select_1(self, times: int) -> None:
        cursor = self.native.cursor()
        for _ in range(times):
            cursor.execute("SELECT 1")
            cursor.fetchall()
        self.native.commit()
        cursor.close()


# -- openers: one per driver API, named in the driver's registry row ----------------------


def server_args(url: URL) -> dict[str, Any]:
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "database": url.database,
    }


def asyncpg_settings(settings: dict[str, str]) -> dict[str, Any]:
    """Server settings for every connection, as asyncpg's connect() takes them."""
    return {"server_settings": dict(settings)} if settings else {}


def libpq_settings(settings: dict[str, str]) -> dict[str, Any]:
    """Server settings for every connection, as libpq (psycopg, aiopg) takes them: the
    startup packet's options, so setting them costs no round trip."""
    return {"options": " ".join(f"-c {k}={v}" for k, v in settings.items())} if settings else {}


def _libpq_args(url: URL) -> dict[str, Any]:
    """psycopg and aiopg spell the database `dbname` and refuse None values; the run's
    namespace (bench.db.namespace) goes in as a server setting."""
    url, settings = session_settings(url)
    args = server_args(url)
    args["dbname"] = args.pop("database")
    return {**{k: v for k, v in args.items() if v is not None}, **libpq_settings(settings)}


def _mysql_args(url: URL) -> dict[str, Any]:
    args = server_args(url)
    args["password"] = args["password"] or ""
    args["port"] = args["port"] or 3306
    return args


async def open_asyncpg(url: URL, timeout: float) -> RawConnection:
    import asyncpg

    url, settings = session_settings(url)
    return AsyncpgRaw(await asyncpg.connect(**server_args(url), timeout=timeout,
                                            **asyncpg_settings(settings)))


async def open_psycopg(url: URL, timeout: float) -> RawConnection:
    import psycopg

    conn = await psycopg.AsyncConnection.connect(**_libpq_args(url),
                                                 connect_timeout=whole_seconds(timeout))
    return PsycopgRaw(conn, conn.cursor())


async def open_aiopg(url: URL, timeout: float) -> RawConnection:
    import aiopg

    conn = await aiopg.connect(**_libpq_args(url), timeout=timeout)
    return AiopgRaw(conn, await conn.cursor())


async def open_aiomysql(url: URL, timeout: float) -> RawConnection:
    import aiomysql

    args = _mysql_args(url)
    args["db"] = args.pop("database")
    conn = await aiomysql.connect(**args, connect_timeout=timeout)
    return CursorRaw(conn, await conn.cursor())


async def open_asyncmy(url: URL, timeout: float) -> RawConnection:
    import asyncmy

    conn = await asyncmy.connect(**_mysql_args(url), connect_timeout=timeout)
    return CursorRaw(conn, conn.cursor())


async def open_aiosqlite(url: URL, timeout: float) -> RawConnection:
    import aiosqlite

    conn = await aiosqlite.connect(url.database or ":memory:")
    if owns_sqlite_file(url):
        statements: list[str] = []
        sqlite_pragmas(statements.append)
        for statement in statements:
            await conn.execute(statement)
    return AiosqliteRaw(conn)


# Sync baselines: opening them blocks the loop for a moment, outside the timing.
async def open_psycopg_sync(url: URL, timeout: float) -> RawConnection:
    import psycopg

    return SyncRawConnection(psycopg.connect(**_libpq_args(url),
                                             connect_timeout=whole_seconds(timeout)))


async def open_pymysql(url: URL, timeout: float) -> RawConnection:
    import pymysql

    return SyncRawConnection(pymysql.connect(**_mysql_args(url),
                                             connect_timeout=whole_seconds(timeout)))


async def open_sqlite3(url: URL, timeout: float) -> RawConnection:
    import sqlite3

    conn = sqlite3.connect(url.database or ":memory:")
    if owns_sqlite_file(url):
        sqlite_pragmas(conn.execute)
    return SyncRawConnection(conn)


def whole_seconds(timeout: float) -> int:
    """For drivers whose connect timeout is an integer number of seconds (libpq, pymysql)."""
    return max(1, round(timeout))
