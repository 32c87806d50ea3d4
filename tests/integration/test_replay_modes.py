"""Replay's own modes against the local servers: --no-transaction (autocommit units),
--think-time captured, --processes (units spread over worker processes, tallies added)
and the report's replay section built from a real replay's results file."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.api import capture, capture_unit
from bench.cli import main
from bench.replay.sql import is_read_only
from bench.report import write_report

ROUNDS = 2
UNITS = 12
TABLE = "sqlab_replay_modes"


def _capture(url: str, path: Path, statements: list[str], units: int = UNITS,
             pause_s: float = 0.0) -> Path:
    """A workload of `units` units named "job", each the statements in one transaction,
    with `pause_s` of the application's own time between them."""
    async def make() -> None:
        engine = create_async_engine(url)
        with capture(engine, path):
            for _ in range(units):
                with capture_unit("job"):
                    async with engine.begin() as conn:
                        for k, sql in enumerate(statements):
                            if k and pause_s:
                                await asyncio.sleep(pause_s)
                            await conn.exec_driver_sql(sql)
        await engine.dispose()

    asyncio.run(make())
    return path


def _replay(workload: Path, out: Path, *args: str) -> dict:
    code = main(["replay", str(workload), "--output", str(out), "--quiet",
                 "--rounds", str(ROUNDS), "--warmup", "1", *args])
    assert code == 0
    return json.loads(out.read_text())


def _async(postgres_url: str, driver: str = "asyncpg") -> str:
    return make_url(postgres_url).set(drivername=f"postgresql+{driver}").render_as_string(
        hide_password=False)


def test_read_only_statements_are_told_from_writes():
    assert is_read_only("SELECT 1")
    assert is_read_only("  (SELECT a FROM t) UNION (SELECT b FROM u)")
    assert is_read_only("WITH x AS (SELECT 1) SELECT * FROM x")
    assert is_read_only("SELECT 'insert into t' AS s")  # a literal is not looked at
    assert not is_read_only("INSERT INTO t VALUES (1)")
    assert not is_read_only("WITH d AS (DELETE FROM t RETURNING id) SELECT * FROM d")
    assert not is_read_only("SELECT * INTO t2 FROM t")
    assert not is_read_only("SELECT * FROM t FOR UPDATE")
    assert not is_read_only("EXPLAIN ANALYZE UPDATE t SET a = 1")
    assert not is_read_only("SET search_path = x")


@pytest.mark.server
def test_no_transaction_sends_the_statements_alone(postgres_url, tmp_path):
    """Without a transaction a unit costs its statements only (1 command per SELECT 1
    unit, where the default sends BEGIN, SAVEPOINT, ROLLBACK TO and ROLLBACK too), in
    every form; and the statements really run in autocommit: an INSERT stays."""
    workload = _capture(_async(postgres_url), tmp_path / "s1.gz", ["SELECT 1"])
    plain = _replay(workload, tmp_path / "plain.json", "--driver", "asyncpg,psycopg",
                    "--param", "pool_size=2", "--no-transaction")
    wrapped = _replay(workload, tmp_path / "tx.json", "--driver", "asyncpg",
                      "--param", "pool_size=2", "--form", "raw")
    assert plain["replay"]["transaction"] is False
    assert len(plain["cases"]) == 2 * 3
    for case in plain["cases"]:
        replay = case["extra"]["replay"]
        assert case["status"] == "ok", case["error"]
        assert replay["units"] == ROUNDS * UNITS and replay["failures"] == 0
        assert replay["statements_per_unit"] == 1 and replay["commands_per_unit"] == 1
        assert replay["rows_checked"] == ROUNDS * UNITS and replay["rows_mismatched"] == 0
    (case,) = wrapped["cases"]
    assert case["extra"]["replay"]["commands_per_unit"] == 5

    sync = sa.create_engine(make_url(postgres_url).set(drivername="postgresql+psycopg"))
    with sync.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
        conn.exec_driver_sql(f"CREATE TABLE {TABLE} (id serial primary key)")
    try:
        writes = _capture(_async(postgres_url), tmp_path / "w.gz",
                          [f"INSERT INTO {TABLE} DEFAULT VALUES"], units=3)
        with sync.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {TABLE}")
        _replay(writes, tmp_path / "w1.json", "--driver", "asyncpg", "--form", "raw",
                "--url", postgres_url)
        with sync.connect() as conn:  # rolled back by default
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar() == 0
        _replay(writes, tmp_path / "w2.json", "--driver", "psycopg", "--form", "raw",
                "--url", postgres_url, "--no-transaction")
        with sync.connect() as conn:  # autocommit: every insert of every round stays
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar() == \
                (ROUNDS + 1) * 3
    finally:
        with sync.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
        sync.dispose()


@pytest.mark.server
def test_no_transaction_is_refused_for_writes_unless_the_target_is_named(
        postgres_url, tmp_path, capsys):
    workload = tmp_path / "w.gz"
    # the statement fails when captured (no such table): it is captured all the same
    async def make() -> None:
        engine = create_async_engine(_async(postgres_url))
        with capture(engine, workload), capture_unit("job"):
            async with engine.begin() as conn:
                await conn.exec_driver_sql("SELECT 1")
                try:
                    await conn.exec_driver_sql("UPDATE sqlab_no_such_table SET a = 1")
                except Exception:  # noqa: BLE001
                    pass
        await engine.dispose()

    asyncio.run(make())
    code = main(["replay", str(workload), "--driver", "asyncpg", "--no-transaction",
                 "--output", str(tmp_path / "r.json")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--no-transaction" in err and "--url" in err
    assert "UPDATE sqlab_no_such_table" in err and "\n" not in err
    assert not (tmp_path / "r.json").exists()
    assert main(["replay", str(workload), "--driver", "asyncpg", "--no-transaction",
                 "--commit", "--url", postgres_url]) == 2


@pytest.mark.server
def test_captured_think_time_is_waited_between_statements(postgres_url, tmp_path):
    """Units whose application paused 40 ms between two statements: with captured think
    time each replayed unit takes at least that; without, far less."""
    pause = 0.04
    workload = _capture(_async(postgres_url), tmp_path / "think.gz",
                        ["SELECT 1", "SELECT 2"], units=6, pause_s=pause)
    waited = _replay(workload, tmp_path / "a.json", "--driver", "asyncpg", "--form", "raw",
                     "--param", "pool_size=2", "--think-time", "captured")
    direct = _replay(workload, tmp_path / "b.json", "--driver", "asyncpg", "--form", "raw",
                     "--param", "pool_size=2")
    assert waited["replay"]["think_time"] == "captured"
    slow = waited["cases"][0]["extra"]["replay"]["unit_types"]["job"]
    fast = direct["cases"][0]["extra"]["replay"]["unit_types"]["job"]
    assert slow["p50"] >= pause * 1e9 * 0.95
    assert fast["p50"] < pause * 1e9 / 2
    halved = _replay(workload, tmp_path / "c.json", "--driver", "asyncpg", "--form", "raw",
                     "--think-time", "captured", "--speed", "2")
    quick = halved["cases"][0]["extra"]["replay"]["unit_types"]["job"]
    assert pause * 1e9 * 0.45 <= quick["p50"] < slow["p50"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_spread_the_units_and_add_their_tallies(backend, tmp_path, request):
    """Two worker processes replay the units between them: every unit once per round,
    statements per unit as captured, latency histograms added, each worker's share."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
        target = ["--url", f"sqlite:///{tmp_path / 'db.sqlite'}", "--driver", "aiosqlite"]
    else:
        postgres_url = request.getfixturevalue("postgres_url")
        url = _async(postgres_url)
        target = ["--url", postgres_url, "--driver", "asyncpg"]
    workload = _capture(url, tmp_path / "p.gz", ["SELECT 1", "SELECT 2"])
    start = time.monotonic()
    doc = _replay(workload, tmp_path / "p.json", *target, "--processes", "2",
                  "--param", "pool_size=4", "--form", "raw", "--form", "core")
    assert time.monotonic() - start < 300
    assert doc["replay"]["processes"] == 2
    for case in doc["cases"]:
        replay = case["extra"]["replay"]
        assert case["status"] == "ok", case["error"]
        assert replay["units"] == ROUNDS * UNITS and replay["statements_per_unit"] == 2
        assert replay["unit_types"]["job"]["count"] == ROUNDS * UNITS
        assert replay["rows_mismatched"] == 0 and replay["failures"] == 0
        workers = case["extra"]["workers"]
        assert len(workers) == 2
        assert sorted(w["units"] for w in workers) == [ROUNDS * UNITS // 2] * 2
        assert all(w["units_per_s"] > 0 for w in workers)
        assert case["throughput_per_s"] > 0


@pytest.mark.server
def test_the_report_shows_a_replay(postgres_url, tmp_path):
    """The report of a real replay: units/s and decision charts (matplotlib SVG and PNG),
    per-case statements and commands per unit, p50/p99 per unit type, top statements."""
    workload = _capture(_async(postgres_url), tmp_path / "r.gz",
                        ["SELECT 1", "SELECT count(*) FROM pg_class"])
    results = tmp_path / "replay.json"
    doc = _replay(workload, results, "--driver", "asyncpg,psycopg", "--param", "pool_size=2",
                  "--form", "raw", "--form", "core")
    assert len(doc["replay"]["driver_ratios"]) == 2
    index = write_report([results], tmp_path / "html")
    page = index.read_text()
    charts = {p.name for p in (tmp_path / "html" / "charts").iterdir()}
    for kind in ("units", "decisions"):
        assert any(n.startswith("replay-") and n.endswith(f"-{kind}.svg") for n in charts)
        assert any(n.startswith("replay-") and n.endswith(f"-{kind}.png") for n in charts)
    assert "r.gz: units per second" in page and "r.gz: driver decisions" in page
    assert "asyncpg instead of psycopg" in page
    assert "SELECT count(*) FROM pg_class" in page and "Top statements by total time" in page
    assert "p50 / p99 per unit type" in page and "job: " in page
    assert page.count('class="replay-cases"') == 1


@pytest.mark.parametrize("args, said", [
    (["--processes", "0"], "--processes must be between"),
    (["--cluster", "not-an-address"], "--cluster takes a scheduler address"),
    (["--processes", "2", "--cluster", "tcp://127.0.0.1:8786"], "choose one"),
    (["--think-time", "later"], "invalid choice"),
])
def test_bad_spread_and_think_options_are_one_line(args, said, tmp_path, capsys):
    workload = tmp_path / "none.gz"  # refused before the file is read
    assert main(["replay", str(workload), "--driver", "aiosqlite", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and "Traceback" not in err and "\n" not in err


def test_no_transaction_on_aiosqlite_commits_each_statement(tmp_path):
    """aiosqlite's connection in autocommit too (sqlite3 begins before DML by itself
    otherwise): in every form each replayed INSERT stays, and nothing is left open."""
    path = tmp_path / "db.sqlite"
    sync = sa.create_engine(f"sqlite:///{path}")
    with sync.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {TABLE} (id integer primary key)")
    workload = _capture(f"sqlite+aiosqlite:///{path}", tmp_path / "w.gz",
                        [f"INSERT INTO {TABLE} DEFAULT VALUES", f"SELECT count(*) FROM {TABLE}"],
                        units=3)
    with sync.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM {TABLE}")
    doc = _replay(workload, tmp_path / "r.json", "--driver", "aiosqlite", "--url",
                  f"sqlite:///{path}", "--no-transaction", "--param", "pool_size=1")
    for case in doc["cases"]:
        replay = case["extra"]["replay"]
        assert case["status"] == "ok", case["error"]
        assert replay["failures"] == 0 and replay["commands_per_unit"] == 2
    with sync.connect() as conn:  # three forms, warmup and timed rounds, 3 units each
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar() == \
            3 * (ROUNDS + 1) * 3
    sync.dispose()
