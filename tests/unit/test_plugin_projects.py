"""The pytest plug-in inside a user's project: the docs' samples run verbatim with no
async plug-in, under pytest-asyncio (strict and auto) and under anyio, on SQLite; misuses
fail with one line. (tests/integration/test_plugin_drivers.py: the same against servers.)"""

from __future__ import annotations

import re

import pytest

from bench.db.drivers import async_drivers
from bench.plugin.counts_table import counts_table
from tests.plugin_project import (
    NO_ASYNC_PLUGINS,
    assert_measured,
    benchmarks,
    doc_samples,
    failure_messages,
    run,
    write_samples,
)

pytest_plugins = ["pytester"]

SQLITE = ("--sqla-driver", "aiosqlite", "--benchmark-json=out.json")

OWN_ENGINE_TEST = """
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


def test_own_engine(async_benchmark, sqla_loop, tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'own.sqlite3'}")

    async def two_statements():
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            return await conn.scalar(text("SELECT 2"))

    assert async_benchmark(two_statements, rounds=5, engines=[engine]) == 2
    sqla_loop.run_until_complete(engine.dispose())


def test_no_engine(async_benchmark):
    async def nothing():
        return "done"

    assert async_benchmark(nothing, rounds=3) == "done"
"""


def test_the_docs_hold_every_sample_the_tests_run():
    assert set(doc_samples()) == {"models.py", "test_asyncio_strict.py", "pytest.ini",
                                  "test_asyncio_auto.py", "test_anyio.py", "test_plain.py",
                                  # run by tests/integration/test_readme_examples.py
                                  "count_users.py", "driver_row.py"}


def test_plain_def_tests_without_an_async_plugin(pytester):
    write_samples(pytester, "models.py", "test_plain.py")
    pytester.makepyfile(test_own_engine=OWN_ENGINE_TEST)
    result = run(pytester, *NO_ASYNC_PLUGINS, *SQLITE)
    assert result.ret == 0, result.stdout.str()
    by_name = {b["name"]: b for b in benchmarks(pytester)}
    assert_measured(by_name["test_item_by_name[aiosqlite]"], driver="aiosqlite", rounds=20,
                    statements=1)
    assert by_name["test_item_by_name[aiosqlite]"]["params"] == {"sqla_driver": "aiosqlite"}
    # an engine the user made and passed: its statements counted, its driver named
    assert_measured(by_name["test_own_engine"], driver="aiosqlite", rounds=5, statements=2)
    # no engine at all: no statement count claimed
    assert by_name["test_no_engine"]["extra_info"]["statements_per_op"] is None


def test_pytest_asyncio_strict_mode_with_a_reference(pytester):
    write_samples(pytester, "models.py", "test_asyncio_strict.py")
    result = run(pytester, "-p", "no:anyio", "-o", "asyncio_mode=strict", *SQLITE)
    assert result.ret == 0, result.stdout.str()
    (bench,) = benchmarks(pytester)
    assert bench["name"] == "test_item_by_id[aiosqlite]"
    assert_measured(bench, driver="aiosqlite", rounds=20, statements=1)
    info = bench["extra_info"]
    assert info["reference"] == "core_select"
    assert info["paired"]["reference"] == "core_select"
    assert len(info["paired"]["ratios"]) == 20  # one per block: the two ran interleaved
    assert info["paired"]["ci95_low"] <= info["paired"]["median"] <= info["paired"]["ci95_high"]
    assert info["server"]["product"] == "SQLite"
    # the plug-in's table: counts per round and the ratio, under the driver
    text = result.stdout.str()
    assert re.search(r"^aiosqlite on SQLite ", text, re.M)
    assert re.search(r"test_item_by_id\[aiosqlite\]\s+1\s+\d+\s+[\d.]+× \([\d.]+–[\d.]+\) "
                     r"of core_select", text)


def test_pytest_asyncio_auto_mode(pytester):
    write_samples(pytester, "models.py", "pytest.ini", "test_asyncio_auto.py",
                  "test_asyncio_strict.py")  # auto mode runs strict mode's tests as well
    result = run(pytester, "-p", "no:anyio", *SQLITE)
    assert result.ret == 0, result.stdout.str()
    assert re.search(r"^asyncio: mode=(Mode\.)?auto\b", result.stdout.str(), re.M | re.I)
    by_name = {b["name"]: b for b in benchmarks(pytester)}
    assert set(by_name) == {"test_count_items[aiosqlite]", "test_item_by_id[aiosqlite]"}
    for bench in by_name.values():
        assert_measured(bench, driver="aiosqlite", rounds=20, statements=1)


def test_anyio_and_drivers_whose_server_does_not_answer(pytester, monkeypatch):
    """No --sqla-driver: the servers (here at closed ports) are asked and left out, with
    why, never with their password; SQLite always runs."""
    monkeypatch.setenv("BENCH_POSTGRES_URL", "postgresql://bench:pg-secret@127.0.0.1:1/db")
    monkeypatch.setenv("BENCH_MYSQL_URL", "mysql://bench:my-secret@127.0.0.1:1/db")
    write_samples(pytester, "models.py", "test_anyio.py")
    result = run(pytester, "-p", "no:asyncio", "--benchmark-json=out.json")
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == 0, text
    (bench,) = benchmarks(pytester)
    assert bench["name"] == "test_first_ten[aiosqlite]"
    assert_measured(bench, driver="aiosqlite", rounds=20, statements=1)
    assert "sqla_engine drivers: aiosqlite" in text
    for name in async_drivers():
        if name != "aiosqlite":
            assert re.search(rf"left out {name}: cannot connect to \w+ at 127\.0\.0\.1:1", text)
    assert "secret" not in text


def test_a_sync_driver_is_no_sqla_engine_row(pytester):
    write_samples(pytester, "models.py", "test_plain.py")
    result = run(pytester, *NO_ASYNC_PLUGINS, "--sqla-driver", "sqlite3", "-rs")
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(skipped=1)
    assert "sqlite3: a sync driver: sqla_engine gives AsyncEngines" in result.stdout.str()


def test_an_unknown_driver_stops_the_session_with_one_line(pytester):
    write_samples(pytester, "models.py", "test_plain.py")
    result = run(pytester, *NO_ASYNC_PLUGINS, "--sqla-driver", "aiosqlite,nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith(
        "ERROR: --sqla-driver: unknown driver 'nosuch'; known drivers: asyncpg")


MISUSE_CONFTEST = """
import inspect
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    '''For @pytest.mark.foreign tests: a runner of its own without asyncio, as trio is.'''
    if pyfuncitem.get_closest_marker("foreign") is None:
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    try:
        pyfuncitem.obj(**args).send(None)
    except StopIteration:
        pass
    return True
"""

MISUSE_TESTS = """
import asyncio
import pytest


async def work():
    await asyncio.sleep(0)
    return 1


@pytest.mark.asyncio
async def test_awaited(async_benchmark):
    assert await async_benchmark(work) == 1


@pytest.mark.asyncio
async def test_not_awaited(async_benchmark):
    async_benchmark(work)


@pytest.mark.asyncio
async def test_awaited_twice(async_benchmark):
    pending = async_benchmark(work)
    await pending
    await pending


@pytest.mark.asyncio
async def test_coroutine_passed(async_benchmark):
    await async_benchmark(work())


async def test_no_plugin_runs_it(async_benchmark):
    assert await async_benchmark(work) == 1


@pytest.mark.foreign
async def test_no_asyncio_loop(async_benchmark):
    await async_benchmark(work)
"""


def test_misuses_fail_with_one_line_saying_which_form_to_use(pytester):
    pytester.makeconftest(MISUSE_CONFTEST)
    pytester.makepyfile(test_misuse=MISUSE_TESTS)
    result = run(pytester, "-p", "no:anyio", "-o", "asyncio_mode=strict",
                 "-o", "markers=foreign", "--benchmark-disable", "--junitxml=out.xml")
    text = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1, failed=5)
    messages = failure_messages(pytester)
    assert messages == {
        "test_not_awaited": "Failed: async_benchmark(work) was never awaited, so nothing was "
                            "timed: in an async def test write `await async_benchmark(work)`",
        "test_awaited_twice": "RuntimeError: async_benchmark(work) was awaited already: a "
                              "benchmark runs once, so await it once "
                              "(`result = await async_benchmark(work)`)",
        "test_coroutine_passed": "TypeError: async_benchmark takes the coroutine function, "
                                 "not a coroutine: write async_benchmark(fn), not "
                                 "async_benchmark(fn())",
        "test_no_plugin_runs_it": "Failed: test_no_plugin_runs_it is async def but no async "
                                  "plug-in runs it: mark it @pytest.mark.asyncio "
                                  "(pytest-asyncio; or set asyncio_mode = auto) or "
                                  "@pytest.mark.anyio (anyio), or make it a plain def test "
                                  "calling async_benchmark(fn) without await",
        "test_no_asyncio_loop": "RuntimeError: async_benchmark(work) needs an asyncio event "
                                "loop and none is running in this async def test: run it "
                                "under pytest-asyncio or anyio's asyncio backend, or make it "
                                "a plain def test calling async_benchmark(work) without await",
    }
    # nothing beside those lines: no "never awaited" coroutine, no "fixture not used"
    assert "coroutine 'work' was never awaited" not in text
    assert "was not used at all" not in text
    assert "not natively supported" not in text


def test_counts_table_is_per_driver_in_run_order():
    rows = [
        {"name": "test_a[asyncpg]", "driver": "asyncpg", "calls_per_op": 812,
         "server": {"product": "PostgreSQL", "version": "17.2"},
         "extra": {"statements_per_round": 2},
         "paired": {"reference": "core", "median": 1.234, "ci95_low": 1.1, "ci95_high": 1.4}},
        {"name": "test_b", "calls_per_op": 3, "extra": {}, "paired": None},
        {"name": "test_c[asyncpg]", "driver": "asyncpg", "calls_per_op": 40,
         "server": {"product": "PostgreSQL", "version": "17.2"},
         "extra": {"statements_per_round": 1.5}, "paired": None},
    ]
    assert counts_table(rows) == [
        "asyncpg on PostgreSQL 17.2",
        "  benchmark        statements/round  Python calls/round  vs reference",
        "  test_a[asyncpg]                 2                 812  1.23× (1.10–1.40) of core",
        "  test_c[asyncpg]               1.5                  40  –",
        "(no engine watched)",
        "  benchmark  statements/round  Python calls/round  vs reference",
        "  test_b                    –                   3  –",
    ]
