"""The case lifecycle: one home for how a round runs, for `sqla-bench run` and pytest.

A *point* is one family at one parameter combination on one driver: its tables are
created and its setup runs once (PointSession). A *case* is one variant at a point:
it opens its engine (with a statement counter) and raw connection, runs the family's
case hooks, and runs rounds: before_round (untimed), the variant's call (timed, with
its CPU time and run-queue wait), stray-task cancellation, after_round (untimed, with
the round's data). Extra untimed rounds count Python calls, peak memory or take a
profile. close() releases everything, also after a failure. The pytest plug-in runs
exactly these rounds, so a benchmark under CI measures the code a CLI run measures.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.api.family import Context, Family, Variant
from bench.api.share import LoadShare
from bench.db.database import (
    DatabaseError,
    checkpoint_own_sqlite,
    core_engine,
    create_owned_tables,
    dispose_engine,
    drop_owned_tables,
    make_engine,
    make_sync_engine,
)
from bench.db.drivers import Driver, get_driver
from bench.db.masking import mask_text
from bench.measure import hdr
from bench.measure.counters import CallCounter, cpu_ns, cpu_wait_ns
from bench.measure.instructions import counting
from bench.measure.instructions.quiet import counting_conditions
from bench.measure.rounds import RoundResult

STRAY_TASK_TIMEOUT = 10.0  # seconds a cancelled stray task gets to unwind


async def timed_call(call: Callable[[], Any], is_sync: bool) -> tuple[Any, int, int, int | None]:
    """Run one call with its wall time, CPU time and run-queue wait; the clocks are read
    outside the wall-time window, so only the call itself is timed."""
    wait0, cpu0 = cpu_wait_ns(), cpu_ns()
    if is_sync:
        start = time.perf_counter_ns()
        data = call()
        wall = time.perf_counter_ns() - start
    else:
        start = time.perf_counter_ns()
        data = await call()
        wall = time.perf_counter_ns() - start
    cpu = cpu_ns() - cpu0
    wait1 = cpu_wait_ns()
    wait = None if wait0 is None or wait1 is None else wait1 - wait0
    return data, wall, cpu, wait


async def measured_call(call: Callable[[], Any], is_sync: bool, timed: bool
                        ) -> tuple[Any, int, int, int | None, str | None]:
    """timed_call, and in a counting child (bench.measure.instructions.counting) a timed
    round's call bracketed by callgrind client requests under the counting conditions;
    the last item is the label of its count, else None."""
    counter = counting.active() if timed else None
    if counter is None:
        data, wall, cpu, wait = await timed_call(call, is_sync)
        return data, wall, cpu, wait, None
    bracketed, label = counter.bracket(call, is_sync)
    with counting_conditions():
        data, wall, cpu, wait = await timed_call(bracketed, is_sync)
    return data, wall, cpu, wait, label


async def cancel_stray_tasks(before: set[asyncio.Task[Any]]) -> int:
    """Cancel tasks started since `before` and still running (asyncio.gather does not cancel
    the siblings of a task that failed): they would go on using the case's engine and hold
    connections or locks into the next round."""
    stray = [t for t in asyncio.all_tasks() - before
             if t is not asyncio.current_task() and not t.done()]
    for task in stray:
        task.cancel()
    if stray:
        await asyncio.wait(stray, timeout=STRAY_TASK_TIMEOUT)
    return len(stray)


def describe_error(exc: BaseException, secrets: list[str | None]) -> str:
    """One line for an error: its type and first line, passwords scrubbed."""
    orig = getattr(exc, "orig", None)
    shown = orig if isinstance(orig, BaseException) else exc
    text = " ".join(str(shown).split("\n")[0].split()) or "(no message)"
    return mask_text(f"{type(shown).__name__}: {text}", secrets)[:500]


def hooks_engine(driver: Driver, url: URL, connect_timeout: float) -> AsyncEngine:
    """The async engine of setup, teardown and round hooks: on a sync driver, its async
    sibling on the same database (hooks are async code, and untimed). pool_pre_ping: a
    connection the server dropped between points is replaced instead of failing setup."""
    if driver.is_sync:
        assert driver.async_sibling is not None
        driver = get_driver(driver.async_sibling)
        url = url.set(drivername=driver.scheme)
    return make_engine(driver, url, connect_timeout=connect_timeout, pool_pre_ping=True)


class PointSession:
    """One family at one parameter point: tables created and setup run on entry, teardown
    and tables dropped on exit (also when the run is stopped). A setup failure is kept in
    `setup_error` for the point's cases; a table we do not own stops the run."""

    def __init__(self, family: Family, params: dict[str, Any], driver: Driver, url: URL, *,
                 setup_engine: AsyncEngine, connect_timeout: float, seed: int,
                 load: LoadShare | None = None, service_url: str | None = None) -> None:
        self.family, self.params, self.driver, self.url = family, dict(params), driver, url
        self.setup_engine = setup_engine
        self.connect_timeout = connect_timeout
        self.load = load or LoadShare()  # the share of the load this process runs
        self.service_url = service_url
        self.state: dict[str, Any] = {"seed": seed}
        self.setup_error: str | None = None
        self.teardown_error: str | None = None
        self.sql_written: dict[str, str] = {}  # ctx.sql() of the point: rendered -> written

    def context(self, engine: AsyncEngine) -> Context:
        return Context(driver=self.driver, url=self.url, params=dict(self.params),
                       engine=engine, state=self.state, connect_timeout=self.connect_timeout,
                       load=self.load, service_url=self.service_url,
                       counted=counting.in_child(), sql_written=self.sql_written)

    def for_driver(self, driver: Driver, url: URL) -> PointSession:
        """Another driver's view of this point (a run of several drivers): the data set up
        once for the backend (its state and setup engine, its setup error) shared, the
        driver and URL its own. Not entered: this session sets up and tears down."""
        view = PointSession(self.family, self.params, driver, url,
                            setup_engine=self.setup_engine, connect_timeout=self.connect_timeout,
                            seed=0, load=self.load, service_url=self.service_url)
        view.state = _state_for(self.state, self.sql_written, driver)
        view.setup_error = self.setup_error
        return view

    async def __aenter__(self) -> PointSession:
        family = self.family
        try:
            if family.tables is not None:
                async with self.setup_engine.connect() as conn:
                    await conn.run_sync(create_owned_tables, family.tables)
            if family.setup_fn is not None:
                await family.setup_fn(self.context(self.setup_engine))
            await checkpoint_own_sqlite(self.setup_engine)
        except DatabaseError:
            await self._teardown()
            raise  # someone else's table: stop the run rather than go on around it
        except Exception as exc:  # noqa: BLE001 - the point's cases record it
            self.setup_error = f"setup failed: {describe_error(exc, [self.url.password])}"
            await self.setup_engine.dispose()  # a connection that broke is not used again
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._teardown()

    async def _teardown(self) -> None:
        try:
            try:
                if self.family.teardown_fn is not None:
                    await self.family.teardown_fn(self.context(self.setup_engine))
            finally:
                if self.family.tables is not None:
                    async with self.setup_engine.connect() as conn:
                        await conn.run_sync(drop_owned_tables, self.family.tables)
        except Exception as exc:  # noqa: BLE001 - measured cases stay; say what was left
            self.teardown_error = describe_error(exc, [self.url.password])
            await self.setup_engine.dispose()


def _state_for(state: dict[str, Any], written: dict[str, str], driver: Driver
               ) -> dict[str, Any]:
    """The point's state as another driver of the backend reads it: raw SQL that setup
    rendered with ctx.sql() (asyncpg's $1) rendered again in this driver's style (%s).
    The same dict when nothing needs it, so the drivers share every value."""
    def render(value: Any) -> Any:
        if isinstance(value, str):
            again = driver.sql(written[value]) if value in written else value
            return value if again == value else again
        if isinstance(value, dict):
            items = {k: render(v) for k, v in value.items()}
            return value if all(items[k] is v for k, v in value.items()) else items
        if type(value) in (list, tuple):  # not a named tuple: its fields are its own
            rendered = [render(v) for v in value]
            same = all(a is b for a, b in zip(rendered, value, strict=True))
            return value if same else type(value)(rendered)
        return value

    if not written:
        return state
    view = render(state)
    return state if view is state else view


class Case:
    """One variant at a point: open() before its first round, close() after its last.

    hooks=False: a load worker's part of a distributed case (bench.scale.distributed), whose
    coordinator runs the case and round hooks once for every worker."""

    def __init__(self, point: PointSession, variant: Variant, *, hooks: bool = True,
                 reconnect: bool = False) -> None:
        self.point = point
        self.family = point.family
        self.variant = variant
        self.hooks = hooks
        # Release the connections after every round, as release_between_rounds does: a run
        # of several drivers sets it (see bench.measure.point.Measuring.reconnect).
        self.reconnect = reconnect
        self._listening = True  # statements of after_round are not the variant's
        self.ctx: Context | None = None
        self.teardown_error: str | None = None
        self._tasks_at_open: set[asyncio.Task[Any]] = set()
        self._cold = False  # connections released: warm them before a measured round
        self._primed = False  # in a counting child: one untimed round under its conditions

    @property
    def name(self) -> str:
        return self.variant.name

    def _engine_options(self) -> dict[str, Any]:
        point = self.point
        options = {
            **(self.family.engine_options(point.params) if self.family.engine_options else {}),
            **self.variant.options_for(point.driver, point.params),
        }
        # A variant removes a family option by setting it to None (NullPool takes no pool_size).
        return {k: v for k, v in options.items() if v is not None}

    async def open(self) -> None:
        point, variant = self.point, self.variant
        self._tasks_at_open = asyncio.all_tasks()
        options = self._engine_options()

        make = make_sync_engine if variant.is_sync else make_engine

        def engine_factory(**extra: Any) -> Any:
            engine = make(point.driver, point.url, connect_timeout=point.connect_timeout,
                          **{**options, **extra})
            event.listen(core_engine(engine), "before_cursor_execute", self._count)
            return engine

        engine = engine_factory()
        if variant.is_sync:
            ctx = point.context(point.setup_engine)  # hooks: the async sibling, not counted
            ctx.opened_sync_engine = engine
        else:
            ctx = point.context(engine)
            ctx.engine_factory = engine_factory
        ctx.variant = variant.name
        ctx.made_engines.append(engine)
        self.ctx = ctx
        if variant.raw:
            ctx.raw_connection = await ctx.open_raw()
        if self.hooks and self.family.case_setup_fn is not None:
            await self.family.case_setup_fn(ctx)

    def _count(self, *_args: Any) -> None:
        assert self.ctx is not None
        if self._listening:
            self.ctx.statements += 1

    def _call(self) -> Any:
        assert self.ctx is not None
        return self.variant.fn(self.ctx)

    async def round(self, timed: bool) -> RoundResult:
        """One round with its hooks. `timed` marks the rounds whose measurements count
        (ctx.timed), as opposed to warmup."""
        if timed:
            await self.warm()
            await self._prime()
        try:
            return await self._round(timed)
        finally:
            await self._release_if_asked()

    async def _round(self, timed: bool) -> RoundResult:
        ctx, family = self.ctx, self.family
        assert ctx is not None
        ctx.timed = timed
        if self.hooks and family.before_round_fn is not None:
            await family.before_round_fn(ctx)
        tasks_before = asyncio.all_tasks()
        ctx.statements = ctx.operations = 0
        data, wall, cpu, wait, label = await measured_call(self._call, self.variant.is_sync,
                                                           timed)
        stray = await cancel_stray_tasks(tasks_before)
        if self.hooks and family.after_round_fn is not None:
            # Its own queries are not the variant's; what it reports with
            # ctx.count_statements is (a server's count, read after the round).
            self._listening = False
            try:
                await family.after_round_fn(ctx, data)
            finally:
                self._listening = True
        ctx.timed = False
        return RoundResult(wall, cpu, wait, ctx.statements, data, stray, ctx.operations,
                           label)

    async def _prime(self) -> None:
        """In a counting child, before the first counted round: one untimed round under the
        counting conditions, so first-time costs (caches, lazily built objects) of that
        state are paid before counting, in every layout alike."""
        if self._primed or counting.active() is None:
            return
        self._primed = True
        with counting_conditions():
            await self._round(timed=False)

    async def warm(self) -> None:
        """After released connections: an untimed round that opens them again."""
        if self._cold:
            self._cold = False
            if self.variant.raw and self.ctx is not None and self.ctx.raw_connection is None:
                self.ctx.raw_connection = await self.ctx.open_raw()
            await self._round(timed=False)

    def histograms(self) -> dict[str, str]:
        """The timed rounds' latencies (ctx.record_latencies), each key an encoded HDR
        histogram."""
        if self.ctx is None:
            return {}
        out = {}
        for key, values in self.ctx.timings().items():
            histogram = hdr.new()
            hdr.record(histogram, values)
            out[key] = hdr.encode(histogram)
        return out

    async def _release_if_asked(self) -> None:
        """Families that cannot hold every variant's connections at once release them after
        each round; the next measured round is preceded by an untimed warm one."""
        ctx = self.ctx
        if ctx is None:
            return
        if not ((self.family.release_between_rounds and not ctx.hold_connections)
                or self.reconnect):
            return
        for pool in ctx.raw_pools.values():
            for conn in pool.connections:
                await close_quietly(conn)
                ctx.opened_raw.remove(conn)
        ctx.raw_pools.clear()
        if ctx.raw_connection is not None:  # reopened by warm()
            await close_quietly(ctx.raw_connection)
            if ctx.raw_connection in ctx.opened_raw:
                ctx.opened_raw.remove(ctx.raw_connection)
            ctx.raw_connection = None
        for engine in ctx.made_engines:
            if isinstance(engine, AsyncEngine):
                await engine.dispose()
            elif isinstance(engine, sa.Engine):
                engine.dispose()
        self._cold = True

    async def extra_round(self, around: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
                          ) -> Any:
        """One more untimed round, its call wrapped by `around` (a profiler, say)."""
        await self.warm()
        ctx = self.ctx
        assert ctx is not None
        if self.hooks and self.family.before_round_fn is not None:
            await self.family.before_round_fn(ctx)
        try:
            return await around(self._awaitable_call)
        finally:
            await self._release_if_asked()

    async def _awaitable_call(self) -> Any:
        outcome = self._call()
        return await outcome if inspect.isawaitable(outcome) else outcome

    async def count_calls(self) -> int:
        """Python function calls of one round (deterministic: see bench.measure.counters)."""
        async def counted(call: Callable[[], Awaitable[Any]]) -> int:
            with CallCounter() as counter:
                await call()
            return counter.calls

        calls: int = await self.extra_round(counted)
        return calls

    async def peak_memory(self) -> int:
        """Peak Python memory of one round (tracemalloc slows the work: never timed)."""
        async def traced(call: Callable[[], Awaitable[Any]]) -> int:
            gc.collect()
            tracemalloc.start()
            try:
                data = await call()
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            del data
            return peak

        peak: int = await self.extra_round(traced)
        return peak

    async def close(self) -> None:
        """Cancel what the case left running, run case_teardown, close its connections and
        dispose its engines; safe on a case that failed half-way through open()."""
        await cancel_stray_tasks(self._tasks_at_open)
        ctx = self.ctx
        if ctx is None:
            return
        for cleanup in ctx.cleanups:
            try:
                await cleanup()
            except Exception:  # noqa: BLE001 - what it closes is gone already
                pass
        ctx.cleanups.clear()
        if self.hooks and self.family.case_teardown_fn is not None:
            try:
                await self.family.case_teardown_fn(ctx)
            except Exception as exc:  # noqa: BLE001 - the measurement stands
                self.teardown_error = describe_error(exc, [self.point.url.password])
        for conn in ctx.opened_raw:
            await close_quietly(conn)
        for engine in ctx.made_engines:
            try:
                await dispose_engine(engine)
            except Exception:  # noqa: BLE001 - a dead server has nothing left to close
                pass


async def close_quietly(conn: Any) -> None:
    try:
        closing = conn.close()
        if inspect.isawaitable(closing):  # the sync baselines' connections close at once
            await closing
    except Exception:  # noqa: BLE001 - a dead connection has nothing left to close
        pass
