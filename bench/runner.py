"""The runner: measures every point of a run's plan and writes each one as it finishes.

For each point of the plan (bench.plan): create the family's tables and run its setup
(bench.lifecycle.PointSession), open a case per variant, run their rounds in the chosen
order (bench.schedule), then the untimed extra rounds (calls, memory, profile), and turn
the rounds into case records (bench.summary) checked against each other
(bench.agreement). A case that fails is recorded with its error and the run goes on.
The results file is replaced atomically after every point, so an interrupted run keeps
every point it finished.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

import bench
from bench import environment, results
from bench.database import (
    DatabaseError,
    describe_connect_error,
    make_sync_engine,
    mask,
    server_info,
)
from bench.drivers import Driver
from bench.lifecycle import PointSession, hooks_engine
from bench.measure import Measuring, measure_point, new_records
from bench.plan import Point, case_count, plan
from bench.progress import LineProgress, Progress
from bench.records import RunRecord, params_text
from bench.scenario import Family
from bench.schedule import ScheduleName


@dataclass
class RunConfig:
    driver: Driver
    url: URL
    families: list[Family]
    profile: str = "quick"
    warmup: int = 2
    rounds: int = 20
    overrides: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # per family
    variants: list[str] | None = None  # only these variant names, when given
    seed: int = 0
    connect_timeout: float = 10.0
    loop: str = "asyncio"
    output: Path = Path("results/run.json")
    profile_code: bool = False
    schedule: ScheduleName = "interleaved"
    count_calls: bool = True
    label: str | None = None
    explain: bool = False


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
        self.points = plan(config.families, config.driver, config.profile, config.overrides,
                           config.variants)
        self.total_cases = case_count(self.points)
        self.doc: RunRecord | None = None  # the results document, once the run started
        self.stop_requested = False  # set by Ctrl-C: stop before the next round
        self._rng = random.Random(config.seed)

    def _stop_if_requested(self) -> None:
        if self.stop_requested:
            raise RunInterrupted()

    # -- the run ---------------------------------------------------------------

    async def run(self) -> RunRecord:
        """Measure every point; returns the results document (also written to disk)."""
        cfg = self.config
        setup_engine = hooks_engine(cfg.driver, cfg.url, cfg.connect_timeout)
        try:
            server = await self._check_server(setup_engine)
            if cfg.driver.is_sync:
                await self._check_sync_driver()
            doc = self._header(server)
            self.doc = doc
            self._write()
            rounds = sum(len(p.variants) for p in self.points) * (cfg.warmup + cfg.rounds)
            self.progress.start(
                f"sqla-bench: {self.total_cases} cases in {len(self.points)} points on "
                f"{cfg.driver.name} at {mask(cfg.url)}, profile {cfg.profile}, {cfg.schedule} "
                f"schedule, {cfg.warmup} warmup + {cfg.rounds} timed rounds each",
                rounds, self.total_cases + sum(len(p.skipped) for p in self.points))
            for point in self.points:
                await self._run_point(point, setup_engine)
            doc["run_status"] = "complete"
            self._write()
        finally:
            self.progress.close()
            await setup_engine.dispose()
        return doc

    async def _check_sync_driver(self) -> None:
        """The sync driver itself connects too (it may differ from its async sibling)."""
        cfg = self.config
        engine = make_sync_engine(cfg.driver, cfg.url, connect_timeout=cfg.connect_timeout)
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
                    return info
        except Exception as exc:  # noqa: BLE001 - every driver raises its own kinds
            raise DatabaseError(describe_connect_error(exc, cfg.url)) from None

    def _header(self, server: dict[str, str]) -> RunRecord:
        cfg = self.config
        created = datetime.now(UTC)
        return {
            "schema_version": results.SCHEMA_VERSION,
            "tool_version": bench.__version__,
            "run_id": uuid.uuid4().hex,
            "label": cfg.label or f"{cfg.driver.name} {created:%Y-%m-%d %H:%M:%S}",
            "created_at": created.isoformat(timespec="seconds"),
            "run_status": "running",
            "environment": environment.collect(cfg.driver, server, cfg.loop),  # type: ignore[typeddict-item]
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
                "count_calls": cfg.count_calls,
                "explain": cfg.explain,
            },
            "families": {f.name: {"question": f.question, "unit": f.unit,
                                  "reference": [f.reference] if isinstance(f.reference, str)
                                  else list(f.reference),
                                  "comparisons": [c.record() for c in f.comparisons]}
                         for f in cfg.families},
            "cases": [],
        }

    def _document(self) -> RunRecord:
        assert self.doc is not None, "the run has not started"
        return self.doc

    def _write(self) -> None:
        results.write_atomic(self.config.output, self._document())

    # -- one point -------------------------------------------------------------

    async def _run_point(self, point: Point, setup_engine: AsyncEngine) -> None:
        cfg = self.config
        family = point.family
        records = new_records(point, cfg.driver.name)
        how = Measuring(schedule=cfg.schedule, warmup=cfg.warmup, rounds=cfg.rounds,
                        count_calls=cfg.count_calls,
                        profile_to=cfg.output if cfg.profile_code else None,
                        explain=cfg.explain)
        self.progress.point_started(f"{family.name} {params_text(point.params)}")
        async with PointSession(family, point.params, cfg.driver, cfg.url,
                                setup_engine=setup_engine, connect_timeout=cfg.connect_timeout,
                                seed=cfg.seed) as session:
            await measure_point(point, session, records, how, self._rng,
                                on_round=self.progress.round_done,
                                stop_check=self._stop_if_requested)
        if session.teardown_error is not None:
            warning = (f"{family.name} {params_text(point.params)}: teardown failed "
                       f"({session.teardown_error}); its sqlab_ tables are dropped by the next run")
            self._document().setdefault("warnings", []).append(warning)
            self.progress.note(f"warning: {warning}")
        order = list(family.variants_for(cfg.driver))
        finished = sorted(records.values(), key=lambda c: order.index(c["variant"]))
        self._document()["cases"].extend(finished)
        self._write()
        for case in finished:
            self.progress.case_finished(case)
