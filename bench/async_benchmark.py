"""The `async_benchmark` fixture's work: timed async rounds, fed to pytest-benchmark.

pytest-benchmark times a callable; handed a coroutine function it would time only the
creation of a coroutine (its issue #66). Here the rounds run through sqla-bench's own
case lifecycle and schedule (bench.lifecycle, bench.schedule), exactly as `sqla-bench
run` runs them, and the timed rounds are then given to pytest-benchmark as the
benchmark's rounds: its table, its JSON and its --benchmark-compare see them as usual.
With a reference, the two run interleaved and the paired ratio goes into extra_info,
with statements per op, Python calls per op and the client's CPU share.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.engine import URL

from bench.database import DEFAULT_CONNECT_TIMEOUT, resolve_url, server_info
from bench.drivers import Driver, get_driver
from bench.lifecycle import PointSession, RoundResult, hooks_engine, timed_call
from bench.measure import Measuring, measure_point, new_records
from bench.plan import Point, point_for
from bench.records import CaseRecord
from bench.scenario import Family
from bench.schedule import Entry, measure

ROUND_FIELDS_FOR_EXTRA = ("statements_per_op", "calls_per_op", "cpu_share", "noisy_rounds",
                          "reference", "paired", "unit", "ops_per_round")


class ScenarioSkipped(Exception):
    """The driver cannot run the variant (a missing capability): the test is skipped."""


class FunctionCase:
    """A user's coroutine function as the schedule's round source."""

    def __init__(self, name: str, fn: Callable[[], Any], is_sync: bool,
                 before_round: Callable[[], Any] | None) -> None:
        self.name, self.fn, self.is_sync, self.before_round = name, fn, is_sync, before_round

    async def open(self) -> None:
        pass

    async def round(self, timed: bool) -> RoundResult:
        if self.before_round is not None:
            outcome = self.before_round()
            if inspect.isawaitable(outcome):
                await outcome
        data, wall, cpu, wait = await timed_call(self.fn, self.is_sync)
        return RoundResult(wall, cpu, wait, 0, data)

    async def close(self) -> None:
        pass


class AsyncBenchmark:
    """Benchmarks coroutine functions and scenario variants for pytest-benchmark."""

    def __init__(self, benchmark: Any, loop: asyncio.AbstractEventLoop, seed: int) -> None:
        self.benchmark = benchmark
        self.loop = loop
        self.seed = seed

    @property
    def enabled(self) -> bool:
        return not self.benchmark.disabled

    def _rounds(self, rounds: int, warmup: int) -> tuple[int, int]:
        """With --benchmark-disable a benchmark runs once, as pytest-benchmark does."""
        return (rounds, warmup) if self.enabled else (1, 0)

    # -- plain functions ---------------------------------------------------------------

    def __call__(self, fn: Callable[[], Any], *, rounds: int = 10, warmup_rounds: int = 1,
                 before_round: Callable[[], Any] | None = None) -> Any:
        """Time `fn` (a coroutine function, awaited each round); returns its last result.
        `before_round`, if given, runs untimed before every round (sync or async)."""
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"async_benchmark needs a coroutine function, got {fn!r}; "
                            "use the benchmark fixture for plain functions")
        return self._run(self._functions(fn, False, rounds, warmup_rounds, before_round))

    def sync(self, fn: Callable[[], Any], *, rounds: int = 10, warmup_rounds: int = 1,
             before_round: Callable[[], Any] | None = None) -> Any:
        """Time a plain function (the sync baseline drivers) the same way."""
        reject_coroutine_function(fn)
        return self._run(self._functions(fn, True, rounds, warmup_rounds, before_round))

    async def _functions(self, fn: Callable[[], Any], is_sync: bool, rounds: int, warmup: int,
                         before_round: Callable[[], Any] | None) -> Any:
        rounds, warmup = self._rounds(rounds, warmup)
        entry = Entry(FunctionCase(getattr(fn, "__name__", "fn"), fn, is_sync, before_round))

        async def nothing(_entry: Entry) -> None:
            pass

        await measure([entry], schedule="interleaved", warmup=warmup, rounds=rounds,
                      rng=random.Random(self.seed), finish=nothing)
        if entry.error is not None:
            raise entry.error
        self._give_rounds([r.wall_ns for r in entry.rounds])
        return entry.last_data

    # -- scenario variants ---------------------------------------------------------------

    def variant(self, family: Family, variant_name: str, driver_name: str, url: str | None,
                params: dict[str, Any], *, rounds: int = 10, warmup_rounds: int = 1) -> Any:
        """Benchmark one variant of a scenario family at one parameter point, interleaved
        with the family's reference, through the runner's own case lifecycle (setup, hooks
        and engines untimed; statements counted over every round; the data checked against
        the reference). Returns the variant's data; a wrong result fails the test."""
        driver = get_driver(driver_name)
        resolved = resolve_url(driver, url)
        point = point_for(family, driver, params)
        rounds, warmup_rounds = self._rounds(rounds, warmup_rounds)
        self.benchmark.group = family.name  # read when the first round is given: set first
        record, server, data = self._run(
            self._scenario(point, variant_name, driver, resolved, rounds, warmup_rounds))
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
        if reference is not None and reference != name:
            keep.append(by_name[reference])
        pair = Point(point.family, point.params, keep)
        setup_engine = hooks_engine(driver, url, DEFAULT_CONNECT_TIMEOUT)
        try:
            async with setup_engine.connect() as conn:
                server: dict[str, str] = await conn.run_sync(server_info)
            async with PointSession(point.family, point.params, driver, url,
                                    setup_engine=setup_engine,
                                    connect_timeout=DEFAULT_CONNECT_TIMEOUT,
                                    seed=self.seed) as session:
                records = new_records(pair, driver.name)
                produced = await measure_point(pair, session, records,
                                               Measuring(warmup=warmup, rounds=rounds),
                                               random.Random(self.seed))
        finally:
            await setup_engine.dispose()
        return records[name], server, produced.get(name)

    # -- pytest-benchmark ------------------------------------------------------------------

    def _run(self, work: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(work)

    def _give_rounds(self, samples_ns: list[int]) -> None:
        """Hand the timed rounds to pytest-benchmark as this benchmark's rounds."""
        if self.benchmark._mode:
            raise RuntimeError("async_benchmark can time one thing per test, as benchmark can")
        self.benchmark._mode = "async_benchmark(...)"  # used, also when benchmarks are off
        if not self.enabled:
            return
        stats = self.benchmark._make_stats(1)
        for sample in samples_ns:
            stats.update(sample / 1e9)


def scenario_info(record: CaseRecord, driver: Driver, server: dict[str, str]) -> dict[str, Any]:
    """What a scenario benchmark records in pytest-benchmark's extra_info."""
    info: dict[str, Any] = {
        "driver": driver.name, "backend": driver.backend, "sync": driver.is_sync,
        "server": server, "server_version": server.get("version"),
        "scenario": record["scenario"], "variant": record["variant"],
        "params": dict(record["params"]),
    }
    info.update({key: record[key] for key in ROUND_FIELDS_FOR_EXTRA})  # type: ignore[literal-required]
    info["blocks"] = record["blocks"]
    info["extra"] = {k: v for k, v in record["extra"].items() if k != "profile"}
    return info


def reject_coroutine_function(fn: Any) -> None:
    """The mistake pytest-benchmark does not catch: timing coroutine creation."""
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutine(fn):
        raise TypeError(
            f"{getattr(fn, '__name__', fn)!r} is a coroutine: benchmark() would time only its "
            "creation, not the awaited work; use the async_benchmark fixture instead"
        )
