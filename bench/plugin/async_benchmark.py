"""The `async_benchmark` fixture's work: timed async rounds, fed to pytest-benchmark.

pytest-benchmark times a callable; handed a coroutine function it would time only the
creation of a coroutine (its issue #66). Here the rounds run through sqla-bench's own
case lifecycle and schedule (bench.measure.lifecycle, bench.measure.schedule), exactly as
`sqla-bench run` runs them, and the timed rounds are then given to pytest-benchmark as the
benchmark's rounds: its table, its JSON and its --benchmark-compare see them as usual.

Both kinds of test: in a plain `def` test, `async_benchmark(fn)` runs the rounds on the
plug-in's session loop and returns fn's last result; in an `async def` test (its loop
already running: pytest-asyncio, anyio) it returns a PendingBenchmark, and `await`
runs the rounds in that loop. With a reference, the two run interleaved and the paired
ratio goes into extra_info, with statements and Python calls per op and the client's
CPU share: the keys the scenario benchmarks record, so the compare gate judges both alike.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.api.family import Family
from bench.db.database import core_engine, resolve_url
from bench.db.drivers import Driver, get_driver
from bench.measure.counters import CallCounter
from bench.measure.instructions import counting
from bench.measure.instructions.quiet import counting_conditions
from bench.measure.lifecycle import measured_call
from bench.measure.plan import Point, point_for
from bench.measure.point import Measuring, measure_point, new_records
from bench.measure.rounds import RoundResult
from bench.measure.schedule import Entry, measure
from bench.measure.summary import record_paired, record_rounds
from bench.plugin.engines import driver_of, in_namespace, read_server
from bench.plugin.open_point import OpenPoint
from bench.results.records import CASE_FIGURES, PER_ROUND_FIGURES, CaseRecord, new_case

USER_SCENARIO = "pytest-benchmark"  # the scenario of a user's function in its case record
MISUSED = "async_benchmark (not run)"  # pytest-benchmark's mode for a fixture used in vain

Work = Callable[[], Coroutine[Any, Any, Any]]
AnyEngine = AsyncEngine | sa.Engine


class ScenarioSkipped(Exception):
    """The driver cannot run the variant (a missing capability): the test is skipped."""


class StatementCounter:
    """Counts the statements sent through some engines while active (a context manager)."""

    def __init__(self, engines: Sequence[AnyEngine]) -> None:
        self.engines = [core_engine(e) for e in engines]
        self.count = 0

    def _count(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: Any) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._count)


class FunctionCase:
    """A user's function (coroutine function, or plain with is_sync) as the schedule's
    round source; statements are counted over its timed call only."""

    def __init__(self, name: str, fn: Callable[[], Any], is_sync: bool,
                 before_round: Callable[[], Any] | None,
                 counter: StatementCounter | None = None) -> None:
        self.name, self.fn, self.is_sync, self.before_round = name, fn, is_sync, before_round
        self.counter = counter
        self.primed = False

    async def open(self) -> None:
        pass

    async def _before_round(self) -> None:
        if self.before_round is not None:
            outcome = self.before_round()
            if inspect.isawaitable(outcome):
                await outcome

    async def round(self, timed: bool) -> RoundResult:
        if timed and not self.primed and counting.active() is not None:
            self.primed = True  # one untimed round under the counting conditions first
            with counting_conditions():
                await self.round(timed=False)
        await self._before_round()
        before = self.counter.count if self.counter else 0
        data, wall, cpu, wait, label = await measured_call(self.fn, self.is_sync, timed)
        statements = self.counter.count - before if self.counter else 0
        return RoundResult(wall, cpu, wait, statements, data, count_label=label)

    async def count_calls(self) -> int:
        """Python calls of one more untimed round (deterministic: see bench.measure.counters)."""
        await self._before_round()
        with CallCounter() as counter:
            outcome = self.fn()
            if not self.is_sync:
                await outcome
        return counter.calls

    async def close(self) -> None:
        pass


class PendingBenchmark:
    """What `async_benchmark(...)` returns where an event loop is running: awaiting it
    runs the rounds in that loop. It is not a coroutine, so one left un-awaited is
    reported by the plug-in at the end of the test (a one-line failure that says to
    await it), not by Python's "never awaited" warning."""

    def __init__(self, call: str, work: Work) -> None:
        self.call = call
        self._work = work
        self.awaited = False

    def __await__(self) -> Generator[Any, None, Any]:
        if self.awaited:
            raise RuntimeError(f"{self.call} was awaited already: a benchmark runs once, so "
                               f"await it once (`result = await {self.call}`)")
        self.awaited = True
        return self._work().__await__()

    def __repr__(self) -> str:
        return f"<{self.call} not awaited: write `await {self.call}`>"


class AsyncBenchmark:
    """Benchmarks coroutine functions and scenario variants for pytest-benchmark.

    `engines`: the test's sqla_engine (filled by that fixture), on which statements are
    counted besides any engines passed per call. `async_test`: the test is `async def`.
    `on_result`: receives one row per measured function benchmark (the plug-in's table).
    """

    def __init__(self, benchmark: Any, loop: asyncio.AbstractEventLoop, seed: int, *,
                 async_test: bool = False, engines: Sequence[AnyEngine] = (),
                 on_result: Callable[[dict[str, Any]], None] = lambda row: None,
                 explain: bool = False, open_point: OpenPoint | None = None) -> None:
        self.benchmark = benchmark
        self.loop = loop
        self.seed = seed
        self.async_test = async_test
        self.fixture_engines = engines
        self.on_result = on_result
        self.explain = explain  # scenario variants: their plans' fingerprint recorded
        self.open_point = open_point  # the session loop's scenario point, shared by tests
        self.used = False
        self.pending: PendingBenchmark | None = None

    @property
    def enabled(self) -> bool:
        return not self.benchmark.disabled

    def _rounds(self, rounds: int, warmup: int) -> tuple[int, int]:
        """With --benchmark-disable a benchmark runs once, as pytest-benchmark does; in a
        counting child, a few counted rounds (counts repeat: more only cost emulated time)."""
        if not self.enabled:
            return (1, 0)
        if counting.in_child():
            return (min(rounds, counting.COUNTED_ROUNDS), warmup)
        return (rounds, warmup)

    def unawaited(self) -> str | None:
        """The one-line failure for a benchmark started and never awaited, if any."""
        if self.pending is None or self.pending.awaited:
            return None
        return (f"{self.pending.call} was never awaited, so nothing was timed: in an async "
                f"def test write `await {self.pending.call}`")

    # -- plain functions ---------------------------------------------------------------

    def __call__(self, fn: Callable[[], Any], *, rounds: int = 10, warmup_rounds: int = 1,
                 before_round: Callable[[], Any] | None = None,
                 reference: Callable[[], Any] | None = None,
                 engines: Sequence[AnyEngine] = ()) -> Any:
        """Time `fn` (a coroutine function, awaited each round); returns its last result
        (awaitable in an async test). `before_round`, if given, runs untimed before every
        round (sync or async). `reference`: a function run interleaved with `fn`, their
        per-block ratio recorded. Statements are counted on the sqla_engine fixture's
        engine and on `engines`."""
        self.mark_used()  # a misuse fails with its own message, not also "not used"
        if inspect.iscoroutine(fn):
            fn.close()  # it will never run: no "never awaited" warning on top of this error
            raise TypeError("async_benchmark takes the coroutine function, not a coroutine: "
                            "write async_benchmark(fn), not async_benchmark(fn())")
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"async_benchmark needs a coroutine function, got {fn!r}; "
                            "use the benchmark fixture for plain functions")
        reject_coroutine_object(reference)
        return self._start(f"async_benchmark({_name(fn)})", lambda: self._functions(
            fn, False, rounds, warmup_rounds, before_round, reference, engines))

    def sync(self, fn: Callable[[], Any], *, rounds: int = 10, warmup_rounds: int = 1,
             before_round: Callable[[], Any] | None = None,
             reference: Callable[[], Any] | None = None,
             engines: Sequence[AnyEngine] = ()) -> Any:
        """Time a plain function (the sync baseline drivers) the same way."""
        self.mark_used()
        reject_coroutine_function(fn)
        reject_coroutine_object(reference)
        return self._start(f"async_benchmark.sync({_name(fn)})", lambda: self._functions(
            fn, True, rounds, warmup_rounds, before_round, reference, engines))

    async def _functions(self, fn: Callable[[], Any], is_sync: bool, rounds: int, warmup: int,
                         before_round: Callable[[], Any] | None,
                         reference: Callable[[], Any] | None,
                         engines: Sequence[AnyEngine]) -> Any:
        rounds, warmup = self._rounds(rounds, warmup)
        watched = list({id(e): e for e in [*self.fixture_engines, *engines]}.values())
        server = await read_server(watched[0]) if watched else {}
        calls: list[int] = []
        with StatementCounter(watched) as counter:
            main = FunctionCase(_name(fn), fn, is_sync, before_round, counter)
            entries = [Entry(main)]
            if reference is not None:
                ref_name = _name(reference) if _name(reference) != main.name else "reference"
                entries.append(Entry(FunctionCase(
                    ref_name, reference, not inspect.iscoroutinefunction(reference),
                    before_round, counter)))

            async def count_calls(entry: Entry) -> None:  # the main function's only
                if entry.source is main and counting.first_layout():
                    calls.append(await main.count_calls())

            await measure(entries, schedule="interleaved", warmup=warmup, rounds=rounds,
                          rng=random.Random(self.seed), finish=count_calls)
        for entry in entries:
            if entry.error is not None:
                raise entry.error
        driver = driver_of(watched[0]) if watched else None
        records = [self._function_record(e, driver, counted=bool(watched)) for e in entries]
        records[0]["calls_per_op"] = calls[0] if calls else None
        if reference is not None:
            record_paired(records, records[1]["variant"])
        info = engine_info(watched[0], driver, server) if watched else {}
        info["event_loop"] = type(asyncio.get_running_loop()).__module__.split(".")[0]
        info.update(round_info(records[0]))
        self.benchmark.extra_info.update(info)
        self._give_rounds(records[0]["samples_ns"])
        if self.enabled:
            self.on_result({"name": self.benchmark.name, **info})
        return entries[0].last_data

    def _function_record(self, entry: Entry, driver: Driver | None, counted: bool
                         ) -> CaseRecord:
        record = new_case(USER_SCENARIO, entry.source.name, {}, unit="calls", ops_per_round=1,
                          driver=driver.name if driver else "?")
        record_rounds(record, entry.rounds, entry.blocks, entry.machine_ns)
        record["status"] = "ok"
        if not counted:  # no engine watched: a count of 0 would be a claim, not a fact
            record["statements_per_op"] = None
            record["extra"].pop("statements_per_round", None)
        return record

    # -- scenario variants ---------------------------------------------------------------

    def variant(self, family: Family, variant_name: str, driver_name: str, url: str | None,
                params: dict[str, Any], *, rounds: int = 10, warmup_rounds: int = 1) -> Any:
        """Benchmark one variant of a scenario family at one parameter point, interleaved
        with the family's reference, through the runner's own case lifecycle (setup, hooks
        and engines untimed; statements counted over every round; the data checked against
        the reference). Returns the variant's data (awaitable in an async test); a wrong
        result fails the test."""
        return self._start(f"async_benchmark.variant({family.name}, {variant_name!r})",
                           lambda: self._variant(family, variant_name, driver_name, url,
                                                 params, rounds, warmup_rounds))

    async def _variant(self, family: Family, variant_name: str, driver_name: str,
                       url: str | None, params: dict[str, Any], rounds: int,
                       warmup_rounds: int) -> Any:
        driver = get_driver(driver_name)
        resolved = in_namespace(resolve_url(driver, url))
        point = point_for(family, driver, params)
        rounds, warmup_rounds = self._rounds(rounds, warmup_rounds)
        self.benchmark.group = family.name  # read when the first round is given: set first
        record, server, data = await self._scenario(point, variant_name, driver, resolved,
                                                    rounds, warmup_rounds)
        self.benchmark.extra_info.update(scenario_info(record, driver, server))
        if record["status"] == "wrong":
            raise AssertionError(f"{family.name}/{variant_name}: {record['error']}")
        if record["status"] != "ok":
            raise RuntimeError(f"{family.name}/{variant_name} failed: {record['error']}")
        self._give_rounds(record["samples_ns"])
        return data

    async def _scenario(self, point: Point, name: str, driver: Driver, url: URL, rounds: int,
                        warmup: int) -> tuple[CaseRecord, dict[str, str], Any]:
        skipped = {v.name: why for v, why in point.skipped}
        if name in skipped:
            raise ScenarioSkipped(skipped[name])
        by_name = {v.name: v for v in point.variants}
        if name not in by_name:
            raise ValueError(f"{point.family.name} has no variant {name!r} for "
                             f"{point.params} on {driver.name}")
        keep = [by_name[name]]
        reference = point.reference
        # A counting child counts the variant alone: times under valgrind pair with nothing.
        if reference is not None and reference != name and not counting.in_child():
            keep.append(by_name[reference])
        pair = Point(point.family, point.params, keep)
        first = counting.first_layout()  # calls and plans: counted once, in layout 0
        how = Measuring(warmup=warmup, rounds=rounds, explain=self.explain and first,
                        count_calls=first)
        records = new_records(pair, driver.name)
        # The session loop's tests share the point's data with its other variants; any
        # other loop's test sets the point up for itself and tears it down after.
        opened = self.open_point
        if opened is None or asyncio.get_running_loop() is not self.loop:
            opened = OpenPoint()
        try:
            session, server = await opened.enter(point, driver, url, self.seed)
            produced = await measure_point(pair, session, records, how,
                                           random.Random(self.seed))
        finally:
            if opened is not self.open_point:
                await opened.close()
        return records[name], server, produced.get(name)

    # -- the two kinds of test, and pytest-benchmark -------------------------------------

    def _start(self, call: str, work: Work) -> Any:
        """Run `work` now on the session loop (a plain def test), or hand back an awaitable
        that runs it in the running loop (an async def test)."""
        self._claim()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self.async_test:  # anyio's trio backend, or a runner of its own
                raise RuntimeError(
                    f"{call} needs an asyncio event loop and none is running in this async "
                    "def test: run it under pytest-asyncio or anyio's asyncio backend, or "
                    f"make it a plain def test calling {call} without await") from None
            return self.loop.run_until_complete(work())
        self.pending = PendingBenchmark(call, work)
        return self.pending

    def mark_used(self) -> None:
        """Tell pytest-benchmark its fixture was used (it warns at teardown otherwise),
        also when benchmarks are off or the call was a misuse."""
        if not self.benchmark._mode:
            self.benchmark._mode = MISUSED

    def _claim(self) -> None:
        """One timed thing per test, as pytest-benchmark's own fixture allows."""
        if self.used or self.benchmark._mode not in (None, MISUSED):
            raise RuntimeError("async_benchmark can time one thing per test, as benchmark can")
        self.benchmark._mode = "async_benchmark(...)"
        self.used = True

    def _give_rounds(self, samples_ns: list[int]) -> None:
        """Hand the timed rounds to pytest-benchmark as this benchmark's rounds."""
        if not self.enabled:
            return
        stats = self.benchmark._make_stats(1)
        for sample in samples_ns:
            stats.update(sample / 1e9)


def round_info(record: CaseRecord) -> dict[str, Any]:
    """What a measured case records in pytest-benchmark's extra_info: counts, CPU share,
    blocks, the machine-speed probe and the paired ratio, under the case record's own keys."""
    info: dict[str, Any] = {key: record.get(key)
                            for key in (*CASE_FIGURES, "unit", "ops_per_round")}
    info.update({key: record.get(key, []) for key in PER_ROUND_FIGURES})
    info["extra"] = {k: v for k, v in record["extra"].items() if k != "profile"}
    return info


def engine_info(engine: AnyEngine, driver: Driver | None, server: dict[str, str]
                ) -> dict[str, Any]:
    """Which driver and server a benchmark ran on (a driver sqla-bench does not know is
    named by its SQLAlchemy dialect)."""
    dialect = core_engine(engine).dialect
    return {
        "driver": driver.name if driver else dialect.driver,
        "backend": driver.backend if driver else dialect.name,
        "sync": not isinstance(engine, AsyncEngine),
        "server": server, "server_version": server.get("version"),
    }


def scenario_info(record: CaseRecord, driver: Driver, server: dict[str, str]) -> dict[str, Any]:
    """What a scenario benchmark records in pytest-benchmark's extra_info."""
    info: dict[str, Any] = {
        "driver": driver.name, "backend": driver.backend, "sync": driver.is_sync,
        "server": server, "server_version": server.get("version"),
        "scenario": record["scenario"], "variant": record["variant"],
        "params": dict(record["params"]),
    }
    info.update(round_info(record))
    return info


def _name(fn: Any) -> str:
    return str(getattr(fn, "__name__", "fn"))


def reject_coroutine_function(fn: Any) -> None:
    """The mistake pytest-benchmark does not catch: timing coroutine creation."""
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutine(fn):
        raise TypeError(
            f"{getattr(fn, '__name__', fn)!r} is a coroutine: benchmark() would time only its "
            "creation, not the awaited work; use the async_benchmark fixture instead"
        )


def reject_coroutine_object(reference: Any) -> None:
    if inspect.iscoroutine(reference):
        reference.close()
        raise TypeError("reference= takes a function, not a coroutine: write reference=fn, "
                        "not reference=fn()")
