"""`postgresql+aiopg`: an async SQLAlchemy 2.x dialect for aiopg.

SQLAlchemy ships no aiopg dialect and aiopg.sa predates SQLAlchemy 2.x, so this
module adapts aiopg the way SQLAlchemy adapts aiomysql: the psycopg2 dialect
(aiopg wraps psycopg2 in its asynchronous mode) on top of the generic asyncio
connector adapters in `sqlalchemy.connectors.asyncio`.

What differs from psycopg2, and why:
- psycopg2's asynchronous connections are always in autocommit mode, so the
  adapter sends BEGIN / COMMIT / ROLLBACK itself: BEGIN lazily before the first
  statement after a commit or rollback, as a DBAPI driver does. The isolation
  level goes into that BEGIN (`BEGIN ISOLATION LEVEL ...`); AUTOCOMMIT sends none.
- aiopg has no executemany: the adapter loops over execute. SQLAlchemy's
  insertmanyvalues still batches INSERTs into one statement per page.
- `await conn.cursor()` gives a ready cursor, not an async context manager.
- Native hstore is off: its OID lookup needs a synchronous psycopg2 connection.
- No server-side cursors (psycopg2 has none in asynchronous mode).

The adapter classes are SQLAlchemy internals; pyproject pins sqlalchemy<2.2.
"""

from __future__ import annotations

import collections
from types import ModuleType
from typing import Any, cast

from sqlalchemy import util
from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_cursor,
    AsyncAdapt_dbapi_module,
    AsyncAdapt_terminate,
)
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2
from sqlalchemy.engine.interfaces import IsolationLevel
from sqlalchemy.util.concurrency import await_

_ISOLATION_LEVELS = ("READ COMMITTED", "READ UNCOMMITTED", "REPEATABLE READ", "SERIALIZABLE")


class AsyncAdapt_aiopg_cursor(AsyncAdapt_dbapi_cursor):
    __slots__ = ("_many_rowcount",)
    _awaitable_cursor_close = False  # aiopg's Cursor.close() is a plain method

    @property
    def rowcount(self) -> int:
        # executemany is a loop of execute: its rowcount is the loop's total, as the
        # ORM checks it (bulk UPDATE by primary key raises StaleDataError otherwise).
        many = getattr(self, "_many_rowcount", None)
        return self._cursor.rowcount if many is None else many

    def _make_new_cursor(self, connection: Any) -> Any:
        return await_(connection.cursor())

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor  # already usable: aiopg cursors are not async context managers

    @property
    def connection(self) -> AsyncAdapt_aiopg_connection:
        # The psycopg2 dialect reads cursor.connection.notices after each statement.
        return self._adapt_connection  # type: ignore[return-value]

    _many_rowcount: int | None

    @property
    def _aiopg_connection(self) -> AsyncAdapt_aiopg_connection:
        return cast("AsyncAdapt_aiopg_connection", self._adapt_connection)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        adapt = self._aiopg_connection
        self._many_rowcount = None
        async with adapt._execute_mutex:
            await adapt._begin_if_needed(self._cursor)
            if parameters is None:
                result = await self._cursor.execute(operation)
            else:
                result = await self._cursor.execute(operation, parameters)
            if self._cursor.description:
                self._rows = collections.deque(await self._cursor.fetchall())
            return result

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        adapt = self._aiopg_connection
        async with adapt._execute_mutex:
            await adapt._begin_if_needed(self._cursor)
            total = 0
            for parameters in seq_of_parameters:
                await self._cursor.execute(operation, parameters)
                total += max(self._cursor.rowcount, 0)
            self._many_rowcount = total


class AsyncAdapt_aiopg_connection(AsyncAdapt_terminate, AsyncAdapt_dbapi_connection):
    __slots__ = ("_in_transaction", "_isolation_level")

    _cursor_cls = AsyncAdapt_aiopg_cursor
    _ss_cursor_cls = AsyncAdapt_aiopg_cursor  # type: ignore[assignment]  # never used

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._in_transaction = False
        self._isolation_level: str | None = None  # None: the server's default

    # -- transactions, sent as SQL because the connection autocommits -------

    async def _begin_if_needed(self, cursor: Any) -> None:
        if self._in_transaction or self._isolation_level == "AUTOCOMMIT":
            return
        if self._isolation_level is None:
            await cursor.execute("BEGIN")
        else:
            await cursor.execute(f"BEGIN ISOLATION LEVEL {self._isolation_level}")
        self._in_transaction = True

    async def _end_transaction(self, command: str) -> None:
        async with self._execute_mutex:
            if not self._in_transaction:
                return
            # Whatever happens to the command, the transaction is over for us:
            # a failed COMMIT or ROLLBACK leaves the connection to be invalidated.
            self._in_transaction = False
            cursor = await cast(Any, self._connection).cursor()
            try:
                await cursor.execute(command)
            finally:
                cursor.close()

    def commit(self) -> None:
        try:
            await_(self._end_transaction("COMMIT"))
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        try:
            await_(self._end_transaction("ROLLBACK"))
        except Exception as error:
            self._handle_exception(error)

    def set_isolation_level(self, level: str) -> None:
        self._isolation_level = level

    @property
    def autocommit(self) -> bool:
        return self._isolation_level == "AUTOCOMMIT"

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if value:
            self._isolation_level = "AUTOCOMMIT"
        elif self._isolation_level == "AUTOCOMMIT":
            self._isolation_level = None

    # -- what the psycopg2 dialect reads off a connection ---------------------

    @property
    def notices(self) -> list[str]:
        return self._connection.notices

    @property
    def closed(self) -> bool:
        return bool(self._connection.closed)

    def close(self) -> None:
        await_(self._connection.close())

    async def _terminate_graceful_close(self) -> None:
        await self._connection.close()

    def _terminate_force_close(self) -> None:
        self._connection.close()  # closes at once; the returned future is already done


class AsyncAdapt_aiopg_dbapi(AsyncAdapt_dbapi_module):
    def __init__(self, aiopg: ModuleType, psycopg2: ModuleType) -> None:
        super().__init__(aiopg, dbapi_module=psycopg2)
        self.aiopg = aiopg
        self.psycopg2 = psycopg2
        self.paramstyle = "pyformat"
        self.__version__ = getattr(aiopg, "__version__", None)
        # aiopg raises psycopg2's own exceptions: expose that hierarchy.
        for name in ("Warning", "Error", "InterfaceError", "DataError", "DatabaseError",
                     "OperationalError", "IntegrityError", "ProgrammingError", "InternalError",
                     "NotSupportedError", "STRING", "NUMBER", "DATETIME", "BINARY", "ROWID",
                     "Binary", "extensions", "extras"):
            if hasattr(psycopg2, name):
                setattr(self, name, getattr(psycopg2, name))

    def connect(self, *args: Any, **kwargs: Any) -> AsyncAdapt_aiopg_connection:
        creator_fn = kwargs.pop("async_creator_fn", self.aiopg.connect)
        # aiopg's hstore registration queries the server on every connect; the
        # dialect turns native hstore off, so skip it.
        kwargs.setdefault("enable_hstore", False)
        return await_(AsyncAdapt_aiopg_connection.create(self, creator_fn(*args, **kwargs)))


class PGDialectAsync_aiopg(PGDialect_psycopg2):
    driver = "aiopg"
    # psycopg2's minimum does not apply to aiopg's numbering
    minimum_dbapi_version = None  # type: ignore[assignment]
    is_async = True
    has_terminate = True
    supports_statement_cache = True
    supports_server_side_cursors = False
    _has_native_hstore = False

    def __init__(self, **kwargs: Any) -> None:
        kwargs["use_native_hstore"] = False
        super().__init__(**kwargs)

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiopg_dbapi:
        import aiopg
        import psycopg2

        return AsyncAdapt_aiopg_dbapi(aiopg, psycopg2)

    def retrieve_dbapi_version(self, dbapi: Any) -> Any:
        return util.parse_version_string(getattr(getattr(dbapi, "aiopg", None), "__version__",
                                                 None))

    @classmethod
    def get_pool_class(cls, url: Any) -> Any:
        from sqlalchemy import pool

        return pool.AsyncAdaptedQueuePool

    def on_connect(self) -> Any:
        # aiopg itself registers the UUID and JSON adapters on connect; the psycopg2
        # dialect's hooks would call psycopg2.extras on our adapted connection.
        return None

    def set_isolation_level(self, dbapi_connection: Any, level: str) -> None:
        if level != "AUTOCOMMIT" and level not in _ISOLATION_LEVELS:
            raise ValueError(f"unknown isolation level {level!r}")
        dbapi_connection.set_isolation_level(level)

    def get_isolation_level(self, dbapi_connection: Any) -> IsolationLevel:
        if dbapi_connection.autocommit:
            return "AUTOCOMMIT"
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SHOW transaction_isolation")
            return cast(IsolationLevel, str(cursor.fetchone()[0]).upper())
        finally:
            cursor.close()

    def set_readonly(self, connection: Any, value: bool) -> None:
        raise NotImplementedError("aiopg dialect: read-only transactions are not supported")

    def set_deferrable(self, connection: Any, value: bool) -> None:
        raise NotImplementedError("aiopg dialect: deferrable transactions are not supported")

    def do_executemany(self, cursor: Any, statement: Any, parameters: Any,
                       context: Any = None) -> None:
        cursor.executemany(statement, parameters)  # never psycopg2.extras.execute_batch

    def do_terminate(self, dbapi_connection: Any) -> None:
        dbapi_connection.terminate()

    def get_driver_connection(self, connection: Any) -> Any:
        return connection._connection


dialect = PGDialectAsync_aiopg

