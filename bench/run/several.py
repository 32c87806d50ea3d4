"""A run of several drivers (`--driver asyncpg,psycopg,aiopg`): one point, every driver, the
same blocks.

Across separate runs this machine's speed drifts more than the differences between
drivers, so drivers are measured the way variants are: at every parameter point each
driver gets its own cases (own engine, own raw connection), and a block is one round of
every variant on every driver in a shuffled order (bench.measure.point.measure_points).
Every case's connections are opened afresh for every round (Measuring.reconnect): one
connection's lasting speed would otherwise bias a driver's every block. The point's data
is set up once per backend and shared by that backend's drivers. Each case then also
records its per-block ratio to the same variant on the reference driver
(bench.measure.summary.record_paired_drivers): the first driver named, or
--driver-reference; never across backends unless --pair-across-backends.

A driver whose server does not answer is named in one line and its cases are recorded
as skipped with the reason; the others run. A driver that fails mid-point fails its own
cases only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

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
from bench.measure.lifecycle import PointSession, hooks_engine
from bench.measure.plan import Point, plan
from bench.measure.point import Measuring, PointRun, measure_points, new_records
from bench.measure.summary import family_wise_driver_intervals, record_paired_drivers
from bench.results.records import CaseRecord, DriverEntry, RunRecord, params_text
from bench.run.progress import Progress
from bench.run.runner import RunConfig, RunDriver, Runner


def driver_references(drivers: list[RunDriver], reference: str | None,
                      across_backends: bool) -> dict[str, str]:
    """Each driver's reference label: `reference` (else the first named) over the whole
    run with `across_backends`; otherwise per backend, the first of that backend named
    (or `reference`, when it is of that backend)."""
    first = reference or drivers[0].label
    out = {}
    for entry in drivers:
        if across_backends:
            out[entry.label] = first
            continue
        same = [d.label for d in drivers if d.driver.backend == entry.driver.backend]
        out[entry.label] = reference if reference in same else same[0]
    return out


class SeveralRunner(Runner):
    """The runner of a run of several drivers; a run of one driver is Runner's."""

    def __init__(self, config: RunConfig,
                 progress: Progress | Callable[[str], None] | None = None) -> None:
        self.point_groups: list[dict[str, Point]] = []  # per point: each driver's plan of it
        self.down: dict[str, str] = {}  # label -> why its server did not answer
        # backend -> the run's namespace in that backend's database (bench.db.registry)
        self.namespaces: dict[str, registry.Namespace | None] = {}
        super().__init__(config, progress)
        self.progress.several_drivers = True
        self.references = driver_references(config.drivers, config.driver_reference,
                                            config.pair_across_backends)

    def _plan(self, processes: int) -> list[Point]:
        cfg = self.config
        groups: dict[tuple[str, str], dict[str, Point]] = {}
        points = []
        for entry in cfg.drivers:
            for point in plan(cfg.families, entry.driver, cfg.profile, cfg.overrides,
                              cfg.variants, processes):
                key = (point.family.name, json.dumps(point.params, sort_keys=True, default=str))
                groups.setdefault(key, {})[entry.label] = point
                points.append(point)
        self.point_groups = list(groups.values())
        return points

    @property
    def total_cases(self) -> int:
        return sum(len(p.variants) for p in self.points)

    async def run(self) -> RunRecord:
        cfg = self.config
        servers: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        for entry in cfg.drivers:
            reached = await self._reach(entry)
            if isinstance(reached, str):
                self.down[entry.label] = reached
                self.progress.note(f"sqla-bench: {entry.label} left out, its cases recorded "
                                   f"as skipped: {reached}")
            else:
                servers.setdefault(entry.driver.backend, reached)
        live = [e for e in cfg.drivers if e.label not in self.down]
        if not live:
            raise DatabaseError("no driver's server answered: "
                                + "; ".join(f"{k}: {v}" for k, v in self.down.items()))
        engines: dict[str, AsyncEngine] = {}
        try:
            for entry in live:  # a namespace of the run in each backend's database
                if entry.driver.backend not in self.namespaces:
                    self.namespaces[entry.driver.backend] = await self._claim(entry.url)
            first = live[0]
            self._server_settings = servers[first.driver.backend][1]
            doc = self._header(servers[first.driver.backend][0])
            self._describe(doc, servers)
            self.doc = doc
            self._write()
            rounds = (sum(len(p.variants) for g in self.point_groups
                          for label, p in g.items() if label not in self.down)
                      * (cfg.warmup + cfg.rounds))
            skipped = sum(len(p.skipped) for p in self.points)
            self.progress.start(
                f"sqla-bench: {self.total_cases} cases in {len(self.point_groups)} points on "
                f"{len(cfg.drivers)} drivers in the same blocks "
                f"({', '.join(f'{e.label} at {mask(e.url)}' for e in cfg.drivers)}), "
                f"profile {cfg.profile}, {cfg.schedule} schedule, {cfg.warmup} warmup + "
                f"{cfg.rounds} timed rounds each", rounds, self.total_cases + skipped)
            for entry in live:  # one setup engine per backend: its first driver's hooks
                if entry.driver.backend not in engines:
                    engines[entry.driver.backend] = hooks_engine(
                        entry.driver, self._url_of(entry), cfg.connect_timeout)
            for group in self.point_groups:
                await self._run_group(group, engines)
            doc["run_status"] = "complete"
            self._write()
        finally:
            self.progress.close()
            for engine in engines.values():
                await engine.dispose()
            for claimed in self.namespaces.values():
                await self._release(claimed)
            self.namespaces.clear()
        return doc

    def _url_of(self, entry: RunDriver) -> URL:
        """The driver's URL inside the run's namespace of its backend."""
        claimed = self.namespaces.get(entry.driver.backend)
        return entry.url if claimed is None else namespace.apply(entry.url, claimed.name)

    async def _reach(self, entry: RunDriver
                     ) -> tuple[dict[str, str], dict[str, str]] | str:
        """The driver's server facts, or why it does not answer (one line)."""
        cfg = self.config
        engine = hooks_engine(entry.driver, entry.url, cfg.connect_timeout)
        try:
            async with asyncio.timeout(cfg.connect_timeout + 2):
                async with engine.connect() as conn:
                    info: dict[str, str] = await conn.run_sync(server_info)
                    settings: dict[str, str] = await conn.run_sync(server_settings)
            if entry.driver.is_sync:  # the sync driver itself connects too
                sync_engine = make_sync_engine(entry.driver, entry.url,
                                               connect_timeout=cfg.connect_timeout)
                try:
                    with sync_engine.connect() as sync_conn:
                        sync_conn.exec_driver_sql("SELECT 1")
                finally:
                    sync_engine.dispose()
            return info, settings
        except Exception as exc:  # noqa: BLE001 - every driver raises its own kinds
            return describe_connect_error(exc, entry.url)
        finally:
            await engine.dispose()

    def _describe(self, doc: RunRecord,
                  servers: dict[str, tuple[dict[str, str], dict[str, str]]]) -> None:
        """What a run of several drivers adds to the header."""
        cfg = self.config
        labels = [e.label for e in cfg.drivers]
        if cfg.label is None:
            doc["label"] = f"{','.join(labels)} {doc['created_at'].replace('T', ' ')[:19]}"
        doc["environment"]["driver_versions"] = {e.driver.name: e.driver.version()
                                                 for e in cfg.drivers}
        if len(servers) > 1:
            doc["environment"]["servers"] = {b: info for b, (info, _) in servers.items()}
        entries: list[DriverEntry] = []
        for e in cfg.drivers:
            ref = self.references.get(e.label)
            item: DriverEntry = {"label": e.label, "driver": e.driver.name,
                                 "backend": e.driver.backend, "sync": e.driver.is_sync,
                                 "url": mask(e.url),
                                 "reference": None if ref == e.label else ref}
            if e.label in self.down:
                item["skipped"] = self.down[e.label]
            entries.append(item)
        doc["config"]["drivers"] = entries
        doc["config"]["driver_reference"] = self.references[cfg.drivers[0].label]
        doc["config"]["pair_across_backends"] = cfg.pair_across_backends
        if any(e.driver.backend == "sqlite" for e in cfg.drivers):
            doc["config"]["sqlite_pragmas"] = dict(namespace.OWN_SQLITE_PRAGMAS)

    async def _run_group(self, group: dict[str, Point], engines: dict[str, AsyncEngine]) -> None:
        """One parameter point on every driver that plans it, in the same blocks."""
        cfg = self.config
        by_label = {e.label: e for e in cfg.drivers}
        family, params = next(iter(group.values())).family, next(iter(group.values())).params
        how = Measuring(schedule=cfg.schedule, warmup=cfg.warmup, rounds=cfg.rounds,
                        count_calls=cfg.count_calls,
                        profile_to=cfg.output if cfg.profile_code else None,
                        explain=cfg.explain, reconnect=True)
        self.progress.point_started(f"{family.name} {params_text(params)}")
        records: dict[str, dict[str, CaseRecord]] = {}
        runs: list[PointRun] = []
        sessions: dict[str, PointSession] = {}
        async with AsyncExitStack() as stack:
            for label, point in group.items():
                entry = by_label[label]
                records[label] = new_records(point, label)
                if label in self.down:
                    for record in records[label].values():
                        record["error"] = record["error"] or f"skipped: {self.down[label]}"
                    continue
                backend = entry.driver.backend
                if backend not in sessions:  # the data: once per backend
                    sessions[backend] = await stack.enter_async_context(PointSession(
                        family, params, entry.driver, self._url_of(entry),
                        setup_engine=engines[backend],
                        connect_timeout=cfg.connect_timeout, seed=cfg.seed,
                        load=LoadShare(total_rate=cfg.rate), service_url=cfg.service_url))
                view = sessions[backend].for_driver(entry.driver, self._url_of(entry))
                runs.append(PointRun(point, view, records[label], label))
            await measure_points(runs, how, self._rng, on_round=self.progress.round_done,
                                 stop_check=self._stop_if_requested)
        for session in sessions.values():
            if session.teardown_error is not None:
                warning = (f"{family.name} {params_text(params)}: teardown failed "
                           f"({session.teardown_error}); its sqlab_ tables are dropped by "
                           "the next run")
                self._document().setdefault("warnings", []).append(warning)
                self.progress.note(f"warning: {warning}")
        record_paired_drivers(records, self.references)
        finished = []
        for label, cases in records.items():
            order = list(family.variants_for(by_label[label].driver))
            finished += sorted(cases.values(), key=lambda c: order.index(c["variant"]))
        self._document()["cases"].extend(finished)
        family_wise_driver_intervals(self._document()["cases"])
        self._write()
        for case in finished:
            self.progress.case_finished(case)


def driver_labels(doc: RunRecord | dict[str, Any]) -> list[str]:
    """The drivers of a run as it names them (one for a run of one driver)."""
    drivers = doc["config"].get("drivers")
    if drivers:
        return [d["label"] for d in drivers]
    return [str(doc["config"].get("driver", "?"))]
