"""pytest plug-in: pytest-benchmark for async SQLAlchemy, done right.

pytest-benchmark times a callable; handed a coroutine function it times only the
creation of a coroutine (its issue #66). Here one event loop lives for the whole
session, and each round is `loop.run_until_complete(...)` inside
`benchmark.pedantic`, so the awaited work is what gets timed. Engines, tables and
seed data are made before the timing, per benchmark; a family's before_round runs
untimed before every round through pedantic's `setup`.

Options: --sqla-profile quick|standard|full (parameter sizes), --sqla-loop
asyncio|uvloop, --sqla-driver NAME (repeatable; default: every driver).
Registered through the `pytest11` entry point, so the fixtures exist wherever
sqla-bench is installed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from bench.database import (
    core_engine,
    create_owned_tables,
    dispose_engine,
    drop_owned_tables,
    make_engine,
    resolve_url,
    server_info,
)
from bench.drivers import DRIVERS, Driver, get_driver
from bench.runner import normalized_data
from bench.scenario import Context, Family, Variant

DEFAULT_CONNECT_TIMEOUT = 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sqla-bench")
    group.addoption("--sqla-profile", default="quick", choices=("quick", "standard", "full"),
                    help="scenario parameter sizes for the benchmarks (default: quick)")
    group.addoption("--sqla-loop", default="asyncio", choices=("asyncio", "uvloop"),
                    help="event loop for async benchmarks (default: asyncio)")
    group.addoption("--sqla-driver", action="append", default=[], choices=list(DRIVERS),
                    help="benchmark only this driver (repeatable; default: all)")


@pytest.hookimpl(optionalhook=True)  # a pytest-benchmark hook: absent without it
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Saved runs record what they ran on, beside pytest-benchmark's own machine info."""
    machine_info["sqlalchemy"] = sa.__version__
    machine_info["sqla_bench_drivers"] = {
        d.name: d.version() for d in DRIVERS.values() if d.installed()
    }
    machine_info["sqla_bench_servers"] = dict(getattr(config, "_sqla_servers", {}))
    machine_info["sqla_bench_loop"] = config.getoption("--sqla-loop")


@pytest.fixture(scope="session")
def sqla_loop(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoop:
    """One event loop for the session, as a service has one for its lifetime."""
    if request.config.getoption("--sqla-loop") == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def reject_coroutine_function(fn: Any) -> None:
    """The mistake pytest-benchmark does not catch: timing coroutine creation."""
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutine(fn):
        raise TypeError(
            f"{getattr(fn, '__name__', fn)!r} is a coroutine: benchmark() would time only its "
            "creation, not the awaited work; use the async_benchmark fixture instead"
        )


class AsyncBenchmark:
    """Runs awaited work through pytest-benchmark's pedantic mode on the session loop."""

    def __init__(self, benchmark: Any, loop: asyncio.AbstractEventLoop, config: pytest.Config):
        self.benchmark = benchmark
        self.loop = loop
        self.config = config

    def __call__(self, fn: Callable[[], Any], *, rounds: int = 10, warmup_rounds: int = 1,
                 before_round: Callable[[], Any] | None = None) -> Any:
        """Time `fn` (a coroutine function, awaited each round); returns its last result.

        `before_round`, if given, runs untimed before every round (sync or async)."""
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"async_benchmark needs a coroutine function, got {fn!r}; "
                            "use the benchmark fixture for plain functions")
        return self.benchmark.pedantic(
            lambda: self.loop.run_until_complete(fn()),
            setup=self._setup(before_round), rounds=rounds, warmup_rounds=warmup_rounds,
            iterations=1)

    def sync(self, fn: Callable[[], Any], *, rounds: int = 10, warmup_rounds: int = 1,
             before_round: Callable[[], Any] | None = None) -> Any:
        """Time a plain function (the sync baseline drivers) the same way."""
        reject_coroutine_function(fn)
        return self.benchmark.pedantic(fn, setup=self._setup(before_round), rounds=rounds,
                                       warmup_rounds=warmup_rounds, iterations=1)

    def _setup(self, before_round: Callable[[], Any] | None) -> Callable[[], None] | None:
        if before_round is None:
            return None

        def setup() -> None:
            outcome = before_round()
            if inspect.isawaitable(outcome):
                self.loop.run_until_complete(outcome)

        return setup

    def variant(self, family: Family, variant_name: str, driver_name: str, url: str | None,
                params: dict[str, Any], *, rounds: int = 10, warmup_rounds: int = 1) -> Any:
        """Benchmark one variant of a scenario family, its setup untimed; returns its data."""
        driver = get_driver(driver_name)
        variant = family.variants_for(driver)[variant_name]
        resolved = resolve_url(driver, url)

        async def prepare() -> tuple[Context, Any]:
            session = ScenarioSession(family, variant, driver, resolved, params)
            ctx = await session.__aenter__()
            return ctx, session

        ctx, session = self.loop.run_until_complete(prepare())
        try:
            before = (lambda: family.before_round_fn(ctx)) if family.before_round_fn else None
            statements: list[int] = []

            def counted(result: Any) -> Any:
                statements.append(ctx.statements)
                return result

            ops = family.ops(params)
            # pytest-benchmark reads the group when the first round starts: set it first.
            self.benchmark.group = family.name
            self.benchmark.extra_info.update({
                "driver": driver.name, "backend": driver.backend, "sync": driver.is_sync,
                "server_version": session.server.get("version"), "scenario": family.name,
                "variant": variant.name, "params": dict(params), "unit": family.unit,
                "ops_per_round": ops,
            })
            if variant.is_sync:
                def run_sync() -> Any:
                    ctx.statements = 0
                    return counted(variant.fn(ctx))

                data = self.sync(run_sync, rounds=rounds, warmup_rounds=warmup_rounds,
                                 before_round=before)
            else:
                async def run_async() -> Any:
                    ctx.statements = 0
                    return counted(await variant.fn(ctx))

                data = self(run_async, rounds=rounds, warmup_rounds=warmup_rounds,
                            before_round=before)
            self.benchmark.extra_info["statements_per_op"] = (
                round(statements[-1] / ops, 6) if statements else None)
            self.config._sqla_servers[driver.backend] = session.server  # type: ignore[attr-defined]
            return normalized_data(family, data)
        finally:
            self.loop.run_until_complete(session.__aexit__(None, None, None))


class ScenarioSession:
    """One family at one parameter point on one driver, ready to run a variant: tables
    created, setup run, an engine with a statement counter (and a raw connection)."""

    def __init__(self, family: Family, variant: Variant, driver: Driver, url: sa.URL,
                 params: dict[str, Any]) -> None:
        self.family, self.variant, self.driver, self.url = family, variant, driver, url
        self.params = dict(params)
        self.server: dict[str, str] = {}
        self._stack: Any = None

    async def __aenter__(self) -> Context:
        self._stack = self._open()
        return await self._stack.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.__aexit__(*exc)

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[Context]:
        family, driver = self.family, self.driver
        hooks_driver = get_driver(driver.async_sibling) if driver.is_sync else driver
        hooks_url = self.url.set(drivername=hooks_driver.scheme)
        setup_engine = make_engine(hooks_driver, hooks_url, pool_pre_ping=True)
        options = family.engine_options(self.params) if family.engine_options else {}
        options = {k: v for k, v in {**options, **self.variant.engine_options}.items()
                   if v is not None}
        engine = make_engine(driver, self.url, **options)
        ctx = Context(driver=driver, url=self.url, params=self.params, engine=setup_engine,
                      state={"seed": 0}, connect_timeout=DEFAULT_CONNECT_TIMEOUT)
        try:
            async with setup_engine.connect() as conn:
                self.server = await conn.run_sync(server_info)
                if family.tables is not None:
                    await conn.run_sync(create_owned_tables, family.tables)
            if family.setup_fn is not None:
                await family.setup_fn(ctx)

            def count(*_args: Any) -> None:
                ctx.statements += 1

            sa.event.listen(core_engine(engine), "before_cursor_execute", count)
            if driver.is_sync:
                ctx.sync_engine = engine
            else:
                ctx.engine = engine
            ctx.variant = self.variant.name
            if self.variant.uses_raw:
                ctx.raw = await ctx.open_raw()
            if family.case_setup_fn is not None:
                await family.case_setup_fn(ctx)
            yield ctx
        finally:
            if family.case_teardown_fn is not None:
                await family.case_teardown_fn(ctx)
            for raw in ctx._opened_raw:
                closing = raw.close()
                if inspect.isawaitable(closing):
                    await closing
            await dispose_engine(engine)
            ctx.engine = setup_engine
            try:
                if family.teardown_fn is not None:
                    await family.teardown_fn(ctx)
            finally:
                if family.tables is not None:
                    async with setup_engine.connect() as conn:
                        await conn.run_sync(drop_owned_tables, family.tables)
                await dispose_engine(setup_engine)


@pytest.fixture
def async_benchmark(benchmark: Any, sqla_loop: asyncio.AbstractEventLoop,
                    request: pytest.FixtureRequest) -> AsyncBenchmark:
    """Like `benchmark`, for coroutine functions and scenario variants (see AsyncBenchmark)."""
    if not hasattr(request.config, "_sqla_servers"):
        request.config._sqla_servers = {}  # type: ignore[attr-defined]
    return AsyncBenchmark(benchmark, sqla_loop, request.config)
