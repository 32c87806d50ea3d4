"""The `sqla_engine` fixture's work: which drivers a user's test runs on, and their engines.

A test that uses `sqla_engine` runs once per driver: the async drivers named by
--sqla-driver, else every installed async driver whose server answers (the check of
`sqla-bench doctor`), SQLite always. Server URLs are the CLI's (bench.db.database.resolve_url:
BENCH_POSTGRES_URL, BENCH_MYSQL_URL or the defaults) and are shown only masked; SQLite
gets a file in the test's temporary directory, never one in the user's project.

An asyncio engine's connections belong to the event loop that opened them and must be
closed in it. A plain `def` test runs its rounds on the plug-in's `sqla_loop`; an
`async def` test on its async plug-in's loop, which pytest-asyncio and anyio may close
before a plain fixture's teardown. So when the engine first connects inside a loop, a
keeper task starts there whose only work is to dispose of the engine when cancelled: by
the fixture's teardown while that loop is still open, or by the loop's runner, which
cancels the tasks left over as it closes (asyncio.Runner does, under both plug-ins).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.db import namespace, registry
from bench.db.database import core_engine, dispose_engine, make_engine, resolve_url, server_info
from bench.db.doctor import check_drivers
from bench.db.drivers import DRIVERS, Driver, get_driver

PROBE_TIMEOUT = 3.0  # seconds a server gets to answer the collection-time check


def split_names(values: list[str]) -> list[str]:
    """--sqla-driver values, repeated or comma-separated: "asyncpg,psycopg"."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def engine_drivers(named: list[str]) -> tuple[list[str], dict[str, str]]:
    """The drivers a `sqla_engine` test runs on, and the async drivers left out with why.

    Named drivers are taken as asked (a missing server then fails the test, since it was
    asked for); sync ones are left out, as they have no AsyncEngine. With none named:
    every installed async driver, servers checked once by connecting."""
    if named:
        chosen = [n for n in named if not get_driver(n).is_sync]
        left_out = {n: "a sync driver: sqla_engine gives AsyncEngines" for n in named
                    if n not in chosen}
        return chosen, left_out
    candidates = [d for d in DRIVERS.values() if not d.is_sync]
    left_out = {d.name: f"not installed: pip install {d.distribution}"
                for d in candidates if not d.installed()}
    servers = [d for d in candidates if d.name not in left_out and d.connect_timeout_arg]
    for check in check_drivers(servers, PROBE_TIMEOUT):
        if not check["usable"]:
            left_out[check["driver"]] = check["problem"]
    return [d.name for d in candidates if d.name not in left_out], left_out


def engine_url(driver: Driver, tmp_dir: Path | None) -> sa.URL:
    """The CLI's URL for a server driver, in this process's namespace; a file in `tmp_dir`
    for SQLite (the test's own: nothing to share)."""
    if driver.backend == "sqlite":
        assert tmp_dir is not None
        return resolve_url(driver, f"sqlite:///{tmp_dir / 'sqla_engine.sqlite3'}")
    return in_namespace(resolve_url(driver))


# This process's namespaces (one per database), claimed on first use and released when
# pytest ends: each pytest-xdist worker is a process, so each works in its own. A counting
# child claims its own before it forks its groups, which share them (bench.plugin.forked).
NamespaceKey = tuple[str, str | None, int | None, str | None]  # backend, host, port, database
_NAMESPACES: dict[NamespaceKey, registry.Namespace] = {}


def _key(url: sa.URL) -> NamespaceKey:
    return (namespace.backend_of(url), url.host, url.port, url.database)


def in_namespace(url: sa.URL) -> sa.URL:
    """`url` inside this process's namespace of its database (bench.db.registry)."""
    if namespace.shares_nothing(url):
        return url
    key = _key(url)
    claimed = _NAMESPACES.get(key)
    if claimed is None:
        claimed = registry.claim(url, say=_say)
        assert claimed is not None
        _NAMESPACES[key] = claimed
    return namespace.apply(url, claimed.name)


def claim_in_helper(url: sa.URL, label: str | None = None) -> bool:
    """Claim this process's namespace of `url`'s database from a forked helper process (on
    a platform with fork), named after `label` (bench.db.namespace.named) or fresh: whether
    it was claimed. The claim's work (a connection, the registry's rows, a gone run's
    leftovers dropped) then leaves nothing on this process's heap, so processes forked from
    it later start from the same memory in every run (a counting child's,
    bench.plugin.forked). The row, made here before the fork, names this process as the
    owner. A server that is down, or a live run holding the name, leaves it unclaimed: the
    tests then claim their own, or say why they cannot."""
    key = _key(url)
    if namespace.shares_nothing(url) or key in _NAMESPACES:
        return key in _NAMESPACES
    record = registry.new_record(name=namespace.named(label) if label else None)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the helper: claims, and leaves without the parent's exit work
        code = 1
        try:
            registry.claim(url, record=record, say=_say)
            code = 0
        except Exception as exc:  # noqa: BLE001 - the tests claim their own, or say why not
            _say(f"the namespace of {namespace.backend_of(url)} was not claimed before the "
                 f"tests ({type(exc).__name__}): each test process claims its own")
        finally:
            sys.stderr.flush()
            os._exit(code)
    if os.waitpid(pid, 0)[1] != 0:
        return False
    _NAMESPACES[key] = registry.Namespace(record, url, namespace.apply(url, record.namespace))
    return True


def _say(line: str) -> None:
    print(f"sqla-bench: {line}", file=sys.stderr)


def claimed_namespaces() -> set[NamespaceKey]:
    return set(_NAMESPACES)


def release_namespaces(keep: AbstractSet[NamespaceKey] = frozenset()) -> None:
    """At the end of the session: drop this process's namespaces, but those in `keep` (in
    a forked process: those its parent claimed, and drops itself)."""
    for key in [k for k in _NAMESPACES if k not in keep]:
        claimed = _NAMESPACES.pop(key)
        try:
            registry.release(claimed)
        except Exception as exc:  # noqa: BLE001 - the next run drops it: say so
            print(f"sqla-bench: warning: could not drop namespace {claimed.name} "
                  f"({type(exc).__name__}); the next run drops it", file=sys.stderr)


class LoopBoundEngine:
    """An AsyncEngine disposed of in the event loop that opened its connections."""

    def __init__(self, driver: Driver, url: sa.URL) -> None:
        driver.require()
        self.engine: AsyncEngine = make_engine(driver, url)
        self._keepers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        event.listen(self.engine.sync_engine, "connect", self._connected)

    def _connected(self, _dbapi_connection: Any, _record: Any) -> None:
        try:
            loop = asyncio.get_running_loop()  # the greenlet runs in the loop's thread
        except RuntimeError:
            return
        if loop not in self._keepers:
            self._keepers[loop] = loop.create_task(self._dispose_when_cancelled())

    async def _dispose_when_cancelled(self) -> None:
        try:
            await asyncio.get_running_loop().create_future()  # never set: waits to be cancelled
        finally:
            try:
                await dispose_engine(self.engine)
            except Exception:  # noqa: BLE001 - a dead server has nothing left to close
                pass

    def close(self) -> None:
        """At the fixture's teardown: dispose in every loop that is still open (a closed
        loop's runner has cancelled its keeper, which disposed there)."""
        for loop, keeper in self._keepers.items():
            if keeper.done() or loop.is_closed():
                continue
            keeper.cancel()
            loop.run_until_complete(asyncio.wait([keeper]))
        self._keepers.clear()


def driver_of(engine: AsyncEngine | sa.Engine) -> Driver | None:
    """The registry's row for an engine's URL (None for a driver sqla-bench does not know)."""
    drivername = core_engine(engine).url.drivername
    is_sync = not isinstance(engine, AsyncEngine)
    return next((d for d in DRIVERS.values()
                 if d.scheme == drivername and d.is_sync == is_sync), None)


async def read_server(engine: AsyncEngine | sa.Engine) -> dict[str, str]:
    """The server's product and version, over one of the engine's connections."""
    if isinstance(engine, AsyncEngine):
        async with engine.connect() as conn:
            return await conn.run_sync(server_info)
    with engine.connect() as sync_conn:
        return server_info(sync_conn)
