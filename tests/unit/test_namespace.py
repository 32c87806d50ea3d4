"""A run's namespace: how it reaches each backend's URL and driver, and when a registry
row is a leftover (issue 27). No database: the servers are in
tests/integration/test_concurrent_runs.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from bench.db import namespace
from bench.db.database import connect_settings, merged_setting
from bench.db.drivers import get_driver
from bench.db.registry import STALE_AFTER_HOURS, Claim


def test_names_are_new_each_time_and_recognised():
    names = {namespace.new_name() for _ in range(100)}
    assert len(names) == 100 and all(namespace.is_name(n) for n in names)
    for not_ours in ("public", "sqlab_users", "sqlab_run_", "sqlab_run_XYZ", "sqlab_run_0; DROP"):
        assert not namespace.is_name(not_ours)


def test_each_backend_carries_the_namespace_in_its_url():
    name = "sqlab_run_0123456789ab"
    pg = namespace.apply(sa.make_url("postgresql+asyncpg://u:pw@h:5432/db"), name)
    assert pg.database == "db" and pg.query[namespace.SCHEMA_KEY] == name
    my = namespace.apply(sa.make_url("mysql+asyncmy://u@h/db"), name)
    assert my.database == name
    lite = namespace.apply(sa.make_url("sqlite+aiosqlite:///results/x.sqlite3"), name)
    assert lite.database == f"results/x.sqlite3.{name}"
    memory = sa.make_url("sqlite+aiosqlite://")
    assert namespace.apply(memory, name) == memory and namespace.shares_nothing(memory)


@pytest.mark.parametrize(("driver", "expected"), [
    ("asyncpg", {"server_settings": {"search_path": "sqlab_run_0123456789ab"}}),
    ("psycopg", {"options": "-c search_path=sqlab_run_0123456789ab"}),
    ("aiopg", {"options": "-c search_path=sqlab_run_0123456789ab"}),
    ("psycopg-sync", {"options": "-c search_path=sqlab_run_0123456789ab"}),
])
def test_a_postgresql_namespace_becomes_each_drivers_own_connect_argument(driver, expected):
    row = get_driver(driver)
    url = namespace.apply(sa.make_url(f"{row.scheme}://u@h/db"), "sqlab_run_0123456789ab")
    plain, connect_args = connect_settings(row, url, 5.0)
    assert namespace.SCHEMA_KEY not in plain.query  # never reaches the driver as such
    assert {k: connect_args[k] for k in expected} == expected


def test_a_familys_own_server_settings_add_to_the_namespaces():
    assert merged_setting({"search_path": "n"}, {"jit": "off"}) == {"search_path": "n",
                                                                    "jit": "off"}
    assert merged_setting("-c search_path=n", "-c jit=off") == "-c search_path=n -c jit=off"
    assert merged_setting(5.0, 10.0) == 10.0


def test_a_bad_schema_key_is_refused_not_sent():
    url = sa.make_url("postgresql+asyncpg://u@h/db?sqlab_schema=public")
    with pytest.raises(ValueError, match="namespace name"):
        namespace.session_settings(url)


def _claim(**changes: object) -> Claim:
    fields = {"namespace": "sqlab_run_0123456789ab", "run_id": "r" * 32,
              "host": socket.gethostname(), "pid": os.getpid(), "started_at": time.time()}
    fields.update(changes)
    return Claim(**fields)  # type: ignore[arg-type]


def test_a_live_run_on_this_host_is_not_a_leftover():
    assert not _claim().gone()


def test_a_dead_pid_on_this_host_is_a_leftover():
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    assert _claim(pid=int(finished.stdout)).gone()


def test_a_pid_now_used_by_a_newer_process_is_a_leftover():
    """The kernel gave the owner's pid to this test's process, started after the row."""
    if not os.path.exists(f"/proc/{os.getpid()}/stat"):
        pytest.skip("process start times are read from /proc")
    assert _claim(started_at=time.time() - 10 * 24 * 3600).gone()


def test_another_hosts_run_is_a_leftover_only_after_the_stated_age():
    now = time.time()
    young = _claim(host="elsewhere.example", pid=1, started_at=now - 3600)
    old = _claim(host="elsewhere.example", pid=1, started_at=now - STALE_AFTER_HOURS * 3600 - 60)
    assert not young.gone(now) and old.gone(now)


def test_an_older_sqla_benchs_registry_is_replaced_and_its_tables_dropped(tmp_path):
    """Before namespaces, tables lived beside sqlab_registry(table_name, created_by)."""
    from bench.db import registry

    url = sa.make_url(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE sqlab_registry (table_name VARCHAR(128) PRIMARY KEY, "
                             "created_by VARCHAR(64) NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE sqlab_users (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE sqlab_posts (id INTEGER PRIMARY KEY, "
                             "user_id INTEGER REFERENCES sqlab_users(id))")
        conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY)")  # not ours
        conn.exec_driver_sql("INSERT INTO sqlab_registry VALUES ('sqlab_users', 'sqla-bench'), "
                             "('sqlab_posts', 'sqla-bench')")
    said: list[str] = []
    with registry.for_run(url, say=said.append):
        pass
    assert len(said) == 1 and "sqlab_posts" in said[0] and "sqlab_users" in said[0]
    assert set(sa.inspect(engine).get_table_names()) == {"sqlab_registry", "users"}
    assert registry.runs(url) == []
    engine.dispose()


def test_a_named_namespace_is_refused_while_a_live_run_holds_it(tmp_path):
    """--namespace LABEL: a service started by hand can be pointed at sqlab_run_LABEL;
    a second run naming it while the first is alive stops in one line, and once the
    first released it the name is free again."""
    from bench.db import registry
    from bench.db.database import DatabaseError

    assert namespace.named("svc") == "sqlab_run_svc" and namespace.is_name("sqlab_run_svc")
    for bad in ("", "Svc", "a-b", "x" * 41, "../x"):
        with pytest.raises(ValueError, match="--namespace takes 1 to 40"):
            namespace.named(bad)
    url = sa.make_url(f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    first = registry.claim(url, name="sqlab_run_svc", say=lambda _line: None)
    assert first is not None
    assert first.url.database == f"{tmp_path / 'shared.sqlite3'}.sqlab_run_svc"
    with pytest.raises(DatabaseError, match="namespace sqlab_run_svc is held by a live run"):
        registry.claim(url, name="sqlab_run_svc", say=lambda _line: None)
    registry.release(first)
    again = registry.claim(url, name="sqlab_run_svc", say=lambda _line: None)
    assert again is not None
    registry.release(again)


@pytest.mark.parametrize("driver_name", ["aiosqlite", "sqlite3"])
def test_a_runs_own_sqlite_file_commits_without_an_fsync_and_the_users_file_is_untouched(
        tmp_path, driver_name):
    """The run's file is made in WAL mode; each of its connections (engine and raw) runs
    with synchronous=NORMAL (1). The user's file keeps SQLite's defaults (delete, FULL=2)."""
    import asyncio

    from bench.db import registry
    from bench.db.database import make_engine, make_sync_engine

    driver = get_driver(driver_name)
    users_file = tmp_path / "app.sqlite3"
    url = sa.make_url(f"{driver.scheme}:///{users_file}")
    claimed = registry.claim(url, say=lambda _line: None)
    assert claimed is not None and namespace.owns_sqlite_file(claimed.url)
    assert not namespace.owns_sqlite_file(url)

    async def pragmas(target: sa.URL) -> list[tuple[str, int]]:
        query = ("PRAGMA journal_mode", "PRAGMA synchronous")
        if driver.is_sync:
            engine = make_sync_engine(driver, target)
            with engine.connect() as conn:
                through_engine = tuple(conn.exec_driver_sql(q).scalar() for q in query)
            engine.dispose()
        else:
            async_engine = make_engine(driver, target)
            async with async_engine.connect() as conn:
                through_engine = tuple([(await conn.exec_driver_sql(q)).scalar() for q in query])
            await async_engine.dispose()
        raw = await driver.open_raw(target, 5.0)
        try:
            rows = [raw.fetch(q) for q in query]
            fetched = [await r if asyncio.iscoroutine(r) else r for r in rows]
        finally:
            closing = raw.close()
            if asyncio.iscoroutine(closing):
                await closing
        return [through_engine, tuple(f[0][0] for f in fetched)]

    try:
        assert asyncio.run(pragmas(claimed.url)) == [("wal", 1), ("wal", 1)]
        assert asyncio.run(pragmas(url)) == [("delete", 2), ("delete", 2)]
    finally:
        registry.release(claimed)


def test_what_setup_wrote_leaves_the_write_ahead_log_before_the_rounds(tmp_path):
    """A point's seed data is checkpointed into the run's file, untimed: the log is empty
    when the rounds start, so no checkpoint of it falls inside one."""
    import asyncio
    from pathlib import Path

    from bench.db import registry
    from bench.db.database import checkpoint_own_sqlite, make_engine

    driver = get_driver("aiosqlite")
    claimed = registry.claim(sa.make_url(f"{driver.scheme}:///{tmp_path / 'app.sqlite3'}"),
                             say=lambda _line: None)
    assert claimed is not None
    log = Path(f"{claimed.url.database}-wal")

    async def seed_then_checkpoint() -> tuple[int, int]:
        engine = make_engine(driver, claimed.url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE sqlab_seed (id INTEGER PRIMARY KEY, v TEXT)")
            await conn.exec_driver_sql(
                "INSERT INTO sqlab_seed (v) SELECT hex(randomblob(200)) FROM "
                "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
                " SELECT i FROM n)")
        seeded = log.stat().st_size
        await checkpoint_own_sqlite(engine)
        after = log.stat().st_size
        await engine.dispose()
        return seeded, after

    try:
        seeded, after = asyncio.run(seed_then_checkpoint())
        assert seeded > 100_000 and after == 0
    finally:
        registry.release(claimed)
