"""Capture: record what an application sends through its SQLAlchemy engines.

    from bench.api import capture, capture_unit

    with capture(engine, "workload.jsonl.gz", redact=False):
        with capture_unit("nightly job"):
            ...  # every statement the engine runs here is recorded

It listens to SQLAlchemy's own engine events (before/after_cursor_execute, begin,
commit, rollback, handle_error), so it records the SQL text and parameters exactly as
the driver received them, with rows returned, the transaction, the unit of work (a
contextvars id set by `capture_unit`, the ASGI middleware or the pytest option; without
one, each transaction is its own unit), start offset and duration. The engine's backend,
driver and server version are written once per engine. URLs and passwords are never
written. The file format is bench.api.workload's; redaction bench.api.redact's.

`capture(None, path)` captures every engine of the process (the pytest option uses it).
"""

from __future__ import annotations

import contextvars
import itertools
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

import bench
from bench.api.redact import Redactor
from bench.api.workload import WorkloadWriter, encode_params
from bench.db.database import BOOKKEEPING

# The unit of work a statement belongs to: (id, name) or None.
_UNIT: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "sqla_bench_capture_unit", default=None)
_UNIT_IDS = itertools.count(1)
_ACTIVE: list[Capture] = []  # captures running now (capture_unit writes to each)
_ERROR_TEXT = 300


def _bookkeeping(conn: sa.Connection, context: Any = None) -> bool:
    """sqla-bench's own bookkeeping (its registry, its namespace checks), on the
    connection or on the one statement: not the application's."""
    if context is not None and context.execution_options.get(BOOKKEEPING):
        return True
    return bool(conn.get_execution_options().get(BOOKKEEPING))


def _engine_of(target: Any) -> sa.Engine | None:
    """The sync Engine behind an Engine, AsyncEngine, (async_)sessionmaker or None."""
    if target is None:
        return None
    if isinstance(target, sa.Engine):
        return target
    sync = getattr(target, "sync_engine", None)
    if isinstance(sync, sa.Engine):
        return sync
    bind = getattr(target, "kw", {}).get("bind")  # sessionmaker / async_sessionmaker
    if bind is not None:
        return _engine_of(bind)
    raise TypeError("capture takes an Engine, AsyncEngine, sessionmaker or "
                    f"async_sessionmaker bound to an engine, not {type(target).__name__}")


class Capture:
    """One capture: its listeners, its file, its clocks."""

    def __init__(self, target: Any, path: str | Path, *, redact: bool = False,
                 redact_key: bytes | None = None) -> None:
        self.engine = _engine_of(target)
        self.path = Path(str(path).replace("{pid}", str(os.getpid())))
        self.redactor = Redactor(redact_key) if redact else None
        self._start = time.perf_counter()
        self._engines: dict[int, int] = {}  # id(engine) -> its number in the file
        self._tx_ids = itertools.count(1)
        self._lock = threading.Lock()
        self.statements = 0
        self.writer = WorkloadWriter(self.path, {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tool_version": bench.__version__, "sqlalchemy": sa.__version__,
            "redacted": redact, "pid": os.getpid()})
        self._target: Any = self.engine if self.engine is not None else sa.Engine
        self._listeners: list[tuple[str, Callable[..., Any]]] = [
            ("before_cursor_execute", self._before),
            ("after_cursor_execute", self._after),
            ("handle_error", self._error),
            ("begin", self._begin),
            ("commit", self._commit),
            ("rollback", self._rollback),
        ]

    def now(self) -> float:
        return round(time.perf_counter() - self._start, 6)

    def start(self) -> None:
        for name, fn in self._listeners:
            event.listen(self._target, name, fn)
        _ACTIVE.append(self)

    def stop(self) -> None:
        for name, fn in self._listeners:
            if event.contains(self._target, name, fn):
                event.remove(self._target, name, fn)
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        self.writer.close()

    # -- the unit and transaction a statement belongs to --------------------------------

    def _unit(self, conn: sa.Connection) -> int:
        unit = _UNIT.get()
        if unit is not None:
            return unit[0]
        # No unit set: the connection's transaction is the unit (or, outside one, the call)
        anonymous = conn.info.get("sqlab_capture_unit")
        if anonymous is None:
            anonymous = next(_UNIT_IDS)
        return int(anonymous)

    def _engine_id(self, conn: sa.Connection) -> int:
        engine = conn.engine
        number = self._engines.get(id(engine))
        if number is not None:
            return number
        with self._lock:
            number = self._engines.get(id(engine))
            if number is None:
                number = len(self._engines) + 1
                dialect = conn.dialect
                version = dialect.server_version_info
                self.writer.write({
                    "k": "engine", "engine": number, "backend": dialect.name,
                    "driver": dialect.driver, "paramstyle": dialect.paramstyle,
                    "server_version": ".".join(str(v) for v in version) if version else None})
                self._engines[id(engine)] = number
        return number

    # -- listeners ------------------------------------------------------------------------

    def _begin(self, conn: sa.Connection) -> None:
        if _bookkeeping(conn):
            return
        tx = next(self._tx_ids)
        conn.info["sqlab_capture_tx"] = tx
        if _UNIT.get() is None:  # an anonymous unit: this transaction
            unit = next(_UNIT_IDS)
            conn.info["sqlab_capture_unit"] = unit
            self.writer.write({"k": "unit", "unit": unit, "name": None, "t": self.now()})
        self.writer.write({"k": "tx", "unit": self._unit(conn), "tx": tx, "event": "begin",
                           "t": self.now()})

    def _end(self, conn: sa.Connection, what: str) -> None:
        if _bookkeeping(conn):
            return
        tx = conn.info.pop("sqlab_capture_tx", None)
        self.writer.write({"k": "tx", "unit": self._unit(conn), "tx": tx, "event": what,
                           "t": self.now()})
        conn.info.pop("sqlab_capture_unit", None)

    def _commit(self, conn: sa.Connection) -> None:
        self._end(conn, "commit")

    def _rollback(self, conn: sa.Connection) -> None:
        self._end(conn, "rollback")

    def _before(self, conn: sa.Connection, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        if context is not None:
            context._sqlab_capture_t = time.perf_counter()

    def _after(self, conn: sa.Connection, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> None:
        if _bookkeeping(conn, context):
            return
        end = time.perf_counter()
        started = getattr(context, "_sqlab_capture_t", end)
        self._record(conn, statement, parameters, context, executemany, started, end,
                     cursor=cursor)

    def _error(self, info: Any) -> None:
        conn = info.connection
        if conn is None or info.statement is None or _bookkeeping(conn,
                                                                  info.execution_context):
            return
        end = time.perf_counter()
        started = getattr(info.execution_context, "_sqlab_capture_t", end)
        shown = info.original_exception
        error = f"{type(shown).__name__}: {' '.join(str(shown).split())}"[:_ERROR_TEXT]
        many = info.execution_context.executemany if info.execution_context else False
        self._record(conn, info.statement, info.parameters, info.execution_context, many,
                     started, end, error=error)

    def _record(self, conn: sa.Connection, statement: str, parameters: Any, context: Any,
                executemany: bool, started: float, end: float, *, cursor: Any = None,
                error: str | None = None) -> None:
        redactor = self.redactor
        # insertmanyvalues reports executemany for a batch sent as one execute: the
        # parameters' shape says which it was
        executemany = bool(executemany and isinstance(parameters, (list, tuple)) and parameters
                           and all(isinstance(p, (list, tuple, dict)) for p in parameters))
        if executemany:
            rows = list(parameters or [])
            params: Any = [encode_params(redactor.params(p) if redactor else p) for p in rows]
        else:
            params = encode_params(redactor.params(parameters) if redactor else parameters)
        record: dict[str, Any] = {
            "k": "stmt", "unit": self._unit(conn), "engine": self._engine_id(conn),
            "tx": conn.info.get("sqlab_capture_tx"),
            "t": round(started - self._start, 6), "d": round(end - started, 6),
            "sql": redactor.sql(statement) if redactor else statement,
            "params": params, "many": len(params) if executemany else 0,
            "compiled": bool(context is not None and getattr(context, "compiled", None)
                             is not None and not _is_text(context)),
        }
        if cursor is not None:
            returns = cursor.description is not None
            record["returns"] = returns
            buffered = getattr(cursor, "_rows", None)  # SQLAlchemy's async adapters fetch all
            record["rows"] = len(buffered) if returns and buffered is not None else None
            rowcount = getattr(cursor, "rowcount", -1)
            record["rowcount"] = rowcount if isinstance(rowcount, int) else -1
        if error is not None:
            record["error"] = error
        self.statements += 1
        self.writer.write(record)


def _is_text(context: Any) -> bool:
    """The statement was text() (or exec_driver_sql): SQLAlchemy compiled no construct."""
    compiled = getattr(context, "compiled", None)
    return isinstance(getattr(compiled, "statement", None), sa.TextClause)


@contextmanager
def capture(target: Any, path: str | Path, redact: bool = False,
            redact_key: bytes | None = None) -> Iterator[Capture]:
    """Record every statement `target` (an Engine, AsyncEngine, sessionmaker,
    async_sessionmaker; None: every engine of the process) runs, into the workload file
    at `path` ("{pid}" in it becomes the process id, one file per worker process).
    With `redact`, parameter values and SQL string literals keep their type and length
    and lose their content. An unredacted file holds the application's data."""
    running = Capture(target, path, redact=redact, redact_key=redact_key)
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Unit:
    """The unit of work statements are recorded under; its name may change until it ends
    (the ASGI middleware knows the route only after routing)."""

    def __init__(self, name: str | None) -> None:
        self.id = next(_UNIT_IDS)
        self.name = name or "unnamed"


@contextmanager
def capture_unit(name: str | None = None) -> Iterator[Unit]:
    """Statements inside belong to one unit of work (a request, a task, a test) named
    `name`: replay runs them together, in order, and groups latencies by name."""
    unit = Unit(name)
    token = _UNIT.set((unit.id, unit.name))
    started = {id(c): c.now() for c in _ACTIVE}
    try:
        yield unit
    finally:
        _UNIT.reset(token)
        for running in list(_ACTIVE):
            begin = started.get(id(running), running.now())
            running.writer.write({"k": "unit", "unit": unit.id, "name": unit.name,
                                  "t": begin, "d": round(running.now() - begin, 6)})


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


class CaptureMiddleware:
    """ASGI middleware (Starlette, FastAPI): each HTTP request is one unit, named by its
    method and route template (`GET /users/{user_id}`), found after routing.

        app.add_middleware(CaptureMiddleware)
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or not _ACTIVE:
            await self.app(scope, receive, send)
            return
        with capture_unit(None) as unit:
            try:
                await self.app(scope, receive, send)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None) or scope.get("path", "?")
                unit.name = f"{scope.get('method', '?')} {template}"
