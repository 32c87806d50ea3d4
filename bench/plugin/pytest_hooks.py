"""pytest plug-in: pytest-benchmark for async SQLAlchemy, done right.

Registered through the `pytest11` entry point, so its fixtures exist wherever
sqla-bench is installed; it imports nothing heavy until a fixture is used, so every
other pytest session in the environment starts as fast as without it.

- `async_benchmark`: like `benchmark`, for coroutine functions and scenario variants
  (bench.plugin.async_benchmark does the work). In a plain `def` test `async_benchmark(fn)`
  runs the rounds; in an `async def` test (pytest-asyncio, anyio) `await
  async_benchmark(fn)` runs them in the test's own loop.
- `sqla_engine`: an AsyncEngine per selected driver; a test using it runs once per
  driver (`sqla_driver`, ids = driver names). bench.plugin.engines does the work.
- `sqla_loop`: one event loop for the session's plain `def` tests, as a service has one
  for its lifetime.

Options: --sqla-profile quick|standard|full (parameter sizes), --sqla-loop
asyncio|uvloop, --sqla-driver NAME (repeatable or comma-separated; default: every
driver, and for sqla_engine every async driver whose server answers), --sqla-seed N,
--sqla-capture PATH (record every statement the session sends through any engine into a
workload file for `sqla-bench replay`, each test one unit named by its node id;
--sqla-capture-redact redacts parameter values).
At the end of the session, a table per driver of each function benchmark's statements
and Python calls per round and its ratio to its reference.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from bench.results.records import PROFILES  # names only: SQLAlchemy is not imported

# The sqla_engine fixture's engines, per test: async_benchmark counts statements on them.
ENGINES = pytest.StashKey[list[Any]]()
# Each measured function benchmark's row of the end-of-session table.
ROWS = pytest.StashKey[list[dict[str, Any]]]()
# The drivers sqla_engine runs on, and those left out with why (found once per session).
ENGINE_DRIVERS = pytest.StashKey[tuple[list[str], dict[str, str]]]()
# --sqla-capture: the running capture (bench.api.capturing.Capture) of the session.
CAPTURE = pytest.StashKey[Any]()

# pytest's own failure for an async def test that no plug-in runs.
NOT_RUN = "async def functions are not natively supported"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sqla-bench")
    group.addoption("--sqla-profile", default="quick", choices=PROFILES,
                    help="scenario parameter sizes for the benchmarks (default: quick)")
    group.addoption("--sqla-loop", default="asyncio", choices=("asyncio", "uvloop"),
                    help="event loop of plain def tests' async benchmarks (default: asyncio)")
    group.addoption("--sqla-driver", action="append", default=[],
                    help="benchmark only these drivers (repeatable or comma-separated, "
                         "e.g. asyncpg,psycopg; default: all, and for sqla_engine every "
                         "async driver whose server answers)")
    group.addoption("--sqla-seed", type=int, default=0,
                    help="seed of the interleaved round order and of scenario data")
    group.addoption("--sqla-capture", metavar="PATH", default=None,
                    help="record every statement sent through any engine into this workload "
                         "file (each test one unit) for `sqla-bench replay`; it holds the "
                         "data the tests send unless --sqla-capture-redact")
    group.addoption("--sqla-capture-redact", action="store_true",
                    help="with --sqla-capture: parameter values keep type and length only")
    group.addoption("--sqla-measure", default="time", choices=("time", "instructions"),
                    help="instructions: run the session again under callgrind, one child "
                         "per memory layout, and record instructions per op of every "
                         "async_benchmark in extra_info (needs valgrind; default: time)")
    group.addoption("--sqla-layouts", type=int, default=3,
                    help="memory layouts counted with --sqla-measure instructions (default 3)")
    group.addoption("--sqla-explain", action="store_true",
                    help="scenario benchmarks: EXPLAIN each statement after the rounds and "
                         "record the plans' scans and their fingerprint in extra_info "
                         "(plan_scans, plan_fingerprint)")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--sqla-measure instructions: this process runs the counting children, no test."""
    if config.getoption("--sqla-measure", default="time") != "instructions":
        return None
    from bench.measure.instructions import counting, unavailable

    if counting.in_child():
        return None  # a child: run the tests, counted
    reason = unavailable()
    if reason is not None:
        raise pytest.UsageError(reason.replace("--measure", "--sqla-measure"))
    from bench.measure.instructions.layouts import check_layouts

    layouts = config.getoption("--sqla-layouts")
    try:
        check_layouts(layouts)  # the layouts' own bound: one per padding it has
    except ValueError as exc:
        raise pytest.UsageError(f"--sqla-{exc}") from None
    from pathlib import Path

    from bench.plugin.counted import run_counted

    output = config.getoption("benchmark_json", default=None)
    return run_counted(list(config.invocation_params.args), selected_drivers(config),
                       Path(output) if output else None, layouts, config.rootpath)


def pytest_configure(config: pytest.Config) -> None:
    from bench.plugin.forked import MARKER_HELP

    config.addinivalue_line("markers", MARKER_HELP)
    if config.getoption("--sqla-driver", default=None):
        selected_drivers(config)  # an unknown name stops the session before collection
    path = config.getoption("--sqla-capture", default=None)
    if path:
        from bench.api.capturing import Capture

        try:
            running = Capture(None, path, redact=config.getoption("--sqla-capture-redact"))
        except OSError as exc:
            raise pytest.UsageError(f"--sqla-capture cannot write {path}: {exc.strerror}"
                                    ) from None
        running.start()
        config.stash[CAPTURE] = running


def pytest_unconfigure(config: pytest.Config) -> None:
    running = config.stash.get(CAPTURE, None)
    if running is not None:
        running.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """A counting child runs each group of tests in a process forked from one prepared
    parent (bench.plugin.forked), so no test's count carries another's history."""
    from bench.measure.instructions import counting

    if not counting.in_child() or not hasattr(os, "fork"):
        return None
    from bench.plugin.forked import run_forked

    return run_forked(session, selected_drivers(session.config), ROWS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Generator[None, object, object]:
    """Under --sqla-capture, each test (setup, call, teardown) is one unit of work."""
    if item.config.stash.get(CAPTURE, None) is None:
        return (yield)
    from bench.api.capturing import capture_unit

    with capture_unit(item.nodeid):
        return (yield)


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the namespaces this process claimed (each xdist worker has its own, and a
    worker ends without pytest_unconfigure)."""
    import sys

    engines = sys.modules.get("bench.plugin.engines")  # imported only if a test used one
    if engines is not None:
        engines.release_namespaces()


@pytest.hookimpl(optionalhook=True)  # a pytest-benchmark hook: absent without it
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]
                                         ) -> None:
    """Saved runs record what they ran on, beside pytest-benchmark's own machine info.
    (Each benchmark's server goes in its extra_info: servers are met per test.)"""
    import sqlalchemy

    from bench.db.drivers import DRIVERS

    machine_info["sqlalchemy"] = sqlalchemy.__version__
    machine_info["sqla_bench_drivers"] = {
        d.name: d.version() for d in DRIVERS.values() if d.installed()
    }
    machine_info["sqla_bench_loop"] = config.getoption("--sqla-loop")


def selected_drivers(config: pytest.Config) -> list[str]:
    """--sqla-driver names, checked against the registry (default: every driver)."""
    from bench.db.drivers import DRIVERS, UnknownDriver, get_driver
    from bench.plugin.engines import split_names

    names = split_names(config.getoption("--sqla-driver")) or list(DRIVERS)
    for name in names:
        try:
            get_driver(name)
        except UnknownDriver as exc:
            raise pytest.UsageError(f"--sqla-driver: {exc}") from None
    return names


def _engine_drivers(config: pytest.Config) -> tuple[list[str], dict[str, str]]:
    if ENGINE_DRIVERS not in config.stash:
        from bench.plugin.engines import engine_drivers, split_names

        named = split_names(config.getoption("--sqla-driver"))
        config.stash[ENGINE_DRIVERS] = engine_drivers(named)
    return config.stash[ENGINE_DRIVERS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test using sqla_engine becomes one test per driver, its id the driver's name."""
    if "sqla_driver" not in metafunc.fixturenames:
        return
    names, left_out = _engine_drivers(metafunc.config)
    if names:
        metafunc.parametrize("sqla_driver", names, ids=names, indirect=True)
    else:
        why = "; ".join(f"{n}: {reason}" for n, reason in left_out.items())
        metafunc.parametrize("sqla_driver", [pytest.param(
            None, marks=pytest.mark.skip(reason=f"no async driver to run on ({why})"))],
            ids=["no-driver"], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a counting child, a test timed with pytest-benchmark's own `benchmark` fixture
    has nothing to count (only async_benchmark brackets its rounds) and would run its
    rounds under emulation for nothing: it is skipped, saying so."""
    from bench.measure.instructions import counting

    if not counting.in_child():
        return
    skip = pytest.mark.skip(reason="timed with pytest-benchmark's benchmark fixture: "
                                   "nothing to count (--sqla-measure instructions counts "
                                   "async_benchmark)")
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "benchmark" in names and "async_benchmark" not in names:
            item.add_marker(skip)


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    """Say which drivers sqla_engine tests left out, and why (URLs masked)."""
    if ENGINE_DRIVERS not in config.stash:
        return []
    names, left_out = config.stash[ENGINE_DRIVERS]
    lines = [f"sqla_engine drivers: {', '.join(names) or 'none'}"]
    lines += [f"  left out {name}: {reason}" for name, reason in left_out.items()]
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """One-line failures for the two ways an async benchmark goes unrun."""
    bench: Any = getattr(item, "funcargs", {}).get("async_benchmark")
    try:
        result = yield
    except pytest.fail.Exception as exc:
        if not (NOT_RUN in str(exc) and getattr(bench, "async_test", False) and not bench.used):
            raise
        bench.mark_used()  # pytest-benchmark's "fixture was not used" would only repeat it
    else:
        unawaited = getattr(bench, "unawaited", lambda: None)()
        if unawaited is None:
            return result
        pytest.fail(unawaited, pytrace=False)
    pytest.fail(f"{item.name} is async def but no async plug-in runs it: mark it "
                "@pytest.mark.asyncio (pytest-asyncio; or set asyncio_mode = auto) or "
                "@pytest.mark.anyio (anyio), or make it a plain def test calling "
                "async_benchmark(fn) without await", pytrace=False)
    if unawaited is not None:
        pytest.fail(unawaited, pytrace=False)
    return result


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own table
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    rows = config.stash.get(ROWS, [])
    if not rows:
        return
    from bench.plugin.counts_table import counts_table

    terminalreporter.write_sep("-", "sqla-bench: counts per round and paired ratios")
    for line in counts_table(rows):
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def sqla_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for the session, as a service has one for its lifetime."""
    loop: asyncio.AbstractEventLoop
    if request.config.getoption("--sqla-loop") == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture(scope="module")
def sqla_open_point(sqla_loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """The scenario point a module's plain def tests share (bench.plugin.open_point),
    closed on the session loop when the module's tests are done."""
    from bench.plugin.open_point import OpenPoint

    open_point = OpenPoint()
    yield open_point
    sqla_loop.run_until_complete(open_point.close())


@pytest.fixture
def async_benchmark(benchmark: Any, sqla_loop: asyncio.AbstractEventLoop,
                    sqla_open_point: Any, request: pytest.FixtureRequest) -> Any:
    """Like `benchmark`, for coroutine functions and scenario variants: called in a plain
    def test, awaited in an async def test."""
    from bench.plugin.async_benchmark import AsyncBenchmark

    rows = request.config.stash.setdefault(ROWS, [])
    return AsyncBenchmark(benchmark, sqla_loop, request.config.getoption("--sqla-seed"),
                          async_test=inspect.iscoroutinefunction(request.function),
                          engines=request.node.stash.setdefault(ENGINES, []),
                          on_result=rows.append,
                          explain=request.config.getoption("--sqla-explain"),
                          # captured, each test is a unit replayed on its own: it sets its
                          # point up itself rather than share one an earlier test made
                          open_point=None if CAPTURE in request.config.stash
                          else sqla_open_point)


@pytest.fixture
def sqla_driver(request: pytest.FixtureRequest) -> str:
    """The driver of this test's row: set by the plug-in's parametrization."""
    name: str = request.param
    return name


@pytest.fixture
def sqla_engine(sqla_driver: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """An AsyncEngine on `sqla_driver`, made before the test and disposed after it (in the
    loop that opened its connections); async_benchmark counts statements on it."""
    from bench.db.database import DatabaseError
    from bench.db.drivers import DriverNotInstalled, get_driver
    from bench.plugin.engines import LoopBoundEngine, engine_url

    driver = get_driver(sqla_driver)
    try:
        tmp = request.getfixturevalue("tmp_path") if driver.backend == "sqlite" else None
        url = engine_url(driver, tmp)
        bound = LoopBoundEngine(driver, url)
    except (DatabaseError, DriverNotInstalled) as exc:
        pytest.fail(f"sqla_engine[{sqla_driver}]: {exc}", pytrace=False)
    request.node.stash.setdefault(ENGINES, []).append(bound.engine)
    try:
        yield bound.engine
    finally:
        bound.close()
