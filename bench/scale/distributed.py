"""A case whose load runs on several Dask workers: a RoundSource like any other case.

The coordinator (this process) keeps what is done once: the point's setup and teardown
(PointSession), the case hooks (a service to load, the max_connections check) and the
round hooks, on its own Context. Each worker opens its own part of the case
(bench.scale.worker: its own engine, pool and event loop) for its share of the load
(bench.api.drive.LoadShare). A round:

1. every worker warms up if it must, says it is ready, and waits;
2. the coordinator runs before_round, then gives the start signal;
3. every worker runs its share; the coordinator merges their results into one
   RoundResult: the wall time is the common window (the slowest worker's time from the
   start signal), CPU, statements and operations are added, the data is the families'
   merge of the workers' data of their first round (the cross-variant check applies);
4. after_round runs on the coordinator with that data.

At close every worker's latencies come back as HDR histograms and are *added* (never
percentiles averaged); the case's extra gets the summaries of the sums, the workers'
counts added, and per worker its rate and CPU share, a worker above CPU_BOUND flagged as
the bottleneck. A worker that dies fails its case with an error naming it; the run goes
on with the others.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from distributed import Event

from bench.api.family import Context, Variant
from bench.api.share import LoadShare
from bench.measure import hdr
from bench.measure.lifecycle import PointSession, describe_error
from bench.measure.rounds import RoundResult
from bench.scale import worker as loadworker
from bench.scale.cluster import LoadCluster

CPU_BOUND = 0.9  # a worker busy this share of its round's wall time limits the load
WATCH_INTERVAL = 0.5  # seconds between checks that the case's workers are alive
CLOSE_TIMEOUT = 120.0


class WorkerLost(Exception):
    """A worker of the case died or left the cluster."""


@dataclass
class _Tally:
    """One worker's timed rounds."""

    share: int
    operations: int = 0
    wall_ns: int = 0
    cpu_ns: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    histograms: dict[str, str] = field(default_factory=dict)


class DistributedCase:
    """One variant at a point, its load on `workers` (addresses), one share each."""

    def __init__(self, cluster: LoadCluster, session: PointSession, variant: Variant,
                 workers: list[str], *, loop: str, scenarios_path: Sequence[str]) -> None:
        self.cluster, self.point, self.variant = cluster, session, variant
        self.family = session.family
        self.workers = list(workers)
        self.needed = self.family.processes_at(session.params) or len(self.workers)
        self.loop = loop
        self.scenarios_path = tuple(str(p) for p in scenarios_path)
        self.ctx: Context | None = None
        self.teardown_error: str | None = None
        self._id = uuid.uuid4().hex
        self._opened: list[str] = []
        self._tallies = {w: _Tally(share=i) for i, w in enumerate(self.workers)}
        self._data: Any = None
        self._have_data = False
        self._rounds = 0

    @property
    def name(self) -> str:
        return self.variant.name

    @property
    def _client(self) -> Any:
        return self.cluster.client

    # -- open / close --------------------------------------------------------------

    async def open(self) -> None:
        if len(self.workers) < self.needed:
            raise WorkerLost(f"the case needs {self.needed} load workers and the cluster has "
                             f"{len(self.workers)} now")
        session = self.point
        ctx = session.context(session.setup_engine)  # hooks run here, once
        ctx.variant = self.name
        ctx.load = LoadShare(0, len(self.workers), session.load.total_rate)
        self.ctx = ctx
        if self.family.case_setup_fn is not None:
            await self.family.case_setup_fn(ctx)
        url = session.url
        secret = loadworker.Secret(url.render_as_string(hide_password=False),
                                   url.render_as_string(hide_password=True))
        futures = []
        for index, worker in enumerate(self.workers):
            spec = loadworker.CaseSpec(
                case_id=self._id, family=self.family.name, scenarios_path=self.scenarios_path,
                driver=session.driver.name, url=secret, params=dict(session.params),
                variant=self.name, state=dict(session.state), case_shared=dict(ctx.case_shared),
                connect_timeout=session.connect_timeout, seed=int(session.state.get("seed", 0)),
                load=LoadShare(index, len(self.workers), session.load.total_rate),
                loop=self.loop, service_url=session.service_url)
            futures.append(self._submit(loadworker.open_case, worker, spec))
        self._opened = list(self.workers)  # close() asks each, opened or not
        await self._watch(futures)

    async def close(self) -> None:
        """Close every worker's part (collecting its latencies and extra), then the case
        hooks; the case's extra gets the merged figures. Safe after any failure."""
        opened, self._opened = self._opened, []
        if opened:
            alive = set(await self.cluster.workers())
            survivors = [w for w in opened if w in alive]
            futures = [self._submit(loadworker.close_case, w, self._id) for w in survivors]
            try:
                results = await asyncio.wait_for(self._watch(futures, survivors), CLOSE_TIMEOUT)
            except Exception:  # noqa: BLE001 - the case records its own error already
                results = []
            for worker, result in zip(survivors, results, strict=False):
                self._tallies[worker].extra = result["extra"]
                self._tallies[worker].histograms = result["histograms"]
        ctx = self.ctx
        if ctx is None:
            return
        self._merge_into(ctx)
        if self.family.case_teardown_fn is not None:
            try:
                await self.family.case_teardown_fn(ctx)
            except Exception as exc:  # noqa: BLE001 - the measurement stands
                self.teardown_error = describe_error(exc, [self.point.url.password])

    # -- a round -------------------------------------------------------------------

    async def round(self, timed: bool) -> RoundResult:
        ctx = self.ctx
        assert ctx is not None
        names = {kind: f"sqlab-{self._id}-{self._rounds}-{kind}" for kind in ("go", "abort")}
        ready = [f"sqlab-{self._id}-{self._rounds}-ready-{i}" for i in range(len(self.workers))]
        self._rounds += 1
        first = not self._have_data
        futures = [self._submit(loadworker.run_round, worker, self._id, timed, ready[i],
                                names["go"], names["abort"], first)
                   for i, worker in enumerate(self.workers)]
        try:
            await self._watch([self._wait_event(name) for name in ready])
            ctx.timed = timed
            if self.family.before_round_fn is not None:
                await self.family.before_round_fn(ctx)
            await Event(names["go"], client=self._client).set()
            results = await self._watch(futures)
        except BaseException:
            await self._give_up(names)
            await self._client.cancel(futures)
            raise
        finally:
            await self._forget([*ready, *names.values()])
        merged = self._merge_round(results, timed)
        ctx.statements = 0
        if self.family.after_round_fn is not None:
            await self.family.after_round_fn(ctx, merged.data)  # may count server statements
        ctx.timed = False
        merged.statements += ctx.statements
        return merged

    def _merge_round(self, results: list[dict[str, Any]], timed: bool) -> RoundResult:
        if not self._have_data:
            self._data = self.family.merge_shares([r["data"] for r in results])
            self._have_data = True
        waits = [r["wait_ns"] for r in results]
        if timed:
            for worker, result in zip(self.workers, results, strict=True):
                tally = self._tallies[worker]
                tally.operations += result["operations"]
                tally.wall_ns += result["wall_ns"]
                tally.cpu_ns += result["cpu_ns"]
        return RoundResult(
            wall_ns=max(r["wall_ns"] for r in results),  # the common window
            cpu_ns=sum(r["cpu_ns"] for r in results),
            wait_ns=None if any(w is None for w in waits) else sum(waits),
            statements=sum(r["statements"] for r in results),
            data=self._data,
            stray_tasks=sum(r["stray_tasks"] for r in results),
            operations=sum(r["operations"] for r in results))

    def _merge_into(self, ctx: Context) -> None:
        """The workers' figures into the case's extra: latencies from the added
        histograms, counts added, and each worker's rate and CPU share."""
        tallies = [self._tallies[w] for w in self.workers]
        own = set(ctx.extra)
        for tally in tallies:
            for key, value in tally.extra.items():
                if key in own or isinstance(value, dict):
                    continue  # the coordinator's own figure; latency summaries come below
                if isinstance(value, (int, float, list)) and not isinstance(value, bool):
                    ctx.extra[key] = ctx.extra[key] + value if key in ctx.extra else value
                else:
                    ctx.extra.setdefault(key, value)  # text: the first worker's
        for key, histogram in self._added_histograms().items():
            ctx.extra[key] = hdr.summary(histogram)
        workers: list[dict[str, Any]] = []
        for worker, tally in zip(self.workers, tallies, strict=True):
            cpu_share = tally.cpu_ns / tally.wall_ns if tally.wall_ns else None
            workers.append({
                "worker": worker, "share": tally.share, "operations": tally.operations,
                "per_s": round(tally.operations / (tally.wall_ns / 1e9), 1)
                if tally.wall_ns else None,
                "cpu_share": None if cpu_share is None else round(cpu_share, 3),
                "cpu_bound": cpu_share is not None and cpu_share >= CPU_BOUND})
        ctx.extra["load_processes"] = len(self.workers)
        ctx.extra["workers"] = workers
        bound = [w["worker"] for w in workers if w["cpu_bound"]]
        if bound:
            ctx.extra["bottleneck"] = (f"load worker{'s' if len(bound) > 1 else ''} "
                                       f"{', '.join(bound)} above {CPU_BOUND:.0%} CPU: the "
                                       "load generator, not the database, may limit this case")

    def _added_histograms(self) -> dict[str, Any]:
        keys = sorted({k for t in self._tallies.values() for k in t.histograms})
        return {key: hdr.added([t.histograms[key] for t in self._tallies.values()
                                if key in t.histograms]) for key in keys}

    def histograms(self) -> dict[str, str]:
        return {key: hdr.encode(h) for key, h in self._added_histograms().items()}

    # -- what a distributed case does not do ----------------------------------------------

    async def count_calls(self) -> int:
        raise RuntimeError("Python calls are counted in one process: run without "
                           "--processes/--cluster")

    async def peak_memory(self) -> int:
        raise RuntimeError("peak memory is measured in one process")

    async def extra_round(self, around: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
                          ) -> Any:
        raise RuntimeError("profiles are taken in one process: run without "
                           "--processes/--cluster")

    # -- Dask ---------------------------------------------------------------------------

    def _submit(self, fn: Callable[..., Any], worker: str, *args: Any) -> Any:
        return self._client.submit(fn, *args, workers=[worker], allow_other_workers=False,
                                   pure=False, key=f"sqlab-{fn.__name__}-{uuid.uuid4().hex}")

    async def _wait_event(self, name: str) -> None:
        event = Event(name, client=self._client)
        while not await event.wait(timeout=WATCH_INTERVAL):
            pass

    async def _watch(self, waits: Sequence[Any], workers: Sequence[str] | None = None
                     ) -> list[Any]:
        """Await futures or coroutines, in order; a worker of the case that leaves the
        cluster meanwhile fails the wait with WorkerLost naming it."""
        tasks = [asyncio.ensure_future(_awaited(w)) for w in waits]
        watched = set(self.workers if workers is None else workers)
        try:
            while True:
                done, pending = await asyncio.wait(tasks, timeout=WATCH_INTERVAL,
                                                   return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    failure = task.exception()
                    if failure is not None:
                        raise failure
                if not pending:
                    return [task.result() for task in tasks]
                lost = sorted(watched - set(await self.cluster.workers()))
                if lost:
                    raise WorkerLost(f"load worker {', '.join(lost)} died or left the cluster "
                                     "during the case")
        finally:
            for task in tasks:
                task.cancel()

    async def _give_up(self, names: dict[str, str]) -> None:
        """Release workers waiting for the start signal without running the round."""
        try:
            await Event(names["abort"], client=self._client).set()
            await Event(names["go"], client=self._client).set()
        except Exception:  # noqa: BLE001 - a cluster that is gone has nobody waiting
            pass

    async def _forget(self, names: list[str]) -> None:
        """Clear the round's events: the scheduler then drops them."""
        for name in names:
            try:
                await Event(name, client=self._client).clear()
            except Exception:  # noqa: BLE001
                pass


async def _awaited(waitable: Any) -> Any:
    return await waitable
