"""A replay case spread over worker processes (--processes N, --cluster ADDRESS).

The units are dealt out like cards (worker i of n takes units i, i + n, ...), and the
concurrency and pool size are divided among the workers (each at least 1), so together
they replay the workload once per round with the connections one process would hold.
Each worker replays its share on its own event loop and connections
(bench.replay.worker); every round starts on a common signal, as run's spread cases do
(bench.scale.distributed), and the round's wall time is the slowest worker's. At close
the workers' tallies are added into the case's: counts and times added, latency
histograms added bucket by bucket, so percentiles per unit type hold for the whole load.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

from distributed import Event

from bench.measure.rounds import RoundResult
from bench.replay import worker as part
from bench.replay.case import Pace
from bench.replay.tally import Tally
from bench.replay.workload import Workload
from bench.scale.cluster import LoadCluster
from bench.scale.worker import Secret

READY_TIMEOUT = 600.0


def share(total: int, index: int, count: int) -> int:
    """Worker `index`'s part of `total` (at least 1): the parts add up to the total."""
    return max(1, total // count + (1 if index < total % count else 0))


class SpreadReplayCase:
    def __init__(self, cluster: LoadCluster, workers: list[str], spec: part.PartSpec,
                 name: str) -> None:
        self.cluster, self.workers = cluster, list(workers)
        self._name = name
        self.tally = Tally()
        self.per_worker: list[dict[str, Any]] = []
        self._id = uuid.uuid4().hex
        self._rounds = 0
        count = len(self.workers)
        wl = spec.workload
        self._specs = [
            replace(spec, case_id=f"{self._id}-{i}",
                    workload=replace(wl, units=wl.units[i::count]),
                    pool_size=share(spec.pool_size, i, count),
                    pace=_pace_share(spec.pace, i, count))
            for i in range(count)]
        self._opened: list[int] = []
        self._timed_ns = [0] * count
        self._timed_units = [0] * count

    @property
    def name(self) -> str:
        return self._name

    @property
    def _client(self) -> Any:
        return self.cluster.client

    def _submit(self, fn: Any, index: int, *args: Any) -> Any:
        return self._client.submit(fn, *args, workers=[self.workers[index]],
                                   allow_other_workers=False, pure=False,
                                   key=f"sqlab-replay-{fn.__name__}-{uuid.uuid4().hex}")

    async def open(self) -> None:
        self._opened = list(range(len(self.workers)))
        await asyncio.gather(*(self._submit(part.open_part, i, spec)
                               for i, spec in enumerate(self._specs)))

    async def round(self, timed: bool) -> RoundResult:
        names = {k: f"sqlab-replay-{self._id}-{self._rounds}-{k}" for k in ("go", "abort")}
        ready = [f"sqlab-replay-{self._id}-{self._rounds}-ready-{i}"
                 for i in range(len(self.workers))]
        self._rounds += 1
        futures = [self._submit(part.run_part_round, i, spec.case_id, timed, ready[i],
                                names["go"], names["abort"])
                   for i, spec in enumerate(self._specs)]
        try:
            for name in ready:
                if not await Event(name, client=self._client).wait(READY_TIMEOUT):
                    raise TimeoutError("a replay worker did not get ready")
            await Event(names["go"], client=self._client).set()
            results = await asyncio.gather(*futures)
        except BaseException:
            await Event(names["abort"], client=self._client).set()
            await Event(names["go"], client=self._client).set()
            await self._client.cancel(futures)
            raise
        finally:
            for name in [*ready, *names.values()]:
                await Event(name, client=self._client).clear()
        if timed:
            for i, result in enumerate(results):
                self._timed_ns[i] += result["wall_ns"]
                self._timed_units[i] += result["operations"]
        waits = [r["wait_ns"] for r in results]
        return RoundResult(wall_ns=max(r["wall_ns"] for r in results),  # the common window
                           cpu_ns=sum(r["cpu_ns"] for r in results),
                           wait_ns=None if any(w is None for w in waits) else sum(waits),
                           statements=sum(r["statements"] for r in results), data=None,
                           operations=sum(r["operations"] for r in results))

    async def close(self) -> None:
        opened, self._opened = self._opened, []
        if not opened:
            return
        parts = await asyncio.gather(*(self._submit(part.close_part, i, self._specs[i].case_id)
                                       for i in opened), return_exceptions=True)
        for index, found in zip(opened, parts, strict=True):
            if isinstance(found, dict) and found:
                self.tally.absorb(found)
            ns, units = self._timed_ns[index], self._timed_units[index]
            self.per_worker.append({"worker": self.workers[index], "units": units,
                                    "units_per_s": round(units / (ns / 1e9), 1) if ns else None})


def _pace_share(pace: Pace, index: int, count: int) -> Pace:
    rate = None if pace.rate is None else pace.rate / count
    return replace(pace, concurrency=share(pace.concurrency, index, count), rate=rate)


def part_spec(workload: Workload, form: str, driver: str, url: Any, pool_size: int,
              pace: Pace, *, commit: bool, transaction: bool, think_scale: float | None,
              connect_timeout: float) -> part.PartSpec:
    """The whole case's spec; SpreadReplayCase deals out each worker's share of it."""
    secret = Secret(url.render_as_string(hide_password=False),
                    url.render_as_string(hide_password=True))
    return part.PartSpec(case_id="", workload=workload, form=form, driver=driver, url=secret,
                         pool_size=pool_size, pace=pace, commit=commit,
                         transaction=transaction, think_scale=think_scale,
                         connect_timeout=connect_timeout)
