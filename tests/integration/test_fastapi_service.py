"""fastapi_service on every async driver: a real uvicorn process per case, the same answers
from both loading strategies, N+1 visible in the server's statement count, the app's routes,
and no server left behind (no process of its group, port free), also when a case fails."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bench.api.service import Service
from scenarios import fastapi_service, models
from tests.integration.runhelp import ASYNC_DRIVERS, cases_by_variant, run_family, url_for

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = str(ROOT / "tests" / "fixtures_scenarios")
PAGE = fastapi_service.PAGE


def _live_group_members(pgid: int) -> list[int]:
    """Processes of the group that are not zombies, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _uvicorn_children(parent: int | None = None) -> list[int]:
    """Live child processes of `parent` (this test process) running uvicorn."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[1] == str(parent or os.getpid()) and fields[0] != "Z" and b"uvicorn" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _assert_server_gone(case: dict) -> None:
    assert _live_group_members(case["extra"]["server_pgid"]) == [], "a server process is left"
    assert _uvicorn_children() == []
    with socket.socket() as sock:  # the port is free again: binding it works
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", case["extra"]["server_port"]))


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_service_under_load_on_every_driver(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "fastapi_service", tmp_path,
                     overrides={"concurrency": [4], "requests": [8], "users": [30]}, rounds=2)
    cases = cases_by_variant(doc)
    assert set(cases) == {"selectinload", "lazy_n_plus_1"}
    # one page of PAGE users: selectinload 2 statements, lazy 1 + one per user
    for name, statements in (("selectinload", 2), ("lazy_n_plus_1", 1 + PAGE)):
        case = cases[name]
        assert case["status"] == "ok", (name, case["error"])
        extra = case["extra"]
        assert extra["errors"] == 0 and "first_error" not in extra
        assert extra["statements_per_request"] == statements
        assert case["statements_per_op"] == statements
        assert case["throughput_per_s"] > 0  # the load alone: /_stats is read after the round
        latency = extra["latency_ns"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
        assert extra["result_items"] == 8
        _assert_server_gone(case)
    # both ok means the runner found the answers equal; the digests say so too
    assert cases["selectinload"]["extra"]["result_digest"] == \
        cases["lazy_n_plus_1"]["extra"]["result_digest"]


def test_mixed_routes_counted_over_two_workers(tmp_path):
    doc = run_family("aiosqlite", f"sqlite:///{tmp_path / 'db.sqlite3'}", "fastapi_service",
                     tmp_path, rounds=2, overrides={
                         "concurrency": [4], "requests": [8], "users": [30], "workers": [2],
                         "route": ["mix"]})
    cases = cases_by_variant(doc)
    # the mix in turn: GET user (1), user with posts (2 either way), page of users (1),
    # page with posts (2, or 1 + PAGE lazily)
    for name, per_four in (("selectinload", 1 + 2 + 1 + 2), ("lazy_n_plus_1", 1 + 2 + 1 + 11)):
        case = cases[name]
        assert case["status"] == "ok", (name, case["error"])
        assert case["extra"]["errors"] == 0
        assert case["extra"]["statements_per_request"] == per_four / 4
        assert case["extra"]["server_workers_seen"] == 2  # counted in both processes
        _assert_server_gone(case)


def test_the_apps_routes(tmp_path):
    """Every route of the app, straight over HTTP, with its statement count."""
    database = tmp_path / "app.sqlite3"
    engine = sa.create_engine(f"sqlite:///{database}")
    models.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(models.users), [models.user_row(i) for i in (1, 2, 3)])
        conn.execute(sa.insert(models.posts), [models.post_row(i, 1) for i in (1, 2)])
    engine.dispose()
    service = Service(
        fastapi_service.APP,
        {"SQLAB_APP_URL": f"sqlite+aiosqlite:///{database}", "SQLAB_APP_POOL_SIZE": "2"},
        workers=1, secrets=[])

    started = {}

    async def exercise() -> None:
        service.start()
        started["pgid"] = service.proc.pid
        try:
            async with httpx.AsyncClient(base_url=service.base_url) as client:
                await service.wait_ready(client)

                async def call(method: str, path: str, statements: int, **kw) -> httpx.Response:
                    await client.post("/_stats/reset")
                    response = await client.request(method, path, **kw)
                    assert (await client.get("/_stats")).json()["statements"] == statements, path
                    return response

                created = await call("POST", "/users", 1,
                                     json={"username": "new", "email": "new@example.com"})
                assert created.status_code == 201
                assert created.json() == {"id": 4, "username": "new", "email": "new@example.com"}
                got = await call("GET", "/users/4", 1)
                assert got.json()["username"] == "new"
                assert (await call("GET", "/users/99", 1)).status_code == 404
                page = await call("GET", "/users", 1, params={"limit": 2, "offset": 1})
                assert [u["id"] for u in page.json()] == [2, 3]
                assert (await call("GET", "/users", 0, params={"limit": 0})).status_code == 422
                one = await call("GET", "/users/1/with-posts", 2)
                assert [p["id"] for p in one.json()["posts"]] == [1, 2]
                with_posts = await call("GET", "/users/with-posts", 2, params={"limit": 3})
                assert [len(u["posts"]) for u in with_posts.json()] == [2, 0, 0]
        finally:
            await service.stop()

    asyncio.run(exercise())
    _assert_server_gone({"extra": {"server_pgid": started["pgid"],
                                   "server_port": service.port}})


def test_failing_cases_still_stop_their_server(tmp_path):
    doc = run_family("aiosqlite", f"sqlite:///{tmp_path / 'db.sqlite3'}", "broken_service",
                     tmp_path, scenarios_path=[FIXTURES], rounds=1)
    cases = cases_by_variant(doc)
    for case in cases.values():
        assert case["status"] == "error", case["variant"]
        assert "case_teardown_error" not in case["extra"]
        _assert_server_gone(case)  # two workers each time, and all gone
    assert "deliberate failure while the service runs" in cases["fails_while_serving"]["error"]
    # the master killed mid-round: its orphaned workers went on serving, and were stopped
    assert "the service stopped during the round" in cases["killed_mid_round"]["error"]
    broken = cases["broken_setting"]["error"]
    assert "the service failed to start" in broken and "SQLAB_APP_LOADING" in broken
    unreachable = cases["unreachable_database"]["error"]
    assert "the service failed to start" in unreachable
    results_text = Path(tmp_path / "broken_service_aiosqlite.json").read_text()
    assert "hidden-pw-8d1f" not in results_text


def test_the_server_stops_itself_when_the_harness_is_killed(tmp_path):
    """SIGKILL leaves the harness no chance to stop its server: the server notices."""
    cli = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "run", "--driver", "aiosqlite",
         "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}", "--scenario", "fastapi_service",
         "--param", "concurrency=1", "--rounds", "1000", "--quiet",
         "--output", str(tmp_path / "run.json")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (servers := _uvicorn_children(cli.pid)):
            assert cli.poll() is None and time.monotonic() < deadline, "no server started"
            time.sleep(0.1)
    finally:
        cli.kill()
        cli.wait()
    deadline = time.monotonic() + 20
    while _live_group_members(servers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _live_group_members(servers[0]) == [], "the server outlived its harness"


def test_load_from_two_processes_on_one_service(postgres_url, tmp_path):
    """--processes 2: the coordinator starts one server per case, both workers load it
    with their half of the requests; the server's statement count covers both."""
    output = tmp_path / "two.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--driver", "asyncpg", "--url", postgres_url,
         "--scenario", "fastapi_service", "--param", "concurrency=2", "--param", "requests=8",
         "--param", "users=30", "--processes", "2", "--rounds", "2", "--warmup", "1",
         "--quiet", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cases = cases_by_variant(json.loads(output.read_text()))
    for name, statements in (("selectinload", 2), ("lazy_n_plus_1", 1 + PAGE)):
        case = cases[name]
        assert case["status"] == "ok", case["error"]
        assert case["extra"]["statements_per_request"] == statements
        assert [w["operations"] for w in case["extra"]["workers"]] == [8, 8]
        assert case["extra"]["latency_ns"]["count"] == 16
        _assert_server_gone(case)
    assert cases["selectinload"]["extra"]["result_digest"] == \
        cases["lazy_n_plus_1"]["extra"]["result_digest"]


def test_a_running_service_named_by_service_url_serves_both_variants(tmp_path):
    """--service-url: no server is started; the one given, started by hand on the run's
    --namespace (SQLite: the file beside the named one), answers each variant's loading
    strategy, chosen per request (X-Sqlab-Loading)."""
    database = tmp_path / "db.sqlite3"
    service = Service(fastapi_service.APP,
                      {"SQLAB_APP_URL": f"sqlite+aiosqlite:///{database}.sqlab_run_svc",
                       "SQLAB_APP_POOL_SIZE": "2"}, workers=1, secrets=[])

    async def serve_a_run() -> subprocess.CompletedProcess:
        service.start()
        try:
            async with httpx.AsyncClient(base_url=service.base_url) as client:
                await service.wait_ready(client)
            return await asyncio.to_thread(subprocess.run, [
                sys.executable, "-m", "bench.cli", "run", "--driver", "aiosqlite",
                "--url", f"sqlite:///{database}", "--scenario", "fastapi_service",
                "--param", "concurrency=2", "--param", "requests=6", "--param", "users=30",
                "--service-url", service.base_url, "--namespace", "svc",
                "--rounds", "1", "--warmup", "0",
                "--quiet", "--output", str(tmp_path / "run.json")],
                cwd=ROOT, capture_output=True, text=True, timeout=180)
        finally:
            await service.stop()

    proc = asyncio.run(serve_a_run())
    assert proc.returncode == 0, proc.stderr
    cases = cases_by_variant(json.loads((tmp_path / "run.json").read_text()))
    assert cases["selectinload"]["extra"]["statements_per_request"] == 2
    assert cases["lazy_n_plus_1"]["extra"]["statements_per_request"] == 1 + PAGE
    for case in cases.values():
        assert "server_pgid" not in case["extra"]  # it started none
