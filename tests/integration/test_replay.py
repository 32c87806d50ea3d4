"""Capture and replay on real applications: the fastapi_service app under HTTP load,
replayed through asyncpg, psycopg and aiopg at two pool sizes and two RTTs; and the
project's own pytest-benchmark suite on aiosqlite, captured and replayed. Also what a
statement the server refuses, or a target without the tables, does to a replay."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.api import capture, capture_unit
from bench.cli import main
from bench.replay.workload import load_workload
from tests.integration import replay_helpers as app

ROOT = Path(__file__).resolve().parents[2]
PG_DRIVERS = ("asyncpg", "psycopg", "aiopg")
ROUNDS = 3


def _replay(workload: Path, out: Path, *args: str) -> dict:
    code = main(["replay", str(workload), "--output", str(out), "--quiet",
                 "--rounds", str(ROUNDS), *args])
    assert code == 0
    return json.loads(out.read_text())


@pytest.mark.server
def test_fastapi_workload_replays_through_every_postgres_driver(postgres_url, tmp_path):
    url = make_url(postgres_url)
    sync_url = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    with app.seeded(sync_url):
        _capture_and_replay_the_app(url, sync_url, postgres_url, tmp_path)


def _capture_and_replay_the_app(url: sa.URL, sync_url: str, postgres_url: str,
                                tmp_path: Path) -> None:
    workload = tmp_path / "fastapi.jsonl.gz"
    async_url = url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    asyncio.run(app.serve_and_load(async_url, app.requests_for(60), 6, workload))
    app.forget_created(sync_url)  # the target is the database as the capture found it

    captured = load_workload(workload)
    assert not captured.truncated
    names = Counter(u.name for u in captured.units)
    assert names["GET /users/{user_id}"] == 12 and names["POST /users"] == 12
    assert len(captured.units) == 60  # every request one unit, nothing else

    doc = _replay(workload, tmp_path / "replay.json", "--driver", ",".join(PG_DRIVERS),
                  "--url", postgres_url, "--param", "pool_size=2,4", "--rtt", "0,1ms")
    per_unit = captured.statements / len(captured.units)
    cases = doc["cases"]
    assert len(cases) == len(PG_DRIVERS) * 2 * 2 * 3  # drivers x pools x RTTs x forms
    for case in cases:
        replay = case["extra"]["replay"]
        assert case["status"] == "ok", case["error"]
        assert replay["units"] == ROUNDS * len(captured.units)  # every unit, every round
        assert replay["failures"] == 0
        assert replay["rows_checked"] > 0 and replay["rows_mismatched"] == 0
        assert replay["statements_per_unit"] == pytest.approx(per_unit)
        assert set(replay["unit_types"]) == set(names)
        assert case["params"]["pool_size"] in (2, 4) and case["rtt_ms"] in (0.0, 1.0)
    ratios = doc["replay"]["driver_ratios"]
    # every form x pool x RTT, each pair of the three drivers, with an interval
    assert len(ratios) == 3 * 2 * 2 * 3
    for ratio in ratios:
        assert ratio["ci95_low"] <= ratio["units_per_s_ratio"] <= ratio["ci95_high"]
    assert subprocess.run([sys.executable, "-m", "bench.cli", "report",
                           str(tmp_path / "replay.json"), "--output", str(tmp_path / "html")],
                          capture_output=True, cwd=ROOT).returncode == 0


@pytest.mark.server
def test_a_refused_statement_and_missing_tables_are_counted_not_raised(postgres_url,
                                                                       tmp_path):
    """A statement the server refuses is counted with its first error and the unit goes
    on; the user's data is untouched (each unit rolled back)."""
    url = make_url(postgres_url)
    async_url = url.set(drivername="postgresql+asyncpg")
    sync = sa.create_engine(url.set(drivername="postgresql+psycopg"))
    with sync.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS sqlab_replay_t")
        conn.exec_driver_sql("CREATE TABLE sqlab_replay_t (id int primary key, v text)")
        conn.exec_driver_sql("INSERT INTO sqlab_replay_t VALUES (1, 'a'), (2, 'b')")
    workload = tmp_path / "w.gz"

    async def make() -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(async_url)
        with capture(engine, workload):
            for i in range(4):
                with capture_unit("job"):
                    async with engine.begin() as conn:
                        await conn.execute(sa.text("UPDATE sqlab_replay_t SET v = :v "
                                                   "WHERE id = 1"), {"v": f"x{i}"})
                        await conn.execute(sa.text("SELECT * FROM sqlab_replay_t"))
                        await conn.execute(sa.text("DELETE FROM sqlab_replay_t WHERE id = 2"))
        await engine.dispose()

    asyncio.run(make())
    with sync.begin() as conn:  # as before the capture; and one table the replay lacks
        conn.exec_driver_sql("UPDATE sqlab_replay_t SET v = 'a' WHERE id = 1")
        conn.exec_driver_sql("INSERT INTO sqlab_replay_t VALUES (2, 'b')")
        conn.exec_driver_sql("ALTER TABLE sqlab_replay_t RENAME COLUMN v TO w")
    doc = _replay(workload, tmp_path / "r.json", "--driver", "asyncpg,psycopg",
                  "--url", postgres_url, "--param", "pool_size=2")
    for case in doc["cases"]:
        replay = case["extra"]["replay"]
        assert case["status"] == "ok"
        assert replay["failures"] == ROUNDS * 4  # the UPDATE of a column that is gone
        (failed,) = replay["failed_statements"]
        assert "UPDATE" in failed["sql"] and "column" in failed["first_error"]
        assert replay["units"] == ROUNDS * 4  # ... and every unit went on after it
    with sync.begin() as conn:
        assert conn.exec_driver_sql("SELECT id, w FROM sqlab_replay_t ORDER BY id").all() == \
            [(1, "a"), (2, "b")]  # rolled back: untouched
        conn.exec_driver_sql("DROP TABLE sqlab_replay_t")
    # a target without the captured tables: every statement a counted failure, exit 0
    doc = _replay(workload, tmp_path / "r2.json", "--driver", "asyncpg", "--url",
                  postgres_url, "--form", "raw")
    assert doc["cases"][0]["extra"]["replay"]["failures"] == ROUNDS * 4 * 3
    sync.dispose()


def test_the_projects_own_benchmark_suite_captured_on_aiosqlite_replays(tmp_path):
    """pytest --sqla-capture on tests/benchmarks (aiosqlite), then a replay of it: every
    test one unit, no statement fails, every row count as captured."""
    workload = tmp_path / "suite.jsonl.gz"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/benchmarks/test_scenarios.py", "--sqla-driver", "aiosqlite",
         "--benchmark-disable", "-k", "loading or crud or bulk_insert",
         "--sqla-capture", str(workload)],
        cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
    captured = load_workload(workload)
    tests = [line for line in run.stdout.splitlines() if "passed" in line]
    assert tests and not captured.truncated
    assert all(u.name.startswith("tests/benchmarks/test_scenarios.py::") for u in captured.units)
    target = tmp_path / "target.sqlite3"
    doc = _replay(workload, tmp_path / "r.json", "--driver", "aiosqlite", "--url",
                  f"sqlite:///{target}", "--param", "pool_size=1")
    for case in doc["cases"]:
        replay = case["extra"]["replay"]
        assert replay["units"] == ROUNDS * len(captured.units)
        assert replay["failures"] == 0, replay["failed_statements"][:1]
        assert replay["rows_checked"] > 0 and replay["rows_mismatched"] == 0
        assert replay["statements_per_unit"] == pytest.approx(
            captured.statements / len(captured.units))
