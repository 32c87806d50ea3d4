"""A worker process's part of a spread replay case (--processes, --cluster).

Runs inside a Dask worker, on that process's own event loop (bench.scale.worker's): it
opens its form (its own connections), replays its share of the units each round when
the coordinator says go, and at close sends back its tally (bench.replay.tally.export).
Failures come back as one line with the password masked, as for run's load workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distributed import Event
from sqlalchemy.engine import make_url

from bench.db.drivers import get_driver
from bench.measure.lifecycle import describe_error
from bench.replay.case import Pace, ReplayCase
from bench.replay.forms import FORM_CLASSES
from bench.replay.workload import Workload
from bench.scale.worker import START_SIGNAL_TIMEOUT, Secret, WorkerCaseError, run_in_loop

LOOP = "asyncio"


@dataclass(frozen=True)
class PartSpec:
    """What a worker needs to replay its share (all of it picklable)."""

    case_id: str
    workload: Workload  # its share of the units only
    form: str
    driver: str
    url: Secret
    pool_size: int
    pace: Pace
    commit: bool
    transaction: bool
    think_scale: float | None
    connect_timeout: float


@dataclass
class _Part:
    case: ReplayCase
    password: str | None


_PARTS: dict[str, _Part] = {}


def _failed(exc: BaseException, password: str | None) -> WorkerCaseError:
    return WorkerCaseError(describe_error(exc, [password]))


def open_part(spec: PartSpec) -> None:
    url = make_url(spec.url.value)
    try:
        form = FORM_CLASSES[spec.form](get_driver(spec.driver), url, spec.pool_size,
                                       commit=spec.commit, connect_timeout=spec.connect_timeout,
                                       transaction=spec.transaction,
                                       think_scale=spec.think_scale)
        case = ReplayCase(spec.workload, form, spec.pace, spec.case_id)
        run_in_loop(LOOP, case.open())
    except Exception as exc:  # noqa: BLE001 - told to the coordinator in one line
        raise _failed(exc, url.password) from None
    _PARTS[spec.case_id] = _Part(case, url.password)


def run_part_round(case_id: str, timed: bool, ready: str, go: str,
                   abort: str) -> dict[str, Any] | None:
    """Say ready, wait for the start signal, replay this share once."""
    part = _PARTS[case_id]
    try:
        Event(ready).set()
        if not Event(go).wait(START_SIGNAL_TIMEOUT) or Event(abort).is_set():
            return None
        result = run_in_loop(LOOP, part.case.round(timed))
    except Exception as exc:  # noqa: BLE001
        raise _failed(exc, part.password) from None
    return {"wall_ns": result.wall_ns, "cpu_ns": result.cpu_ns, "wait_ns": result.wait_ns,
            "statements": result.statements, "operations": result.operations}


def close_part(case_id: str) -> dict[str, Any]:
    """Close this share's connections; its tally of the timed rounds."""
    part = _PARTS.pop(case_id, None)
    if part is None:
        return {}
    try:
        run_in_loop(LOOP, part.case.close())
    except Exception:  # noqa: BLE001 - closing is best effort; the figures stand
        pass
    return part.case.tally.export()
