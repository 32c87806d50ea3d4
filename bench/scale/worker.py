"""A load worker's side of a distributed case: what runs inside each Dask worker process.

Every worker process keeps one event loop of its own (asyncio or uvloop, as the run's
--loop) in a thread, where its cases live: a Dask task, run in the worker's single task
thread, hands a coroutine to that loop and waits for it. A case here is an ordinary
bench.measure.lifecycle.Case with hooks=False (the coordinator runs the case and round hooks,
once for every worker), on a PointSession whose setup already ran on the coordinator:
the setup's state arrives with the case, and this process's share of the load
(bench.api.drive.LoadShare). So a worker runs exactly the variant code a single process runs.

A round waits for the coordinator's start signal (Dask Events: the worker says it is
ready, warm connections included, then waits for "go"), so every worker's timed call
starts together. Failures come back as one masked line (WorkerCaseError), never with
the database password, which travels inside a Secret whose repr is masked (Dask may log
task arguments).
"""

from __future__ import annotations

import asyncio
import platform
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from distributed import Event
from sqlalchemy.engine import make_url

import bench
from bench.api.family import load_families
from bench.api.share import LoadShare
from bench.db.drivers import get_driver
from bench.measure.lifecycle import Case, PointSession, describe_error, hooks_engine

T = TypeVar("T")
START_SIGNAL_TIMEOUT = 600.0  # seconds a ready worker waits for "go" before giving up


class WorkerCaseError(Exception):
    """A case failed on a worker; the message is one line, passwords masked."""


class Secret:
    """A value a task carries to workers that never shows in a repr or a log."""

    def __init__(self, value: str, shown: str) -> None:
        self.value, self.shown = value, shown

    def __repr__(self) -> str:
        return self.shown


@dataclass(frozen=True)
class CaseSpec:
    """Everything a worker needs to open its part of a case (all of it picklable)."""

    case_id: str
    family: str
    scenarios_path: tuple[str, ...]
    driver: str
    url: Secret  # the database URL, password included
    params: dict[str, Any]
    variant: str
    state: dict[str, Any]  # what the coordinator's setup left for the variants
    case_shared: dict[str, Any]  # what its case hooks left for them
    connect_timeout: float
    seed: int
    load: LoadShare
    loop: str  # asyncio | uvloop
    service_url: str | None


@dataclass
class _Open:
    case: Case
    session: PointSession
    loop: str
    password: str | None


_LOOPS: dict[str, asyncio.AbstractEventLoop] = {}
_LOOPS_LOCK = threading.Lock()
_CASES: dict[str, _Open] = {}


def versions() -> dict[str, str]:
    """What must match across the coordinator and every worker."""
    return {"sqla-bench": bench.__version__, "SQLAlchemy": sa.__version__,
            "Python": platform.python_version()}


def _loop(kind: str) -> asyncio.AbstractEventLoop:
    with _LOOPS_LOCK:
        loop = _LOOPS.get(kind)
        if loop is None:
            if kind == "uvloop":
                import uvloop

                loop = uvloop.new_event_loop()
            else:
                loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name=f"sqla-bench-{kind}",
                             daemon=True).start()
            _LOOPS[kind] = loop
        return loop


def _run(kind: str, coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coroutine, _loop(kind)).result()


run_in_loop = _run  # for other load-worker code (bench.replay.worker): the same loops


def _failed(exc: BaseException, password: str | None) -> WorkerCaseError:
    return WorkerCaseError(describe_error(exc, [password]))


def open_case(spec: CaseSpec) -> None:
    """Open this worker's part of a case: its own engine, pool and connections."""
    url = make_url(spec.url.value)
    try:
        family = load_families(spec.scenarios_path)[spec.family]
        driver = get_driver(spec.driver)
        variant = family.variants_for(driver)[spec.variant]
    except Exception as exc:  # noqa: BLE001 - told to the coordinator in one line
        raise _failed(exc, url.password) from None

    async def opening() -> _Open:
        session = PointSession(family, spec.params, driver, url,
                               setup_engine=hooks_engine(driver, url, spec.connect_timeout),
                               connect_timeout=spec.connect_timeout, seed=spec.seed,
                               load=spec.load, service_url=spec.service_url)
        session.state.update(spec.state)
        case = Case(session, variant, hooks=False)
        opened = _Open(case, session, spec.loop, url.password)
        try:
            await case.open()
            assert case.ctx is not None
            case.ctx.case_shared.update(spec.case_shared)
        except BaseException:
            await _close(opened)
            raise
        return opened

    try:
        _CASES[spec.case_id] = _run(spec.loop, opening())
    except Exception as exc:  # noqa: BLE001
        raise _failed(exc, url.password) from None


def run_round(case_id: str, timed: bool, ready: str, go: str, abort: str,
              with_data: bool) -> dict[str, Any] | None:
    """Warm up if the case released its connections, say ready, wait for the start
    signal, run one round; its measurements (and its data, when asked)."""
    opened = _CASES[case_id]
    try:
        if timed:
            _run(opened.loop, opened.case.warm())
        Event(ready).set()
        if not Event(go).wait(START_SIGNAL_TIMEOUT) or Event(abort).is_set():
            return None  # the coordinator gave the round up (another worker failed)
        result = _run(opened.loop, opened.case.round(timed))
    except Exception as exc:  # noqa: BLE001
        raise _failed(exc, opened.password) from None
    return {"wall_ns": result.wall_ns, "cpu_ns": result.cpu_ns, "wait_ns": result.wait_ns,
            "statements": result.statements, "operations": result.operations,
            "stray_tasks": result.stray_tasks, "data": result.data if with_data else None}


def close_case(case_id: str) -> dict[str, Any]:
    """Close this worker's part of a case; what it kept: its extra and histograms."""
    opened = _CASES.pop(case_id, None)
    if opened is None:
        return {"extra": {}, "histograms": {}}
    ctx = opened.case.ctx
    extra = {**ctx.extra, **ctx.timing_summaries()} if ctx is not None else {}
    histograms = opened.case.histograms()
    _run(opened.loop, _close(opened))
    return {"extra": extra, "histograms": histograms}


async def _close(opened: _Open) -> None:
    try:
        await opened.case.close()
    finally:
        await opened.session.setup_engine.dispose()
