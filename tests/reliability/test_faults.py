"""Faults during a run: Ctrl-C, a server that drops the benchmark's connections, a
variant that raises or returns other data. Finished cases stay in a valid results file,
the run says what happened, and the exit status is not 0 (issue 7)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench.results import file as results
from tests.reliability.clihelp import REPO, cli

FIXTURES = str(REPO / "tests" / "fixtures_scenarios")


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_finished_cases(path, count: int, proc: subprocess.Popen, limit: float = 120):
    """Poll the results file until it holds `count` cases (a hang guard, not a timing)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if len(json.loads(path.read_text())["cases"]) >= count:
                return
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no {count} finished cases within {limit} s")


# 12 ------------------------------------------------------------------------------------
def test_ctrl_c_keeps_finished_cases_and_exits_130(tmp_path):
    out = tmp_path / "run.json"
    proc = _start("run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}",
                  "--scenario", "raw_queries", "--param", "ops=50", "--param", "users=200",
                  "--rounds", "40", "--warmup", "0", "--output", str(out))
    _wait_for_finished_cases(out, 2, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    doc = results.load(out)  # valid, current schema
    assert doc["run_status"] == "interrupted"
    assert len(doc["cases"]) >= 2
    assert all(c["status"] in ("ok", "skipped") for c in doc["cases"])
    assert f"interrupted after {len(doc['cases'])} of " in stderr
    assert str(out) in stderr
    assert "stopping after the round in flight" in stderr
    leftover = subprocess.run(  # the interrupted case's tables were dropped on the way out
        [sys.executable, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("
         "\"SELECT group_concat(name) FROM sqlite_master WHERE type='table' AND "
         "name LIKE 'sqlab_%' AND name != 'sqlab_registry'\").fetchone()[0])",
         str(tmp_path / "db.sqlite3")], capture_output=True, text=True)
    assert leftover.stdout.strip() == "None"
    assert not list(tmp_path.glob("db.sqlite3.sqlab_run_*"))  # nor the run's own file


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    out = tmp_path / "run.json"
    # Rounds of 1,000 lazy loads take a while: the second Ctrl-C must not wait for one.
    proc = _start("run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}",
                  "--scenario", "loading", "--param", "parents=5,1000", "--param", "children=1",
                  "--rounds", "20", "--warmup", "0", "--output", str(out))
    _wait_for_finished_cases(out, 5, proc)  # the parents=5 point is done
    time.sleep(0.5)  # now inside a long round at parents=1000
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    doc = results.load(out)
    assert doc["run_status"] == "interrupted"
    assert [c["params"]["parents"] for c in doc["cases"]] == [5] * 5


# Server lost ------------------------------------------------------------------------------
@pytest.fixture
def scratch_postgres_db(postgres_url):
    """A database of the test's own, so killing its backends touches nobody else."""
    name = f"sqlab_fault_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(postgres_url)
    dsn = dict(host=admin_url.host, port=admin_url.port or 5432, user=admin_url.username,
               password=admin_url.password, dbname=admin_url.database)
    with psycopg.connect(**dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name), dsn, name
    finally:
        with psycopg.connect(**dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_server_dropping_connections_mid_run_is_recorded(scratch_postgres_db, tmp_path):
    url, dsn, name = scratch_postgres_db
    out = tmp_path / "run.json"
    proc = _start("run", "--driver", "asyncpg", "--url", url.render_as_string(False),
                  "--scenario", "raw_queries", "--param", "query=select_1",
                  "--param", "ops=100,101,102", "--param", "users=200", "--rounds", "100",
                  "--warmup", "0", "--output", str(out))
    # Three points of four cases; a point is written when it finishes: kill during the second.
    _wait_for_finished_cases(out, 4, proc)
    killed = 0
    with psycopg.connect(**dsn, autocommit=True) as admin:
        # Drop the benchmark's connections (only the scratch database's backends) once,
        # while the second point sets up or runs (each takes seconds), then let it go on.
        while proc.poll() is None and not killed:
            killed += len(admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall())
            time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=300)
    assert killed >= 1
    assert "Traceback" not in stderr
    assert proc.returncode == 1, stderr
    doc = results.load(out)  # valid to the end
    assert doc["run_status"] == "complete"
    statuses = [c["status"] for c in doc["cases"]]
    assert len(statuses) == 12  # every planned case is there, none lost
    assert statuses[:4] == ["ok"] * 4  # the point finished before the kills
    first_error = statuses.index("error")
    message = doc["cases"][first_error]["error"]
    # asyncpg words a lost connection several ways; "cannot switch to state" is its
    # protocol refusing the next query after the server's FATAL arrived between two
    assert any(word in message for word in (
        "terminating connection", "connection was closed", "ConnectionDoesNotExist",
        "connection is closed", "cannot switch to state")), message
    # The next point opens new connections: they reconnect and measure again.
    assert statuses[8:] == ["ok"] * 4, statuses


# A scenario that raises or is wrong --------------------------------------------------------
def test_a_variant_that_raises_or_is_wrong_is_recorded_and_the_run_goes_on(tmp_path):
    out = tmp_path / "run.json"
    proc = cli("run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}",
               "--scenarios-path", FIXTURES, "--scenario", "runner_probe", "--rounds", "2",
               "--warmup", "0", "--output", str(out))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = results.load(out)
    cases = {c["variant"]: c for c in doc["cases"]}
    assert cases["raises"]["status"] == "error"
    assert "RuntimeError: deliberate failure in a variant" in cases["raises"]["error"]
    assert cases["off_by_one"]["status"] == "wrong"
    assert cases["after_failure"]["status"] == "ok"
    assert "2 of 5 cases failed or were wrong" in proc.stderr
    assert "WRONG" in proc.stdout and "ERROR" in proc.stdout  # the summary table says so
