"""The runs working in a database: claimed, recorded and cleaned up in `sqlab_registry`.

A run claims a namespace (bench.db.namespace) before it touches anything: one row in
the user's database's `sqlab_registry` says whose it is (run id, host, pid, start time)
and the namespace is created. The run releases it at its end (the namespace dropped,
the row deleted). A run killed outright (SIGKILL, power loss) leaves both behind: the
next run, `sqla-bench clean` or `doctor` finds them through the registry. A row is a
*leftover* when its owner is gone: its pid is dead (or now another process) on this
host, or it started more than STALE_AFTER_HOURS ago on another host. The tables of a
live run are never touched.

Every read-modify-write of the registry holds a lock, so runs starting at the same
instant on an empty database all succeed: PostgreSQL a transaction-level advisory lock,
MySQL a named lock (GET_LOCK), SQLite the file's write lock (BEGIN IMMEDIATE), each
waited for at most LOCK_TIMEOUT_S. The registry's own work runs on the backend's sync
driver, outside any timing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

from bench.db import namespace
from bench.db.database import (
    BOOKKEEPING,
    REGISTRY_TABLE,
    TABLE_PREFIX,
    DatabaseError,
    ForeignTableError,
    describe_connect_error,
    make_sync_engine,
    mask,
)
from bench.db.drivers import DRIVERS
from bench.db.masking import mask_text

STALE_AFTER_HOURS = 24.0  # a run of another host older than this is taken for gone
LOCK_TIMEOUT_S = 30  # how long a run waits for another to finish with the registry
# How much later than its row a process may seem to have started and still be the owner:
# /proc's start time counts from the boot time in whole seconds, and clocks get adjusted.
PID_START_SLACK_S = 60.0
_PG_LOCK_KEY = 0x53514C4142  # "SQLAB": the advisory lock of the registry, per database

Say = Callable[[str], None]


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("namespace", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        # seconds since the epoch; a double (MySQL's FLOAT would round it to minutes)
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    ]


def _registry() -> sa.Table:
    return sa.Table(REGISTRY_TABLE, sa.MetaData(), *_columns())


_LEGACY_COLUMNS = {"table_name", "created_by"}  # sqla-bench before namespaces


@dataclass(frozen=True)
class Claim:
    """One registry row: a run and its namespace."""

    namespace: str
    run_id: str
    host: str
    pid: int
    started_at: float

    def gone(self, now: float | None = None) -> bool:
        """Its owner is gone: pid dead or reused here, or too old on another host."""
        now = time.time() if now is None else now
        if self.host != socket.gethostname():
            return now - self.started_at > STALE_AFTER_HOURS * 3600
        return not _alive_since(self.pid, self.started_at)

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started_at, UTC).isoformat(timespec="seconds")
        return f"{self.namespace} (run {self.run_id[:8]}, pid {self.pid} on {self.host}, " \
               f"started {started})"


def _alive_since(pid: int, started_at: float) -> bool:
    """Whether process `pid` runs and is the one that started by `started_at` (a pid the
    kernel gave to a newer process is not the owner)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    began = _process_start(pid)
    return began is None or began <= started_at + PID_START_SLACK_S


def _process_start(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch), on Linux; None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


@dataclass(frozen=True)
class Namespace:
    """A claimed namespace: `url` is what the run connects with."""

    claim: Claim
    base_url: URL  # the user's URL (where the registry is)
    url: URL

    @property
    def name(self) -> str:
        return self.claim.namespace


# ---------------------------------------------------------------------------
# The lock around every change


def _sync_engine(url: URL) -> sa.Engine:
    backend = namespace.backend_of(url)
    driver = next(d for d in DRIVERS.values() if d.is_sync and d.backend == backend)
    options: dict[str, Any] = {"poolclass": NullPool, "isolation_level": "AUTOCOMMIT"}
    if backend == "sqlite":
        options["connect_args"] = {"timeout": LOCK_TIMEOUT_S}  # the bounded wait for the lock
    engine = make_sync_engine(driver, url.set(drivername=driver.scheme), **options)
    return engine.execution_options(**{BOOKKEEPING: True})


@contextlib.contextmanager
def _locked(url: URL) -> Iterator[Connection]:
    """A connection to the user's database holding the registry's lock; what it does
    is committed at the end (rolled back on an error)."""
    backend = namespace.backend_of(url)
    engine = _sync_engine(url)
    try:
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(describe_connect_error(exc, url)) from None
        with conn:
            if backend == "mysql":
                lock = f"sqlab_registry.{url.database}"[:64]
                got = conn.execute(sa.text("SELECT GET_LOCK(:name, :wait)"),
                                   {"name": lock, "wait": LOCK_TIMEOUT_S}).scalar()
                if got != 1:
                    raise DatabaseError(_busy(url))
                try:
                    yield conn
                finally:
                    conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": lock})
                return
            try:
                if backend == "postgresql":
                    conn.exec_driver_sql("BEGIN")
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_S}s'")
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _PG_LOCK_KEY})
                else:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
            except sa.exc.OperationalError as exc:
                if "lock" in str(exc).lower():
                    raise DatabaseError(_busy(url)) from None
                raise
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
    except sa.exc.DBAPIError as exc:  # a right the user lacks, say: one line, masked
        reason = mask_text(" ".join(str(exc.orig).split())[:200], [url.password])
        raise DatabaseError(f"cannot record this run in {REGISTRY_TABLE} of {mask(url)} "
                            f"({reason}); the user needs to create tables there") from None
    finally:
        engine.dispose()


def _busy(url: URL) -> str:
    return (f"another sqla-bench run held the registry of {mask(url)} for more than "
            f"{LOCK_TIMEOUT_S} s; try again, or see `sqla-bench doctor`")


# ---------------------------------------------------------------------------
# The registry table


def _ensure_registry(conn: Connection, say: Say) -> None:
    """Create the registry if absent; replace an older sqla-bench's (dropping the tables
    it recorded: an older run's leftovers); refuse someone else's table of that name."""
    inspector = sa.inspect(conn)
    if inspector.has_table(REGISTRY_TABLE):
        columns = {c["name"] for c in inspector.get_columns(REGISTRY_TABLE)}
        if columns == {c.name for c in _columns()}:
            return
        if columns != _LEGACY_COLUMNS:
            raise ForeignTableError(
                f"table {REGISTRY_TABLE} exists but was not created by sqla-bench; "
                "rename or remove it, or use another database")
        _drop_legacy(conn, say)
    _registry().create(conn)


def _drop_legacy(conn: Connection, say: Say) -> None:
    legacy = sa.table(REGISTRY_TABLE, sa.column("table_name"))
    names = [str(n) for n in conn.execute(sa.select(legacy.c.table_name)).scalars()]
    existing = set(sa.inspect(conn).get_table_names())
    ours = [n for n in names if n.startswith(TABLE_PREFIX) and n in existing]
    if ours:
        reflected = sa.MetaData()
        reflected.reflect(conn, only=ours, resolve_fks=False)
        for table in reversed(reflected.sorted_tables):  # children before parents
            if table.name in ours:
                table.drop(conn)
        say(f"dropped {len(ours)} tables left by an older sqla-bench: {', '.join(ours)}")
    conn.execute(sa.schema.DropTable(sa.Table(REGISTRY_TABLE, sa.MetaData())))


def _claims(conn: Connection) -> list[Claim]:
    inspector = sa.inspect(conn)
    if not inspector.has_table(REGISTRY_TABLE):
        return []
    if {c["name"] for c in inspector.get_columns(REGISTRY_TABLE)} == _LEGACY_COLUMNS:
        return []  # an older sqla-bench's: replaced by the next run
    registry = _registry()
    rows = conn.execute(sa.select(registry.c.namespace, registry.c.run_id, registry.c.host,
                                  registry.c.pid, registry.c.started_at))
    return [Claim(str(r[0]), str(r[1]), str(r[2]), int(r[3]), float(r[4])) for r in rows]


def _create_namespace(conn: Connection, url: URL, name: str) -> None:
    backend = namespace.backend_of(url)
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    if backend == "postgresql":
        conn.exec_driver_sql(f"CREATE SCHEMA {quoted}")
    elif backend == "mysql":  # the user's database's character set, so results compare
        charset, collation = conn.exec_driver_sql(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
            "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()").one()
        conn.exec_driver_sql(f"CREATE DATABASE {quoted} CHARACTER SET {charset} "
                             f"COLLATE {collation}")
    elif url.database:  # SQLite: the run's own file, in the harness's journal mode
        namespace.create_sqlite_file(url.database, name)


def _drop_namespace(conn: Connection, url: URL, name: str) -> None:
    if not namespace.is_name(name):  # a row we did not write: never drop what it names
        raise DatabaseError(f"{REGISTRY_TABLE} names {name!r}, not a sqla-bench namespace")
    backend = namespace.backend_of(url)
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    if backend == "postgresql":
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
    elif backend == "mysql":
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
    elif url.database:
        base = namespace.sqlite_file(url.database, name)
        for path in (base, *(Path(f"{base}{end}") for end in ("-journal", "-wal", "-shm"))):
            path.unlink(missing_ok=True)
    registry = _registry()
    conn.execute(sa.delete(registry).where(registry.c.namespace == name))


def _drop_leftovers(conn: Connection, url: URL, say: Say) -> list[Claim]:
    dropped = [c for c in _claims(conn) if c.gone()]
    for claim in dropped:
        _drop_namespace(conn, url, claim.namespace)
        say(f"dropped the tables of a run that is gone: {claim.describe()}")
    return dropped


# ---------------------------------------------------------------------------
# What runs call


def new_record(*, run_id: str | None = None, name: str | None = None) -> Claim:
    """This process's row of a claim: `name` (bench.db.namespace.named) or a fresh one, the
    run's id or a fresh one, this host, this process, now."""
    return Claim(name or namespace.new_name(), run_id or uuid.uuid4().hex, socket.gethostname(),
                 os.getpid(), time.time())


def claim(url: URL, *, run_id: str | None = None, tables: Iterable[str] = (),
          say: Say = print, name: str | None = None, record: Claim | None = None
          ) -> Namespace | None:
    """Claim a new namespace in the database of `url` (the user's URL): leftovers of
    runs that are gone are dropped first (one line each through `say`), a table named
    in `tables` that exists in the user's area stops the run (ForeignTableError, as
    before namespaces). `name`: this namespace (bench.db.namespace.named) rather than a
    fresh one; a live run holding it stops this one in one line. `record`: the row to
    write, made beforehand by new_record (a process claiming for its parent). None for
    an in-memory SQLite database, which nothing shares."""
    if namespace.shares_nothing(url):
        return None
    record = record or new_record(run_id=run_id, name=name)
    with _locked(url) as conn:
        _ensure_registry(conn, say)
        _drop_leftovers(conn, url, say)
        holder = next((c for c in _claims(conn) if c.namespace == record.namespace), None)
        if holder is not None:
            raise DatabaseError(f"namespace {record.namespace} is held by a live run "
                                f"({holder.describe()}): wait for it, or name another")
        existing = set(sa.inspect(conn).get_table_names())
        foreign = sorted(set(tables) & existing)
        if foreign:
            raise ForeignTableError(
                f"table {foreign[0]} exists in this database but was not created by "
                "sqla-bench; refusing to touch it: rename it or use another database")
        # Recorded before created: a crash between the two leaves a row naming nothing.
        conn.execute(sa.insert(_registry()), [{
            "namespace": record.namespace, "run_id": record.run_id, "host": record.host,
            "pid": record.pid, "started_at": record.started_at, "created_by": "sqla-bench"}])
        try:
            _create_namespace(conn, url, record.namespace)
        except sa.exc.DBAPIError as exc:
            what = "schema" if namespace.backend_of(url) == "postgresql" else "database"
            raise DatabaseError(
                f"cannot create this run's own {what} {record.namespace} in {mask(url)} "
                f"({mask_text(' '.join(str(exc.orig).split())[:200], [url.password])}); "
                "grant the user CREATE there, "
                "or use a database where it may create one") from None
    return Namespace(record, url, namespace.apply(url, record.namespace))


def release(claimed: Namespace) -> None:
    """Drop the namespace and its row, at the end of its run."""
    with _locked(claimed.base_url) as conn:
        _drop_namespace(conn, claimed.base_url, claimed.name)


@contextlib.contextmanager
def for_run(url: URL, *, run_id: str | None = None, tables: Iterable[str] = (),
            say: Say = print) -> Iterator[URL]:
    """The URL a run connects with, in its own namespace, released when the block ends.

        with registry.for_run(url) as run_url:
            engine = make_engine(driver, run_url)
    """
    claimed = claim(url, run_id=run_id, tables=tables, say=say)
    try:
        yield url if claimed is None else claimed.url
    finally:
        if claimed is not None:
            try:
                release(claimed)
            except Exception as exc:  # noqa: BLE001 - the next run drops it: say so
                say(f"warning: could not drop namespace {claimed.name} "
                    f"({type(exc).__name__}); the next run drops it")


def runs(url: URL) -> list[tuple[Claim, bool]]:
    """Every run recorded in the database of `url`, and whether it is a leftover."""
    if namespace.shares_nothing(url):
        return []
    engine = _sync_engine(url)
    try:
        with engine.connect() as conn:
            now = time.time()
            return [(c, c.gone(now)) for c in _claims(conn)]
    finally:
        engine.dispose()


def clean(url: URL, say: Say = print) -> list[Claim]:
    """Drop the leftovers of runs that are gone; live runs stay untouched."""
    if namespace.shares_nothing(url):
        return []
    with _locked(url) as conn:
        if not sa.inspect(conn).has_table(REGISTRY_TABLE):
            return []
        _ensure_registry(conn, say)
        return _drop_leftovers(conn, url, say)
