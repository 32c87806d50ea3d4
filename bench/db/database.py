"""Where the database is, how to reach it, and the harness's own tables.

- URL resolution: a driver plus an optional URL without the driver part.
- Secrets: URLs are only ever shown masked, and error texts are scrubbed.
- Ownership: every table the harness creates carries the prefix `sqlab_`, lives in
  its run's namespace (bench.db.namespace, claimed in `sqlab_registry` by
  bench.db.registry) and is recorded there in `sqlab_tables`. The harness drops only
  tables that are both prefixed and recorded, creates none outside a namespace, and
  refuses to run when a prefixed table exists that it did not record (someone else's
  table, or a stale one to check).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from bench.db.drivers import DEFAULT_CONNECT_TIMEOUT, Driver
from bench.db.masking import mask_text
from bench.db.namespace import is_name, owns_sqlite_file, session_settings, sqlite_pragmas

TABLE_PREFIX = "sqlab_"
# The database's record of the runs working in it, each in its namespace (bench.db.registry).
REGISTRY_TABLE = f"{TABLE_PREFIX}registry"
# A namespace's record of the tables its run created.
OWNED_TABLE = f"{TABLE_PREFIX}tables"

DEFAULT_URLS = {
    "postgresql": ("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": ("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
DEFAULT_SQLITE_FILE = Path("results") / "sqla-bench.sqlite3"

# Spellings users reach for, mapped onto the registry's backend names.
_BACKEND_ALIASES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}


class DatabaseError(Exception):
    """A database problem stated for the user: one line, masked, with what to do."""


class ForeignTableError(DatabaseError):
    """A table with our prefix exists that the harness did not create."""


def resolve_url(
    driver: Driver, url_text: str | None = None, env: dict[str, str] | None = None
) -> URL:
    """The SQLAlchemy URL for `driver`: from `url_text`, else the backend's default."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if url_text is None:
        if driver.backend == "sqlite":
            return URL.create(driver.scheme, database=str(DEFAULT_SQLITE_FILE))
        env_var, fallback = DEFAULT_URLS[driver.backend]
        url_text = environ.get(env_var) or fallback
        source = env_var if environ.get(env_var) else "the default URL"
    else:
        source = "--url"
    url = _parse(url_text, source)
    named_backend, _, named_driver = url.drivername.partition("+")
    backend = _BACKEND_ALIASES.get(named_backend)
    if backend is None:
        raise DatabaseError(
            f"{source} has unknown database {url.drivername.partition('+')[0]!r} in "
            f"{mask(url)}; use a postgresql://, mysql:// or sqlite:/// URL"
        )
    if backend != driver.backend:
        raise DatabaseError(
            f"{source} is a {backend} URL but driver {driver.name} talks to {driver.backend}; "
            f"pass a {driver.backend} URL or pick a {backend} driver"
        )
    if named_driver and f"{backend}+{named_driver}" != driver.scheme:
        raise DatabaseError(
            f"{source} names driver {named_driver!r} but --driver is {driver.name}; "
            "leave the driver out of the URL (e.g. postgresql://user@host/db)"
        )
    if backend != "sqlite" and not url.database:
        raise DatabaseError(f"{source} {mask(url)} names no database; add /DBNAME to it")
    return url.set(drivername=driver.scheme)


def _parse(url_text: str, source: str) -> URL:
    try:
        url = make_url(url_text)
    except (ArgumentError, ValueError) as exc:
        shown = mask_text(url_text)
        reason = str(exc).split("\n")[0]
        raise DatabaseError(
            f"{source} is not a valid database URL ({shown!r}: {reason}); "
            "expected e.g. postgresql://user:password@host:5432/dbname"
        ) from None
    return url


def mask(url: URL) -> str:
    """The URL as it may be shown or saved: password replaced by ***, and any control
    character (a pasted CR or newline) escaped, so it never breaks a one-line message."""
    return printable(url.render_as_string(hide_password=True))


def printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def describe_connect_error(exc: BaseException, url: URL) -> str:
    """One line for a failed connection, naming host and port, never the password."""
    target = printable(
        f"{url.host or 'localhost'}:{url.port or default_port(url)}"
        if url.get_backend_name() != "sqlite"
        else str(url.database)
    )
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
    if isinstance(exc, TimeoutError) and not str(exc):
        reason = "timed out"
    reason = mask_text(reason, [url.password])
    return f"cannot connect to {url.get_backend_name()} at {target} as {url.username!r}: {reason}"


def default_port(url: URL) -> int | str:
    return {"postgresql": 5432, "mysql": 3306}.get(url.get_backend_name(), "?")


def make_engine(
    driver: Driver, url: URL, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, **options: Any
) -> AsyncEngine:
    """An AsyncEngine for an async driver, with the connect timeout applied."""
    if driver.is_sync:
        raise ValueError(f"{driver.name} is a sync driver: use make_sync_engine")
    url, arguments = _engine_arguments(driver, url, connect_timeout, options)
    engine = create_async_engine(url, **arguments)
    _watch_checkouts(engine)
    _tune_own_sqlite(engine, url)
    return engine


def make_sync_engine(
    driver: Driver, url: URL, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, **options: Any
) -> sa.Engine:
    """A plain Engine for a sync baseline driver, with the connect timeout applied."""
    url, arguments = _engine_arguments(driver, url, connect_timeout, options)
    engine = sa.create_engine(url, **arguments)
    _watch_checkouts(engine)
    _tune_own_sqlite(engine, url)
    return engine


async def checkpoint_own_sqlite(engine: AsyncEngine) -> None:
    """Copy what a point's setup wrote from a run's own SQLite file's write-ahead log into
    the file, untimed: else the log's first checkpoints (the seed data's pages, synced)
    would fall inside timed rounds. Nothing for any other database."""
    if not owns_sqlite_file(engine.url):
        return
    async with engine.connect() as conn:
        # the harness's own upkeep: a capture leaves it out (bookkeeping)
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)", execution_options=_OURS)


def _tune_own_sqlite(engine: AsyncEngine | sa.Engine, url: URL) -> None:
    """Each new connection to a run's own SQLite file runs the harness's pragmas
    (bench.db.namespace.OWN_SQLITE_PRAGMAS); a user's file is left as it is."""
    if not owns_sqlite_file(url):
        return

    @sa.event.listens_for(core_engine(engine), "connect")
    def _connected(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        try:
            sqlite_pragmas(cursor.execute)
        finally:
            cursor.close()


def _engine_arguments(driver: Driver, url: URL, connect_timeout: float,
                      options: dict[str, Any]) -> tuple[URL, dict[str, Any]]:
    """The URL the driver understands and create_engine's arguments: our connect timeout,
    the run's namespace (bench.db.namespace), then the caller's own connect_args."""
    if driver.backend == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    url, settings = session_settings(url)
    connect_args = {**driver.connect_args(connect_timeout)}
    for extra in (driver.namespaced_connect_args(settings), options.pop("connect_args", {})):
        for key, value in extra.items():
            connect_args[key] = merged_setting(connect_args.get(key), value)
    return url, {"connect_args": connect_args, **options}


def connect_settings(driver: Driver, url: URL, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
                     ) -> tuple[URL, dict[str, Any]]:
    """The URL and connect_args to hand code that makes its own engine (a service process):
    what make_engine would use, the run's namespace included."""
    url, arguments = _engine_arguments(driver, url, connect_timeout, {})
    return url, arguments["connect_args"]


def merged_setting(ours: Any, theirs: Any) -> Any:
    """A connect argument given twice: server-settings dicts and libpq option strings
    add up (a namespace's search_path and a family's jit=off); anything else: theirs."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return {**ours, **theirs}
    if isinstance(ours, str) and isinstance(theirs, str) and ours.startswith("-c "):
        return f"{ours} {theirs}"
    return theirs


def core_engine(engine: AsyncEngine | sa.Engine) -> sa.Engine:
    """The sync Engine that events attach to, for an async or a sync engine."""
    return engine.sync_engine if isinstance(engine, AsyncEngine) else engine


# A variant that fails mid-transaction (or misuses a session) can leave a connection
# checked out forever. engine.dispose() closes only pooled connections, so such a
# connection would keep its locks and block every later case: track checkouts and
# close what is still out when the case ends.
_CHECKED_OUT: weakref.WeakKeyDictionary[Any, dict[int, Any]] = weakref.WeakKeyDictionary()
LEAK_CLOSE_TIMEOUT = 5.0


def _watch_checkouts(engine: AsyncEngine | sa.Engine) -> None:
    held: dict[int, Any] = {}
    _CHECKED_OUT[core_engine(engine)] = held

    @sa.event.listens_for(core_engine(engine), "checkout")
    def _out(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        held[id(dbapi_conn)] = dbapi_conn

    @sa.event.listens_for(core_engine(engine), "checkin")
    def _in(dbapi_conn: Any, _record: Any) -> None:
        if dbapi_conn is not None:
            held.pop(id(dbapi_conn), None)


async def dispose_engine(engine: AsyncEngine | sa.Engine) -> int:
    """Dispose of the pool and close connections never given back; returns how many."""
    leaked = list(_CHECKED_OUT.pop(core_engine(engine), {}).values())
    if not isinstance(engine, AsyncEngine):
        engine.dispose()
        for dbapi_conn in leaked:
            try:
                dbapi_conn.close()
            except Exception:  # noqa: BLE001 - already broken: nothing left to close
                pass
        return len(leaked)
    await engine.dispose()
    for dbapi_conn in leaked:
        try:
            await asyncio.wait_for(greenlet_spawn(dbapi_conn.close), LEAK_CLOSE_TIMEOUT)
        except Exception:  # noqa: BLE001 - busy or broken: cut it off instead
            terminate = getattr(dbapi_conn, "terminate", None)
            if terminate is not None:
                try:
                    terminate()
                except Exception:  # noqa: BLE001 - nothing more can be done for it
                    pass
    return len(leaked)


# ---------------------------------------------------------------------------
# Ownership of tables, inside a run's namespace (bench.db.namespace)


def _owned(metadata: sa.MetaData | None = None) -> sa.Table:
    """The namespace's record of the tables its run created."""
    return sa.Table(
        OWNED_TABLE,
        metadata or sa.MetaData(),
        sa.Column("table_name", sa.String(128), primary_key=True),
        sa.Column("created_by", sa.String(64), nullable=False),
    )


def _registered(conn: Connection) -> set[str]:
    if not sa.inspect(conn).has_table(OWNED_TABLE):
        return set()
    owned = _owned()
    return {row[0] for row in conn.execute(sa.select(owned.c.table_name))}


def _check_ours(metadata: sa.MetaData) -> None:
    for name in metadata.tables:
        if not name.startswith(TABLE_PREFIX):
            raise DatabaseError(
                f"refusing to manage table {name!r}: harness tables must be named {TABLE_PREFIX}*"
            )


# An execution option on the harness's own bookkeeping (the registry's connections, the
# namespace checks): not the application's statements, so a capture (bench.api.capturing)
# leaves them out.
BOOKKEEPING = "sqlab_bookkeeping"
_OURS = {BOOKKEEPING: True}


def current_namespace(conn: Connection) -> str | None:
    """The namespace this connection works in (None: the user's own area), or ":memory:"
    for an in-memory SQLite database, which nothing shares."""
    backend = {"mariadb": "mysql"}.get(conn.dialect.name, conn.dialect.name)
    if backend == "postgresql":
        found = conn.exec_driver_sql("SELECT current_schema()",
                                     execution_options=_OURS).scalar()
    elif backend == "mysql":
        found = conn.exec_driver_sql("SELECT DATABASE()", execution_options=_OURS).scalar()
    else:
        files = {row[1]: row[2] for row in conn.exec_driver_sql("PRAGMA database_list",
                                                                execution_options=_OURS)}
        path = str(files.get("main") or "")
        if not path:
            return ":memory:"
        found = path.rsplit(".", 1)[-1]
    return str(found) if is_name(found) else None


def _check_in_namespace(conn: Connection) -> None:
    if current_namespace(conn) is None:
        raise DatabaseError(
            "refusing to create or drop tables outside a run's namespace (bench.db.registry): "
            "this is a bug in sqla-bench, please report it"
        )


def create_owned_tables(conn: Connection, metadata: sa.MetaData) -> None:
    """Create the harness's tables afresh in the run's namespace (sync, for
    `AsyncConnection.run_sync`); outside a namespace it refuses.

    Our registered tables from an earlier point are dropped first; a prefixed table
    we did not register stops the run with ForeignTableError.
    """
    _check_ours(metadata)
    _check_in_namespace(conn)
    existing = set(sa.inspect(conn).get_table_names())
    if OWNED_TABLE in existing and not _owned_shape_ok(conn):
        raise ForeignTableError(
            f"table {OWNED_TABLE} exists but was not created by sqla-bench; "
            "rename or remove it, or use another database"
        )
    registered = _registered(conn)
    foreign = sorted(n for n in metadata.tables if n in existing and n not in registered)
    if foreign:
        raise ForeignTableError(
            f"table {foreign[0]} exists in this database but was not created by sqla-bench; "
            "refusing to touch it: rename it or use another database"
        )
    drop_owned_tables(conn, metadata)
    _owned().create(conn, checkfirst=True)
    owned = _owned()
    # Register before creating: a crash between the two leaves a registered, absent table,
    # which is harmless, never an unregistered table of ours.
    names = [t.name for t in metadata.sorted_tables]
    conn.execute(sa.insert(owned), [{"table_name": n, "created_by": "sqla-bench"} for n in names])
    metadata.create_all(conn)
    _commit_if_needed(conn)


def drop_owned_tables(conn: Connection, metadata: sa.MetaData) -> None:
    """Drop the metadata's tables that are ours (prefixed and registered), nothing else."""
    _check_ours(metadata)
    _check_in_namespace(conn)
    registered = _registered(conn)
    existing = set(sa.inspect(conn).get_table_names())
    ours = [t for t in reversed(metadata.sorted_tables) if t.name in registered]
    for table in ours:
        if table.name in existing:
            table.drop(conn)
    if ours:
        owned = _owned()
        conn.execute(sa.delete(owned).where(owned.c.table_name.in_([t.name for t in ours])))
    _commit_if_needed(conn)


def _owned_shape_ok(conn: Connection) -> bool:
    columns = {c["name"] for c in sa.inspect(conn).get_columns(OWNED_TABLE)}
    return columns == {"table_name", "created_by"}


def _commit_if_needed(conn: Connection) -> None:
    if conn.in_transaction():
        conn.commit()


# ---------------------------------------------------------------------------
# What the server is


# The SQL that reads a server's version, per backend: one home for engine and raw reads.
VERSION_SQL = {
    "postgresql": "SHOW server_version",
    "mysql": "SELECT VERSION()",
    "sqlite": "SELECT sqlite_version()",
}


def describe_server(backend: str, version_text: object) -> dict[str, str]:
    """Product and version from what VERSION_SQL returned."""
    text = str(version_text)
    if backend == "postgresql":
        return {"product": "PostgreSQL", "version": text.split(" ")[0]}
    if backend == "mysql":
        product = "MariaDB" if "mariadb" in text.lower() else "MySQL"
        return {"product": product, "version": text.split("-")[0]}
    if backend == "sqlite":
        return {"product": "SQLite", "version": text}
    return {"product": backend, "version": "unknown"}


def server_info(conn: Connection) -> dict[str, str]:
    """The server's product and version, read over an open connection."""
    backend = {"mariadb": "mysql"}.get(conn.dialect.name, conn.dialect.name)
    if backend not in VERSION_SQL:
        return {"product": backend, "version": "unknown"}
    return describe_server(backend, conn.exec_driver_sql(VERSION_SQL[backend]).scalar())


# The server settings that change what a run measures, per backend: recorded with every
# run, shown in the report, and a warning when two runs being compared differ in them.
RESULT_SETTINGS = {
    "postgresql": ("shared_buffers", "work_mem", "synchronous_commit", "fsync",
                   "max_connections", "jit"),
    "mysql": ("innodb_buffer_pool_size", "innodb_flush_log_at_trx_commit", "sync_binlog",
              "max_connections"),
}


def server_settings(conn: Connection) -> dict[str, str]:
    """RESULT_SETTINGS as the server reports them to this session (a setting the server
    does not have is left out); {} for SQLite, or when the server will not say."""
    backend = {"mariadb": "mysql"}.get(conn.dialect.name, conn.dialect.name)
    names = RESULT_SETTINGS.get(backend, ())
    if not names:
        return {}
    try:  # the names are our own constants, never user input
        if backend == "postgresql":
            columns = ", ".join(f"current_setting('{name}', true)" for name in names)
            values = conn.exec_driver_sql(f"SELECT {columns}").one()
            found = dict(zip(names, values, strict=True))
        else:
            listed = ", ".join(f"'{name}'" for name in names)
            rows = conn.exec_driver_sql(f"SHOW VARIABLES WHERE Variable_name IN ({listed})")
            found = {str(name): value for name, value in rows}
    except Exception:  # noqa: BLE001 - settings are context: never fail a run over them
        return {}
    finally:
        _commit_if_needed(conn)
    return {name: str(found[name]) for name in names if found.get(name) is not None}

# (limit, in use now) of client connections; a server with no limit is absent.
_CONNECTIONS_SQL = {
    "postgresql": "SELECT current_setting('max_connections')::int "
                  "- current_setting('superuser_reserved_connections')::int, "
                  "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
    "mysql": "SELECT @@max_connections, (SELECT VARIABLE_VALUE FROM "
             "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED')",
}


def connection_room(conn: Connection) -> tuple[int, int] | None:
    """The server's limit on client connections (max_connections, less PostgreSQL's
    reserved ones) and how many are open now, this one included; None for a server
    without a limit (SQLite)."""
    backend = {"mariadb": "mysql"}.get(conn.dialect.name, conn.dialect.name)
    if backend not in _CONNECTIONS_SQL:
        return None
    row = conn.exec_driver_sql(_CONNECTIONS_SQL[backend]).one()
    _commit_if_needed(conn)
    return int(row[0]), int(row[1])
