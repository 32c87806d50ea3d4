"""The driver registry: one row per database driver the harness can measure.

Each row knows its backend, its SQLAlchemy URL scheme, the package that must
import, how to pass a connect timeout, and how to open a *raw* connection: the
bare driver, which every scenario family uses as its floor (`raw_driver`).

Raw connections share one small interface (RawConnection) so a scenario writes
its floor once for all drivers. The adapters are thin on purpose: one call into
the driver per method, so the floor stays the driver's own cost.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL


class DriverNotInstalled(Exception):
    """The driver's package does not import; the message says how to install it."""


@dataclass(frozen=True)
class Driver:
    name: str
    backend: str  # postgresql | mysql | sqlite
    scheme: str  # SQLAlchemy URL drivername, e.g. "postgresql+asyncpg"
    module: str  # the package that must import for the driver to be usable
    distribution: str  # the PyPI distribution whose version is recorded
    placeholder: str  # raw SQL parameter style: "?", "%s" or "$n"
    timeout_arg: str  # the driver's connect() keyword for a connect timeout
    open_raw: Callable[[URL, float], Awaitable[RawConnection]]
    is_sync: bool = False
    # A sync driver's families still set up, reset and check their tables with their
    # async code: through this async driver of the same backend, outside the timing.
    async_sibling: str | None = None

    def installed(self) -> bool:
        try:
            importlib.import_module(self.module)
        except Exception:  # noqa: BLE001 - a broken install is "not installed" too
            return False
        return True

    def require(self) -> None:
        """Raise DriverNotInstalled with a fix when the package does not import."""
        try:
            importlib.import_module(self.module)
        except Exception as exc:  # noqa: BLE001
            raise DriverNotInstalled(
                f"driver {self.name} is not installed (import {self.module} failed: "
                f"{type(exc).__name__}); install it with: pip install {self.distribution}"
            ) from None

    def version(self) -> str | None:
        if self.distribution == "sqlite3":  # the standard library's: report the library's
            import sqlite3

            return sqlite3.sqlite_version
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def connect_args(self, timeout: float) -> dict[str, Any]:
        """connect_args for create_async_engine so SQLAlchemy connects with our timeout."""
        if self.backend == "sqlite":
            return {}  # a file opens at once; sqlite's "timeout" is a lock wait, not this
        whole_seconds = self.name in ("psycopg", "psycopg-sync", "pymysql")
        value: Any = max(1, round(timeout)) if whole_seconds else timeout
        return {self.timeout_arg: value}

    def sql(self, text: str) -> str:
        """Translate raw SQL written with `?` placeholders into this driver's style."""
        if self.placeholder == "?":
            return text
        if self.placeholder == "%s":
            return text.replace("%", "%%").replace("?", "%s")
        pieces = text.split("?")
        out = [pieces[0]]
        for number, piece in enumerate(pieces[1:], start=1):
            out.append(f"${number}{piece}")
        return "".join(out)


class RawConnection:
    """The bare driver behind one small interface; `native` is the driver's own object."""

    native: Any

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    async def commit(self) -> None:
        """Commit the open transaction, where the driver opened one."""

    async def close(self) -> None:
        raise NotImplementedError


class _AsyncpgRaw(RawConnection):
    def __init__(self, conn: Any) -> None:
        self.native = conn

    async def fetch(self, sql, params=()):
        return await self.native.fetch(sql, *params)

    async def execute(self, sql, params=()):
        await self.native.execute(sql, *params)

    async def executemany(self, sql, rows):
        await self.native.executemany(sql, list(rows))

    async def close(self):
        await self.native.close()


class _CursorRaw(RawConnection):
    """Drivers with a DBAPI-shaped async cursor (aiomysql, asyncmy, aiopg, psycopg)."""

    def __init__(self, conn: Any, cursor: Any) -> None:
        self.native = conn
        self._cursor = cursor

    async def fetch(self, sql, params=()):
        await self._cursor.execute(sql, params)
        return await self._cursor.fetchall()

    async def execute(self, sql, params=()):
        await self._cursor.execute(sql, params)

    async def executemany(self, sql, rows):
        await self._cursor.executemany(sql, list(rows))

    async def commit(self):
        await self.native.commit()

    async def close(self):
        # Drivers disagree on whether close() is awaitable; accept both.
        for closing in (self._cursor.close, self.native.close):
            outcome = closing()
            if inspect.isawaitable(outcome):
                await outcome


class _AiopgRaw(_CursorRaw):
    async def executemany(self, sql, rows):
        # aiopg has no executemany: a loop of execute is what the driver offers.
        for row in rows:
            await self._cursor.execute(sql, row)

    async def commit(self):
        """aiopg connections are always in autocommit mode."""


class _AiosqliteRaw(RawConnection):
    def __init__(self, conn: Any) -> None:
        self.native = conn

    async def fetch(self, sql, params=()):
        return await self.native.execute_fetchall(sql, params)

    async def execute(self, sql, params=()):
        await self.native.execute(sql, params)

    async def executemany(self, sql, rows):
        await self.native.executemany(sql, rows)

    async def commit(self):
        await self.native.commit()

    async def close(self):
        await self.native.close()


class SyncRawConnection(RawConnection):
    """A synchronous DBAPI connection for the sync baselines: the same methods, not
    awaitable (sync variants call them directly, blocking, as sync code does)."""

    def __init__(self, conn: Any) -> None:
        self.native = conn
        self._cursor = conn.cursor()

    def fetch(self, sql, params=()):  # type: ignore[override]
        self._cursor.execute(sql, params)
        return self._cursor.fetchall()

    def execute(self, sql, params=()):  # type: ignore[override]
        self._cursor.execute(sql, params)

    def executemany(self, sql, rows):  # type: ignore[override]
        self._cursor.executemany(sql, list(rows))

    def commit(self):  # type: ignore[override]
        self.native.commit()

    def close(self):  # type: ignore[override]
        self._cursor.close()
        self.native.close()


def _server_args(url: URL) -> dict[str, Any]:
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "database": url.database,
    }


async def _open_asyncpg(url: URL, timeout: float) -> RawConnection:
    import asyncpg

    args = _server_args(url)
    return _AsyncpgRaw(await asyncpg.connect(**args, timeout=timeout))


async def _open_psycopg(url: URL, timeout: float) -> RawConnection:
    import psycopg

    args = _server_args(url)
    args["dbname"] = args.pop("database")
    args = {k: v for k, v in args.items() if v is not None}
    conn = await psycopg.AsyncConnection.connect(**args, connect_timeout=max(1, round(timeout)))
    return _CursorRaw(conn, conn.cursor())


async def _open_aiopg(url: URL, timeout: float) -> RawConnection:
    import aiopg

    args = _server_args(url)
    args["dbname"] = args.pop("database")
    args = {k: v for k, v in args.items() if v is not None}
    conn = await aiopg.connect(**args, timeout=timeout)
    return _AiopgRaw(conn, await conn.cursor())


async def _open_aiomysql(url: URL, timeout: float) -> RawConnection:
    import aiomysql

    args = _server_args(url)
    args["db"] = args.pop("database")
    args["password"] = args["password"] or ""
    args["port"] = args["port"] or 3306
    conn = await aiomysql.connect(**args, connect_timeout=timeout)
    return _CursorRaw(conn, await conn.cursor())


async def _open_asyncmy(url: URL, timeout: float) -> RawConnection:
    import asyncmy

    args = _server_args(url)
    args["password"] = args["password"] or ""
    args["port"] = args["port"] or 3306
    conn = await asyncmy.connect(**args, connect_timeout=timeout)
    return _CursorRaw(conn, conn.cursor())


async def _open_aiosqlite(url: URL, timeout: float) -> RawConnection:
    import aiosqlite

    return _AiosqliteRaw(await aiosqlite.connect(url.database or ":memory:"))


# Sync baselines: opening them blocks the loop for a moment, outside the timing.
async def _open_psycopg_sync(url: URL, timeout: float) -> RawConnection:
    import psycopg

    args = _server_args(url)
    args["dbname"] = args.pop("database")
    args = {k: v for k, v in args.items() if v is not None}
    return SyncRawConnection(psycopg.connect(**args, connect_timeout=max(1, round(timeout))))


async def _open_pymysql(url: URL, timeout: float) -> RawConnection:
    import pymysql

    args = _server_args(url)
    args["password"] = args["password"] or ""
    args["port"] = args["port"] or 3306
    return SyncRawConnection(pymysql.connect(**args, connect_timeout=max(1, round(timeout))))


async def _open_sqlite3(url: URL, timeout: float) -> RawConnection:
    import sqlite3

    return SyncRawConnection(sqlite3.connect(url.database or ":memory:"))


DRIVERS: dict[str, Driver] = {
    d.name: d
    for d in (
        Driver(
            "asyncpg",
            "postgresql",
            "postgresql+asyncpg",
            "asyncpg",
            "asyncpg",
            "$n",
            "timeout",
            _open_asyncpg,
        ),
        Driver(
            "psycopg",
            "postgresql",
            "postgresql+psycopg",
            "psycopg",
            "psycopg",
            "%s",
            "connect_timeout",
            _open_psycopg,
        ),
        Driver(
            "aiopg",
            "postgresql",
            "postgresql+aiopg",
            "aiopg",
            "aiopg",
            "%s",
            "timeout",
            _open_aiopg,
        ),
        Driver(
            "aiomysql",
            "mysql",
            "mysql+aiomysql",
            "aiomysql",
            "aiomysql",
            "%s",
            "connect_timeout",
            _open_aiomysql,
        ),
        Driver(
            "asyncmy",
            "mysql",
            "mysql+asyncmy",
            "asyncmy",
            "asyncmy",
            "%s",
            "connect_timeout",
            _open_asyncmy,
        ),
        Driver(
            "aiosqlite",
            "sqlite",
            "sqlite+aiosqlite",
            "aiosqlite",
            "aiosqlite",
            "?",
            "timeout",
            _open_aiosqlite,
        ),
        Driver(
            "psycopg-sync",
            "postgresql",
            "postgresql+psycopg",
            "psycopg",
            "psycopg",
            "%s",
            "connect_timeout",
            _open_psycopg_sync,
            is_sync=True,
            async_sibling="psycopg",
        ),
        Driver(
            "pymysql",
            "mysql",
            "mysql+pymysql",
            "pymysql",
            "pymysql",
            "%s",
            "connect_timeout",
            _open_pymysql,
            is_sync=True,
            async_sibling="aiomysql",
        ),
        Driver(
            "sqlite3",
            "sqlite",
            "sqlite+pysqlite",
            "sqlite3",
            "sqlite3",
            "?",
            "timeout",
            _open_sqlite3,
            is_sync=True,
            async_sibling="aiosqlite",
        ),
    )
}

BACKENDS = ("postgresql", "mysql", "sqlite")


class UnknownDriver(Exception):
    pass


def get_driver(name: str) -> Driver:
    try:
        return DRIVERS[name]
    except KeyError:
        raise UnknownDriver(
            f"unknown driver {name!r}; known drivers: {', '.join(DRIVERS)}"
        ) from None
