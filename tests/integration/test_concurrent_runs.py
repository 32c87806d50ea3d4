"""Runs that share a database do not destroy each other (issue 27): each works in its own
namespace, claimed race-free in the registry; a killed run's leftovers go with the next
run; the plug-in's pytest-xdist workers each have their own. Real servers, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.db import namespace, registry
from bench.db.database import REGISTRY_TABLE, make_sync_engine
from bench.db.drivers import DRIVERS
from tests.reliability.clihelp import REPO
from tests.reliability.scratch import scratch_database

pytestmark = pytest.mark.server

SYNC_SCHEME = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql",
               "sqlite": "sqlite+pysqlite"}
BACKEND_OF = {"asyncpg": "postgresql", "asyncmy": "mysql", "aiosqlite": "sqlite"}


@pytest.fixture
def shared_database(request, tmp_path) -> Iterator[sa.URL]:
    """An empty database (no registry yet), driverless: a scratch one on the server of
    the test's backend, or a SQLite file."""
    backend = request.param
    if backend == "sqlite":
        yield sa.make_url(f"sqlite:///{tmp_path / 'shared.sqlite3'}")
        return
    server = request.getfixturevalue("postgres_url" if backend == "postgresql" else "mysql_url")
    with scratch_database(server) as url:
        yield url


def _start_run(driver: str, url: sa.URL, out: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "bench.cli", "run", "--driver", driver,
               "--url", url.render_as_string(hide_password=False), "--scenario", "loading",
               "--profile", "quick", "--output", str(out), *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=out.parent)


def _claims(url: sa.URL) -> list[registry.Claim]:
    return [claim for claim, _ in registry.runs(url)]


def _namespaces_on_server(url: sa.URL) -> set[str]:
    """The namespaces that exist in the database of `url` (schemas, databases, files)."""
    backend = namespace.backend_of(url)
    if backend == "sqlite":
        return {p.name.rsplit(".", 1)[-1] for p in Path(str(url.database)).parent.glob("*")
                if namespace.is_name(p.name.rsplit(".", 1)[-1])}
    engine = sa.create_engine(url.set(drivername=SYNC_SCHEME[backend]))
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_schema_names()
    finally:
        engine.dispose()
    return {n for n in names if namespace.is_name(n)}


@pytest.mark.parametrize(("driver", "shared_database"),
                         [(d, b) for d, b in BACKEND_OF.items()], indirect=["shared_database"])
def test_two_concurrent_runs_on_one_database_both_succeed(driver, shared_database, tmp_path):
    outs = [tmp_path / "a" / "run.json", tmp_path / "b" / "run.json"]
    for out in outs:
        out.parent.mkdir()
    runs = [_start_run(driver, shared_database, out, "--rounds", "5") for out in outs]
    finished = [proc.communicate(timeout=600) for proc in runs]
    for proc, (_, stderr) in zip(runs, finished, strict=True):
        assert proc.returncode == 0, stderr[-2000:]
    for out in outs:
        doc = json.loads(out.read_text())
        assert [c["status"] for c in doc["cases"]] == ["ok"] * 5
        # the namespace is in nothing a user compares
        assert namespace.NAME_PREFIX not in out.read_text()
    assert _claims(shared_database) == []  # both released what they claimed
    if namespace.backend_of(shared_database) != "mysql":  # MySQL's are server-wide: others'
        assert _namespaces_on_server(shared_database) == set()


@pytest.mark.parametrize("shared_database", ["postgresql", "mysql", "sqlite"], indirect=True)
def test_runs_claiming_at_the_same_instant_on_an_empty_database_all_succeed(shared_database):
    """No registry yet: four runs create it and claim at once; none fails, each its own."""
    start = threading.Barrier(4)
    claimed: list[registry.Namespace | None] = []
    errors: list[BaseException] = []

    def one() -> None:
        start.wait()
        try:
            claimed.append(registry.claim(shared_database, say=lambda _line: None))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    names = {c.name for c in claimed if c is not None}
    assert len(names) == 4
    assert {c.namespace for c in _claims(shared_database)} == names
    if namespace.backend_of(shared_database) != "sqlite":  # a file appears on first connect
        assert names <= _namespaces_on_server(shared_database)
    for c in claimed:
        assert c is not None
        registry.release(c)
    assert _claims(shared_database) == []
    assert not names & _namespaces_on_server(shared_database)


@pytest.mark.parametrize(("driver", "shared_database"),
                         [("asyncpg", "postgresql"), ("asyncmy", "mysql"),
                          ("aiosqlite", "sqlite")], indirect=["shared_database"])
def test_a_killed_runs_leftovers_are_dropped_by_the_next_run(driver, shared_database, tmp_path):
    (tmp_path / "killed").mkdir()
    (tmp_path / "next").mkdir()
    victim = _start_run(driver, shared_database, tmp_path / "killed" / "run.json",
                        "--rounds", "500")
    try:
        deadline = time.monotonic() + 120
        while not (claims := _claims_if_any(shared_database)):  # its namespace, claimed
            assert victim.poll() is None, victim.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the run never claimed its namespace"
            time.sleep(0.2)
        (left,) = claims
        _wait_for_tables(shared_database, left.namespace, deadline)  # mid-point
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=60)
    (gone,) = _claims(shared_database)
    assert gone.pid == victim.pid and gone.namespace == left.namespace
    survivor = _start_run(driver, shared_database, tmp_path / "next" / "run.json",
                          "--rounds", "2")
    _, stderr = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if "dropped the tables of a run" in line]
    assert len(lines) == 1 and left.namespace in lines[0] and str(victim.pid) in lines[0]
    assert _claims(shared_database) == []
    assert left.namespace not in _namespaces_on_server(shared_database)
    doc = json.loads((tmp_path / "next" / "run.json").read_text())
    assert {c["status"] for c in doc["cases"]} == {"ok"}


def _claims_if_any(url: sa.URL) -> list[registry.Claim]:
    try:
        return _claims(url)
    except Exception:  # noqa: BLE001 - the SQLite file or the registry is not there yet
        return []


def _wait_for_tables(url: sa.URL, name: str, deadline: float) -> None:
    """Until the run's namespace holds its loading tables (the point is under way)."""
    inside = namespace.apply(url, name)
    driver = next(d for d in DRIVERS.values()
                  if d.is_sync and d.backend == namespace.backend_of(url))
    engine = make_sync_engine(driver, inside.set(drivername=driver.scheme))  # follows it
    try:
        while True:
            with engine.connect() as conn:
                if "sqlab_posts" in sa.inspect(conn).get_table_names():
                    return
            assert time.monotonic() < deadline, "the run never created its tables"
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_a_live_runs_namespace_is_never_a_leftover(postgres_url):
    """clean and the next claim leave a live run's namespace alone."""
    with scratch_database(postgres_url) as url:
        with registry.for_run(url, say=lambda _line: None) as run_url:
            said: list[str] = []
            assert registry.clean(url, say=said.append) == [] and said == []
            other = registry.claim(url, say=said.append)
            assert other is not None and said == []
            assert {c.namespace for c in _claims(url)} == {
                run_url.query[namespace.SCHEMA_KEY], other.name}
            registry.release(other)
        assert _claims(url) == []


PLUGIN_BENCHMARKS = """
import sqlalchemy as sa

META = sa.MetaData()
ITEMS = sa.Table("items", META, sa.Column("id", sa.Integer, primary_key=True))


def measure(sqla_engine, async_benchmark, rows):
    async def fill():  # every round: the table afresh, with this test's own row count
        async with sqla_engine.begin() as conn:
            await conn.run_sync(META.drop_all)
            await conn.run_sync(META.create_all)
            await conn.execute(ITEMS.insert(), [{"id": i} for i in range(1, rows + 1)])

    counted = []

    async def count():
        async with sqla_engine.connect() as conn:
            counted.append(
                (await conn.execute(sa.select(sa.func.count()).select_from(ITEMS))).scalar())

    async_benchmark(count, rounds=5, before_round=fill)
    # a worker sharing the table would have refilled it with its own count
    assert counted == [rows] * len(counted)


async def drop(sqla_engine):
    async with sqla_engine.begin() as conn:
        await conn.run_sync(META.drop_all)
"""


def _plugin_test(number: int) -> str:
    return textwrap.dedent(f"""
    def test_items_{number}(sqla_engine, async_benchmark, sqla_loop):
        measure(sqla_engine, async_benchmark, {10 + number})
        sqla_loop.run_until_complete(drop(sqla_engine))
    """)


def test_plugin_benchmarks_under_pytest_xdist_each_worker_in_its_namespace(
        postgres_url, mysql_url, tmp_path):
    pytest.importorskip("xdist")
    with scratch_database(postgres_url) as pg, scratch_database(mysql_url) as my:
        body = PLUGIN_BENCHMARKS + "".join(_plugin_test(n) for n in range(8))
        (tmp_path / "test_items.py").write_text(body)
        env = {**os.environ, "PYTHONPATH": str(REPO),
               "BENCH_POSTGRES_URL": pg.render_as_string(hide_password=False),
               "BENCH_MYSQL_URL": my.render_as_string(hide_password=False)}
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "-q",
             "--sqla-driver", "asyncpg,asyncmy", "test_items.py"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert "16 passed" in proc.stdout
        for url in (pg, my):  # every worker released its namespace, nothing in the user's area
            assert _claims(url) == []
            engine = sa.create_engine(url.set(drivername=SYNC_SCHEME[namespace.backend_of(url)]))
            try:
                assert "items" not in sa.inspect(engine).get_table_names()
            finally:
                engine.dispose()
    assert REGISTRY_TABLE == "sqlab_registry"


def test_a_user_who_may_not_create_tables_gets_one_line(postgres_url, tmp_path):
    """PostgreSQL 15+: a plain role may not create in the public schema of a database it
    does not own; the run stops before anything, in one line, exit 2."""
    import psycopg

    from tests.reliability.clihelp import assert_one_line_error, cli

    role = f"sqlab_nocreate_{os.getpid()}"
    with scratch_database(postgres_url) as url:
        admin = dict(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database)
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        try:
            proc = cli("run", "--driver", "asyncpg", "--url",
                       url.set(username=role).render_as_string(hide_password=False),
                       "--scenario", "loading", "--output", str(tmp_path / "run.json"))
            assert_one_line_error(proc, "cannot record this run in sqlab_registry",
                                  "permission denied")
        finally:
            with psycopg.connect(**admin, autocommit=True) as conn:
                conn.execute(f'DROP OWNED BY "{role}"')
            with psycopg.connect(**{**admin, "dbname": sa.make_url(postgres_url).database},
                                 autocommit=True) as conn:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')
