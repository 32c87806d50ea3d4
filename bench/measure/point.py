"""Measuring one point: the same code for `sqla-bench run` and the pytest plug-in.

Open a case per variant, run their rounds in the chosen order (bench.measure.schedule), the
untimed extra rounds (Python calls, peak memory, a profile), then the case records:
statistics (bench.measure.summary), the cross-variant data check (bench.measure.agreement) and the
paired ratios to the point's reference.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bench.api.family import CaseSkipped, Context, Variant
from bench.measure import explain, plan_shape
from bench.measure.agreement import check_agreement, fingerprint, normalized_data
from bench.measure.lifecycle import Case, PointSession, describe_error
from bench.measure.plan import Point
from bench.measure.schedule import Entry, RoundSource, measure
from bench.measure.summary import record_paired, record_rounds
from bench.results.records import CaseRecord, Schedule, new_case


@dataclass
class Measuring:
    """How a point is measured."""

    schedule: Schedule = "interleaved"
    warmup: int = 1
    rounds: int = 15
    count_calls: bool = True
    profile_to: Path | None = None  # a results file: profiles are saved beside it
    explain: bool = False  # one more round, its statements' query plans recorded
    # Every case's connections closed after each round and opened again (then warmed by an
    # untimed round) before the next: a connection's speed stays with it for its life (its
    # server process's CPU placement: 2x on this 2-core VM), so cases that kept theirs
    # would carry one draw of it into every block. Runs of several drivers set it.
    reconnect: bool = False


class MeasuredCase(RoundSource, Protocol):
    """A case as measure_point reads it: bench.measure.lifecycle.Case in this process, or
    bench.scale.distributed.DistributedCase on load workers."""

    variant: Variant
    ctx: Context | None
    teardown_error: str | None

    def histograms(self) -> dict[str, str]: ...

    async def count_calls(self) -> int: ...

    async def peak_memory(self) -> int: ...

    async def extra_round(self, around: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
                          ) -> Any: ...


OpenCase = Callable[[PointSession, Variant], MeasuredCase]


def new_records(point: Point, driver: str) -> dict[str, CaseRecord]:
    """A record per planned variant, and one per skipped variant with its reason."""
    family = point.family
    records = {}
    for variant in point.variants:
        records[variant.name] = new_case(family.name, variant.name, point.params,
                                         unit=family.unit, ops_per_round=family.ops(point.params),
                                         driver=driver)
    for variant, reason in point.skipped:
        record = new_case(family.name, variant.name, point.params, unit=family.unit,
                          ops_per_round=family.ops(point.params), driver=driver)
        record["error"] = f"skipped: {reason}"
        records[variant.name] = record
    return records


@dataclass
class PointRun:
    """One driver's part of a point in a (possibly several-driver) measurement: its
    planned variants, its session (a driver's view of the backend's shared data) and its
    records. `label`: the driver as the run names it."""

    point: Point
    session: PointSession
    records: dict[str, CaseRecord]
    label: str = ""


async def measure_point(point: Point, session: PointSession, records: dict[str, CaseRecord],
                        how: Measuring, rng: random.Random, *,
                        on_round: Callable[[], None] = lambda: None,
                        stop_check: Callable[[], None] = lambda: None,
                        open_case: OpenCase = Case) -> dict[str, Any]:
    """Measure the point's planned variants into their records; returns each ok case's
    data (normalized: what the cross-variant check compared). `open_case` makes the
    case of a variant: in this process by default."""
    produced = await measure_points([PointRun(point, session, records)], how, rng,
                                    on_round=on_round, stop_check=stop_check,
                                    open_case=open_case)
    return produced[0]


async def measure_points(runs: list[PointRun], how: Measuring, rng: random.Random, *,
                         on_round: Callable[[], None] = lambda: None,
                         stop_check: Callable[[], None] = lambda: None,
                         open_case: OpenCase = Case) -> list[dict[str, Any]]:
    """Measure one point on every driver of `runs` in the same blocks: the unit the schedule
    shuffles is (driver, variant), so a slow minute lands on every driver alike and a
    driver's round pairs with another driver's round of the same block. One driver's
    failure (setup, a case) stays in its own records. Returns each run's ok data."""
    entries: list[Entry] = []
    owners: dict[int, tuple[PointRun, MeasuredCase]] = {}
    opened: list[tuple[PointRun, dict[str, MeasuredCase]]] = []
    for run in runs:
        if run.session.setup_error is not None:
            for variant in run.point.variants:
                run.records[variant.name]["status"] = "error"
                run.records[variant.name]["error"] = run.session.setup_error
            opened.append((run, {}))
            continue
        cases = {v.name: open_case(run.session, v) for v in run.point.variants}
        for case in cases.values():
            if isinstance(case, Case):
                case.reconnect = how.reconnect
        for case in cases.values():
            entry = Entry(case)
            entries.append(entry)
            owners[id(entry)] = (run, case)
        opened.append((run, cases))

    async def finish(entry: Entry) -> None:
        """The untimed extra rounds, after a case's timed ones."""
        run, case = owners[id(entry)]
        record = run.records[case.name]
        if how.count_calls:
            calls = await case.count_calls()
            record["calls_per_op"] = round(calls / record["ops_per_round"], 6)
        if run.point.family.measure_memory:
            record["extra"]["peak_memory_bytes"] = await case.peak_memory()
        if how.profile_to is not None:
            from bench.measure import profiling  # pyinstrument only when asked for

            target = how.profile_to
            record["extra"]["profile"] = await case.extra_round(
                lambda call: profiling.capture(call, target, dict(record)))
        if how.explain and isinstance(case, Case):  # the CLI refuses it with load workers
            record["plans"] = await explain.explain_case(case, run.session.setup_engine)
            record["plan_scans"] = plan_shape.case_scans(record["plans"])
            record["plan_fingerprint"] = plan_shape.scans_fingerprint(record["plan_scans"])

    await measure(entries, schedule=how.schedule, warmup=how.warmup, rounds=how.rounds,
                  rng=rng, finish=finish, on_round=on_round, stop_check=stop_check)
    by_case = {id(case): entry for entry in entries for case in [owners[id(entry)][1]]}
    produced = []
    for run, cases in opened:
        produced.append(_record_point(run, cases, by_case) if cases else {})
    return produced


def _record_point(run: PointRun, cases: dict[str, MeasuredCase],
                  by_case: dict[int, Entry]) -> dict[str, Any]:
    """One driver's rounds into its records: statistics, the data check, paired ratios."""
    point, records = run.point, run.records
    secrets = [run.session.url.password]
    data_by_variant: dict[str, Any] = {}
    produced: dict[str, Any] = {}
    for case in cases.values():
        entry = by_case[id(case)]
        record = records[case.name]
        record_rounds(record, entry.rounds, entry.blocks, entry.machine_ns)
        if case.ctx is not None:
            record["extra"].update(case.ctx.extra, **case.ctx.timing_summaries())
        if case.teardown_error is not None:
            record["extra"]["case_teardown_error"] = case.teardown_error
        histograms = case.histograms() if entry.rounds else {}
        if histograms:
            record["histograms"] = histograms
        if isinstance(entry.error, CaseSkipped):
            record["error"] = f"skipped: {entry.error}"
            continue
        if entry.error is not None:
            record["status"] = "error"
            record["error"] = describe_error(entry.error, secrets)
            continue
        record["status"] = "ok"
        value = normalized_data(point.family, entry.last_data)
        record["extra"].update(fingerprint(value))
        produced[case.name] = value
        if case.variant.check:
            data_by_variant[case.name] = value
    measured = [records[name] for name in cases]
    check_agreement(measured, data_by_variant, point.reference)
    record_paired(measured, point.reference)
    return produced
