"""The runner: measures every point of a run's plan and writes each one as it finishes.

For each point of the plan (bench.measure.plan): create the family's tables and run its setup
(bench.measure.lifecycle.PointSession), open a case per variant, run their rounds in the chosen
order (bench.measure.schedule), then the untimed extra rounds (calls, memory, profile), and turn
the rounds into case records (bench.measure.summary) checked against each other
(bench.measure.agreement). A case that fails is recorded with its error and the run goes on.
The results file is replaced atomically after every point, so an interrupted run keeps
every point it finished.

With --rtt (config.proxy, bench.rtt.control), the plan is measured once per RTT: each pass
reaches the database through that RTT's port of the delaying proxy, and its cases record
the RTT. If the proxy dies, the cases it cut off say so; the run stops, or, with
--rtt-fallback, measures the rest of the pass direct (recorded as direct) and skips the
other RTTs. With --processes or --cluster, the cases of families that scale run their load
on Dask workers (bench.scale.distributed); the rest stays here.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

import bench
from bench.api.family import Family, Variant
from bench.api.share import LoadShare
from bench.db import namespace, registry
from bench.db.database import (
    DatabaseError,
    describe_connect_error,
    make_sync_engine,
    mask,
    server_info,
    server_settings,
)
from bench.db.drivers import Driver
from bench.measure.lifecycle import PointSession, describe_error, hooks_engine
from bench.measure.plan import Point, case_count, plan
from bench.measure.point import MeasuredCase, Measuring, OpenCase, measure_point, new_records
from bench.results import file as results
from bench.results.records import (
    FamilyRecord,
    NetworkRecord,
    RunRecord,
    Schedule,
    params_text,
    rtt_text,
)
from bench.rtt import control as network
from bench.run import environment
from bench.run.progress import LineProgress, Progress

if TYPE_CHECKING:
    from bench.scale.cluster import LoadCluster


@dataclass(frozen=True)
class RunDriver:
    """One driver of a run of several (`--driver asyncpg,psycopg`): its label (unique in the
    run; `asyncpg@2` names asyncpg a second time), the driver and its URL."""

    label: str
    driver: Driver
    url: URL


@dataclass
class RunConfig:
    driver: Driver
    url: URL
    families: list[Family]
    profile: str = "quick"
    warmup: int = 1
    rounds: int = 15
    overrides: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # per family
    variants: list[str] | None = None  # only these variant names, when given
    seed: int = 0
    connect_timeout: float = 10.0
    loop: str = "asyncio"
    output: Path = Path("results/run.json")
    profile_code: bool = False
    schedule: Schedule = "interleaved"
    count_calls: bool = True
    label: str | None = None
    proxy: network.DelayProxy | None = None  # --rtt: started and stopped by the caller
    rtt_fallback: bool = False  # if the proxy dies, go on direct rather than stop
    processes: int | None = None  # --processes: a LocalCluster of N load workers
    cluster: str | None = None  # --cluster: a running Dask scheduler's address
    rate: float | None = None  # --rate: requests/s in total, an open loop
    service_url: str | None = None  # --service-url: a service already running
    namespace: str | None = None  # --namespace: this one (sqlab_run_LABEL), not a fresh one
    scenarios_path: list[str] = field(default_factory=list)  # the workers load them too
    # A run of several drivers (bench.run.several): every driver, the first being `driver`
    # and `url` above; empty: a run of one driver.
    drivers: list[RunDriver] = field(default_factory=list)
    driver_reference: str | None = None  # --driver-reference: a label; None: the first named
    pair_across_backends: bool = False  # --pair-across-backends

    @property
    def distributed(self) -> bool:
        return self.processes is not None or self.cluster is not None
    explain: bool = False
    measure: str = "time"  # time, instructions or both (bench.cli.counted)


class RunInterrupted(BaseException):
    """The user asked the run to stop (Ctrl-C). A BaseException, so no case records it as
    its error: it unwinds every case and point (their cleanup runs) up to the CLI."""


class Runner:
    def __init__(self, config: RunConfig,
                 progress: Progress | Callable[[str], None] | None = None) -> None:
        self.config = config
        if progress is None:
            progress = Progress()
        elif not isinstance(progress, Progress):
            progress = LineProgress(progress)
        self.progress = progress
        self.points = self._plan(config.processes or 1)
        self.doc: RunRecord | None = None  # the results document, once the run started
        self.stop_requested = False  # set by Ctrl-C: stop before the next round
        self._rng = random.Random(config.seed)
        self._server_settings: dict[str, str] = {}
        self._fell_back = False  # the proxy died and the run went on direct
        self.cluster: LoadCluster | None = None
        self.run_id = uuid.uuid4().hex
        self.namespace: registry.Namespace | None = None  # claimed when the run starts

    def _plan(self, processes: int) -> list[Point]:
        cfg = self.config
        return plan(cfg.families, cfg.driver, cfg.profile, cfg.overrides, cfg.variants,
                    processes)

    @property
    def paths(self) -> list[network.NetworkPath]:
        """One pass per RTT of the proxy (the caller may set config.proxy until the run
        starts), or the direct path."""
        proxy = self.config.proxy
        paths = proxy.paths() if proxy is not None else [network.NetworkPath(None, self.config.url)]
        return [network.NetworkPath(p.rtt_ns, self._in_namespace(p.url)) for p in paths]

    def _in_namespace(self, url: URL) -> URL:
        """`url` (direct or through the proxy) inside the run's namespace, once claimed."""
        if self.namespace is None:
            return url
        return namespace.apply(url, self.namespace.name)

    async def _claim_namespace(self) -> None:
        """Claim the run's own namespace in the database (bench.db.registry): runs sharing
        the database never touch each other's tables; leftovers of a killed run go."""
        self.namespace = await self._claim(self.config.url)

    async def _claim(self, url: URL) -> registry.Namespace | None:
        """A namespace of this run in the database of `url`."""
        cfg = self.config
        tables = sorted({name for f in cfg.families if f.tables is not None
                         for name in f.tables.tables})
        return await asyncio.to_thread(
            registry.claim, url, run_id=self.run_id, tables=tables,
            say=lambda line: self.progress.note(f"sqla-bench: {line}"), name=cfg.namespace)

    async def _release_namespace(self) -> None:
        claimed, self.namespace = self.namespace, None
        await self._release(claimed)

    async def _release(self, claimed: registry.Namespace | None) -> None:
        if claimed is None:
            return
        try:
            await asyncio.to_thread(registry.release, claimed)
        except Exception as exc:  # noqa: BLE001 - the measurements stand; say what is left
            self.progress.note(f"sqla-bench: warning: could not drop namespace {claimed.name} "
                               f"({describe_error(exc, [self.config.url.password])}); "
                               "the next run or `sqla-bench clean` drops it")

    @property
    def total_cases(self) -> int:
        return case_count(self.points) * len(self.paths)

    def save_interrupted(self) -> int:
        """After Ctrl-C: mark the run interrupted and write it; the cases finished."""
        if self.doc is None:
            return 0
        self.doc["run_status"] = "interrupted"
        self._write()
        return len(self.doc["cases"])

    def _stop_if_requested(self) -> None:
        if self.stop_requested:
            raise RunInterrupted()

    # -- the run ---------------------------------------------------------------

    async def run(self) -> RunRecord:
        """Measure every point; returns the results document (also written to disk)."""
        cfg = self.config
        check_engine = hooks_engine(cfg.driver, self.paths[0].url, cfg.connect_timeout)
        try:
            server = await self._check_server(check_engine)
            await check_engine.dispose()
            await self._claim_namespace()
            if cfg.distributed:
                await self._start_cluster()
            if cfg.driver.is_sync:
                await self._check_sync_driver()
            doc = self._header(server)
            self.doc = doc
            if cfg.proxy is not None:
                doc["network"] = await self._network_record(cfg.proxy)
            self._write()
            passes = len(self.paths)
            rounds = passes * sum(len(p.variants) for p in self.points) * (cfg.warmup + cfg.rounds)
            left_out = passes * sum(len(p.skipped) for p in self.points)
            skipped = f" ({left_out} more the driver cannot run: skipped)" if left_out else ""
            # The counter counts the cases the header names; the skipped ones are listed
            # by name at the end of the run.
            self.progress.start(
                f"sqla-bench: {self.total_cases} cases{skipped} in {len(self.points) * passes} "
                f"points on {cfg.driver.name} at {mask(cfg.url)}{self._rtt_note()}, profile "
                f"{cfg.profile}, {cfg.schedule} schedule, {cfg.warmup} warmup + {cfg.rounds} "
                "timed rounds each", rounds, self.total_cases)
            await check_engine.dispose()
            for path in self.paths:
                if not self._fell_back:
                    await self._run_pass(path)
            doc["run_status"] = "complete"
            self._write()
        except network.ProxyDied:
            self.save_interrupted()
            raise
        finally:
            self.progress.close()
            await check_engine.dispose()
            if self.cluster is not None:
                await self.cluster.close()
            await self._release_namespace()
        return doc

    async def _start_cluster(self) -> None:
        """Start or reach the load workers, check their versions, and plan for as many
        processes as there are workers."""
        from bench.scale.cluster import LoadCluster  # Dask only for --processes/--cluster

        cfg = self.config
        self.cluster = await LoadCluster.open(cfg.cluster, cfg.processes, cfg.connect_timeout)
        self.points = self._plan(len(await self.cluster.workers()))

    def _rtt_note(self) -> str:
        if self.config.proxy is None:
            return ""
        return " through the delaying proxy, " + ", ".join(rtt_text(p.rtt_ms) for p in self.paths)

    async def _network_record(self, proxy: network.DelayProxy) -> NetworkRecord:
        """What the proxy says of itself, and what it adds to a round trip, measured."""
        cfg = self.config
        try:
            calibration = await network.measure_added_delay(cfg.driver, cfg.url, self.paths,
                                                  cfg.connect_timeout)
        except Exception as exc:  # noqa: BLE001 - every driver raises its own kinds
            raise network.NetworkError(
                f"timing SELECT 1 through the --rtt proxy failed ({proxy.exit_status()}): "
                f"{describe_error(exc, [cfg.url.password])}") from None
        return {"target": proxy.facts["target"], "realtime": proxy.facts["realtime"],
                "timer_slack_1ns": proxy.facts["timer_slack_1ns"],
                "calibration": calibration}  # type: ignore[typeddict-item]

    async def _run_pass(self, path: network.NetworkPath) -> None:
        """Every point through one network path (switching to direct if the proxy dies
        and --rtt-fallback allows it)."""
        cfg = self.config
        setup_engine = hooks_engine(cfg.driver, path.url, cfg.connect_timeout)
        try:
            for point in self.points:
                usable = self._usable_path(path)
                if usable is not path:
                    await setup_engine.dispose()
                    path = usable
                    setup_engine = hooks_engine(cfg.driver, path.url, cfg.connect_timeout)
                await self._run_point(point, setup_engine, path)
        finally:
            await setup_engine.dispose()

    def _usable_path(self, path: network.NetworkPath) -> network.NetworkPath:
        """`path`, unless the proxy died: then the direct one (--rtt-fallback) or stop."""
        cfg = self.config
        if path.rtt_ns is None or cfg.proxy is None or cfg.proxy.alive():
            return path
        later = self.paths[self.paths.index(path) + 1:]
        warning = network.after_death(cfg.proxy, path, later, cfg.rtt_fallback, cfg.output)
        self._fell_back = True
        self._document().setdefault("warnings", []).append(warning)
        self._document().setdefault("network", {})["fell_back"] = warning
        self.progress.note(f"warning: {warning}")
        return network.NetworkPath(None, self._in_namespace(cfg.url))

    async def _check_sync_driver(self) -> None:
        """The sync driver itself connects too (it may differ from its async sibling)."""
        cfg = self.config
        engine = make_sync_engine(cfg.driver, self.paths[0].url,
                                  connect_timeout=cfg.connect_timeout)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # noqa: BLE001
            raise DatabaseError(describe_connect_error(exc, cfg.url)) from None
        finally:
            engine.dispose()

    async def _check_server(self, engine: AsyncEngine) -> dict[str, str]:
        """Connect once before any case, so a wrong URL fails in one line, at once."""
        cfg = self.config
        try:
            async with asyncio.timeout(cfg.connect_timeout + 2):
                async with engine.connect() as conn:
                    info: dict[str, str] = await conn.run_sync(server_info)
                    self._server_settings = await conn.run_sync(server_settings)
                    return info
        except Exception as exc:  # noqa: BLE001 - every driver raises its own kinds
            raise DatabaseError(describe_connect_error(exc, cfg.url)) from None

    def _header(self, server: dict[str, str]) -> RunRecord:
        cfg = self.config
        created = datetime.now(UTC)
        return {
            "schema_version": results.SCHEMA_VERSION,
            "tool_version": bench.__version__,
            "run_id": self.run_id,
            "label": cfg.label or f"{cfg.driver.name} {created:%Y-%m-%d %H:%M:%S}",
            "created_at": created.isoformat(timespec="seconds"),
            "run_status": "running",
            "environment": environment.collect(cfg.driver, server, cfg.loop,  # type: ignore[typeddict-item]
                                               self._server_settings),
            "config": {
                "driver": cfg.driver.name,
                "backend": cfg.driver.backend,
                "sync": cfg.driver.is_sync,
                "url": mask(cfg.url),
                "profile": cfg.profile,
                "warmup": cfg.warmup,
                "rounds": cfg.rounds,
                "seed": cfg.seed,
                "schedule": cfg.schedule,
                "scenario_filter": [f.name for f in cfg.families],
                "variant_filter": cfg.variants,
                "param_overrides": cfg.overrides,
                "connect_timeout": cfg.connect_timeout,
                "event_loop": cfg.loop,
                "profile_code": cfg.profile_code,
                "count_calls": cfg.count_calls and not cfg.distributed,
                **({"processes": cfg.processes} if cfg.processes is not None else {}),
                **({"cluster": self.cluster.address} if self.cluster and cfg.cluster else {}),
                **({"rate": cfg.rate} if cfg.rate is not None else {}),
                **({"rtt_ms": [rtt / 1e6 for rtt in cfg.proxy.rtts_ns],
                    "rtt_fallback": cfg.rtt_fallback} if cfg.proxy is not None else {}),
                "explain": cfg.explain,
                "measure": cfg.measure,
                **({"sqlite_pragmas": dict(namespace.OWN_SQLITE_PRAGMAS)}
                   if cfg.driver.backend == "sqlite" else {}),
            },
            "families": {f.name: _family_record(f, cfg.driver.backend) for f in cfg.families},
            "cases": [],
        }

    def _document(self) -> RunRecord:
        assert self.doc is not None, "the run has not started"
        return self.doc

    def _write(self) -> None:
        doc = self._document()
        doc["environment"]["load_end"] = environment.machine_load()  # type: ignore[typeddict-item]
        if self.config.proxy is not None:
            stats = self.config.proxy.stats()
            if stats is not None:
                doc.setdefault("network", {})["proxy_cpu_ms"] = round(stats["cpu_ns"] / 1e6, 1)
        results.write_atomic(self.config.output, doc)

    # -- one point -------------------------------------------------------------

    async def _run_point(self, point: Point, setup_engine: AsyncEngine,
                         path: network.NetworkPath) -> None:
        cfg = self.config
        family = point.family
        records = new_records(point, cfg.driver.name)
        open_case = await self._case_opener(point)
        how = Measuring(schedule=cfg.schedule, warmup=cfg.warmup, rounds=cfg.rounds,
                        count_calls=cfg.count_calls and open_case is None,
                        profile_to=cfg.output if cfg.profile_code else None,
                        explain=cfg.explain)
        where = "" if path.rtt_ns is None else f" {rtt_text(path.rtt_ms)}"
        self.progress.point_started(f"{family.name} {params_text(point.params)}{where}")
        proxy = cfg.proxy if path.rtt_ns is not None else None  # None: a direct path
        before, started = (proxy.stats() if proxy else None), time.perf_counter_ns()
        async with PointSession(family, point.params, cfg.driver, path.url,
                                setup_engine=setup_engine, connect_timeout=cfg.connect_timeout,
                                seed=cfg.seed, load=LoadShare(total_rate=cfg.rate),
                                service_url=cfg.service_url) as session:
            await measure_point(point, session, records, how, self._rng,
                                on_round=self.progress.round_done,
                                stop_check=self._stop_if_requested,
                                **({"open_case": open_case} if open_case else {}))
        if proxy is not None:
            network.mark_cases(records.values(), path, proxy, before,
                               time.perf_counter_ns() - started)
        if session.teardown_error is not None:
            warning = (f"{family.name} {params_text(point.params)}: teardown failed "
                       f"({session.teardown_error}); its tables go with the run's namespace")
            self._document().setdefault("warnings", []).append(warning)
            self.progress.note(f"warning: {warning}")
        order = list(family.variants_for(cfg.driver))
        finished = sorted(records.values(), key=lambda c: order.index(c["variant"]))
        self._document()["cases"].extend(finished)
        self._write()
        left_out = {variant.name for variant, _why in point.skipped}
        for case in finished:
            if case["variant"] in left_out:
                continue  # never planned, so not counted: named at the end of the run
            self.progress.case_finished(case)

    async def _case_opener(self, point: Point) -> OpenCase | None:
        """How the point's cases open on the load workers, or None: in this process."""
        family = point.family
        if self.cluster is None or not family.scales_at(point.params):
            return None
        from bench.scale.distributed import DistributedCase  # Dask: only with workers

        cluster, cfg = self.cluster, self.config
        workers = await cluster.ready_workers()
        wanted = family.processes_at(point.params)
        chosen = workers[:wanted] if wanted is not None else workers

        def open_case(session: PointSession, variant: Variant) -> MeasuredCase:
            return DistributedCase(cluster, session, variant, chosen, loop=cfg.loop,
                                   scenarios_path=cfg.scenarios_path)

        return open_case


def _family_record(family: Family, backend: str) -> FamilyRecord:
    """What the results file says of a family: its question, unit, reference, decisions,
    the parameter counting processes, the parameters its question needs a sweep of, and
    what to know on this backend."""
    record: FamilyRecord = {
        "question": family.question, "unit": family.unit,
        "reference": [family.reference] if isinstance(family.reference, str)
        else list(family.reference),
        "comparisons": [c.record() for c in family.comparisons],
        "processes_param": family.processes_param,
    }
    if family.sweeps:
        record["sweeps"] = list(family.sweeps)
    note = family.notes.get(backend)
    if note:
        record["note"] = note
    return record
