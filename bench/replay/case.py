"""One replay case: a driver, a form and a pool size, as a round source for the schedule.

A round replays every unit of the workload once. Closed loop (default): `concurrency`
workers take the units in captured order, each unit timed from its start; with captured
think time a worker first waits the unit's captured idle time before it (untimed), and
the form waits the gaps between its statements (timed, as the application's were). Open loop
(`rate` units/s, or the captured start times divided by `speed`): each unit starts at
its intended time, and its latency counts from then, so a stall shows as latency.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.measure.lifecycle import timed_call
from bench.measure.rounds import RoundResult
from bench.replay.forms import Form
from bench.replay.tally import Tally
from bench.replay.workload import Unit, Workload


@dataclass
class Pace:
    concurrency: int
    rate: float | None = None  # units/s, open loop
    speed: float | None = None  # the captured start times, this many times faster
    think: bool = False  # closed loop: wait each unit's captured idle time before it

    @property
    def scale(self) -> float:
        """Captured times are divided by --speed (1 without it)."""
        return 1.0 / self.speed if self.speed else 1.0

    @property
    def open_loop(self) -> bool:
        return self.rate is not None or self.speed is not None


class ReplayCase:
    def __init__(self, workload: Workload, form: Form, pace: Pace, name: str) -> None:
        self.workload, self.form, self.pace = workload, form, pace
        self._name = name
        self.tally = Tally()

    @property
    def name(self) -> str:
        return self._name

    async def open(self) -> None:
        await self.form.open()

    async def close(self) -> None:
        await self.form.close()

    async def round(self, timed: bool) -> RoundResult:
        tally = self.tally if timed else Tally()
        before = tally.sent
        call = self._open_loop if self.pace.open_loop else self._closed_loop
        _, wall, cpu, wait = await timed_call(lambda: call(tally), is_sync=False)
        tally.settle()
        return RoundResult(wall_ns=wall, cpu_ns=cpu, wait_ns=wait,
                           statements=tally.sent - before, data=None,
                           operations=len(self.workload.units))

    async def _unit(self, unit: Unit, tally: Tally, since: int | None = None) -> None:
        start = time.perf_counter_ns() if since is None else since
        await self.form.run_unit(unit, tally)
        tally.unit_done(unit.name, time.perf_counter_ns() - start)

    async def _closed_loop(self, tally: Tally) -> None:
        units = iter(self.workload.units)

        async def worker() -> None:
            for unit in units:  # one shared iterator: each unit taken once
                if self.pace.think and unit.think_s > 0:  # not part of the unit's latency
                    await asyncio.sleep(unit.think_s * self.pace.scale)
                await self._unit(unit, tally)

        await asyncio.gather(*(worker() for _ in range(self.pace.concurrency)))

    async def _open_loop(self, tally: Tally) -> None:
        units = self.workload.units
        if self.pace.rate is not None:
            offsets = [i / self.pace.rate for i in range(len(units))]
        else:
            assert self.pace.speed is not None
            first = units[0].start_s
            offsets = [(u.start_s - first) / self.pace.speed for u in units]
        origin = time.perf_counter_ns()

        async def at(unit: Unit, offset_s: float) -> None:
            intended = origin + int(offset_s * 1e9)
            delay = (intended - time.perf_counter_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            await self._unit(unit, tally, since=intended)

        await asyncio.gather(*(at(u, o) for u, o in zip(units, offsets, strict=True)))
