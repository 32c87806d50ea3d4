"""A replay run: every driver x pool size x form, interleaved, at each RTT; one results file.

A replay is a run like any other to `report` and `compare`: its family is
"replay:<workload name>", its variants are the forms (raw, core, session; raw is the
reference), its params hold driver, pool_size and concurrency, and each case's
`extra.replay` holds what only a replay has (bench.replay.tally). Per RTT pass, every
case of every driver and pool size is opened first, then rounds run in shuffled blocks
across all of them (bench.measure.schedule), so a slow minute lands on every driver alike
and driver ratios are paired per block like variant ratios. The document's `replay`
section holds the workload's facts and the paired driver ratios.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

import bench
from bench.db.database import DatabaseError, describe_connect_error, make_engine, mask, server_info
from bench.db.drivers import Driver
from bench.measure.lifecycle import describe_error
from bench.measure.schedule import Entry, measure
from bench.measure.summary import record_paired, record_rounds
from bench.replay.case import Pace, ReplayCase
from bench.replay.forms import FORM_CLASSES, FORMS, REFERENCE
from bench.replay.workload import Workload
from bench.results import file as results
from bench.results import stats
from bench.results.records import CaseRecord, RunRecord, new_case, rtt_text
from bench.rtt import control as network
from bench.run import environment


@dataclass
class ReplayConfig:
    workload: Workload
    drivers: list[Driver]
    urls: dict[str, URL]  # per driver, the target
    pool_sizes: list[int]
    concurrency: int | None = None  # None: each pool size's own
    forms: list[str] = field(default_factory=lambda: list(FORMS))
    commit: bool = False
    transaction: bool = True  # False: --no-transaction, each statement in autocommit
    think: bool = False  # --think-time captured
    processes: int | None = None  # spread each case over this many local worker processes
    cluster: str | None = None  # or over the workers of this Dask scheduler
    rate: float | None = None
    speed: float | None = None
    warmup: int = 1
    rounds: int = 5
    seed: int = 0
    connect_timeout: float = 10.0
    output: Path = Path("results/replay.json")
    label: str | None = None
    proxy: network.DelayProxy | None = None

    @property
    def family(self) -> str:
        return f"replay:{self.workload.name}"


class ReplayRunner:
    def __init__(self, config: ReplayConfig, note: Any = None) -> None:
        self.config = config
        self.note = note or (lambda line: None)
        self.doc: RunRecord | None = None
        self._rng = random.Random(config.seed)
        self.cluster: Any = None  # bench.scale.cluster.LoadCluster, for a spread replay
        self.workers: list[str] = []

    def paths(self, driver: Driver) -> list[network.NetworkPath]:
        url = self.config.urls[driver.name]
        proxy = self.config.proxy
        if proxy is None:
            return [network.NetworkPath(None, url)]
        return [network.NetworkPath(p.rtt_ns, p.url.set(drivername=url.drivername))
                for p in proxy.paths()]

    async def run(self) -> RunRecord:
        cfg = self.config
        server = await self._check_servers()
        doc = self._header(server)
        self.doc = doc
        if cfg.proxy is not None:
            first = cfg.drivers[0]
            doc["network"] = {"target": cfg.proxy.facts["target"],
                              "calibration": await network.measure_added_delay(  # type: ignore[typeddict-item]
                                  first, cfg.urls[first.name], self.paths(first),
                                  cfg.connect_timeout)}
        results.write_atomic(cfg.output, doc)
        passes = len(self.paths(cfg.drivers[0]))
        if cfg.processes or cfg.cluster:
            await self._start_cluster()
        try:
            for index in range(passes):
                await self._run_pass(index)
                results.write_atomic(cfg.output, doc)
        finally:
            if self.cluster is not None:
                await self.cluster.close()
        doc["replay"]["driver_ratios"] = driver_ratios(doc["cases"],
                                                       [d.name for d in cfg.drivers])
        doc["run_status"] = "complete"
        results.write_atomic(cfg.output, doc)
        return doc

    async def _start_cluster(self) -> None:
        from bench.scale.cluster import LoadCluster  # Dask only for --processes/--cluster

        cfg = self.config
        self.cluster = await LoadCluster.open(cfg.cluster, cfg.processes, cfg.connect_timeout)
        self.workers = await self.cluster.workers()
        assert self.doc is not None
        self.doc["replay"]["processes"] = len(self.workers)
        self.note(f"replaying on {len(self.workers)} worker processes")

    def _case(self, driver: Driver, form: str, url: URL, pool_size: int,
              pace: Pace) -> Any:
        """A case in this process, or spread over the cluster's workers."""
        cfg = self.config
        think = pace.scale if cfg.think else None
        name = f"{driver.name} {form} pool={pool_size}"
        if self.cluster is not None:
            from bench.replay.spread import SpreadReplayCase, part_spec

            spec = part_spec(cfg.workload, form, driver.name, url, pool_size, pace,
                             commit=cfg.commit, transaction=cfg.transaction,
                             think_scale=think, connect_timeout=cfg.connect_timeout)
            return SpreadReplayCase(self.cluster, self.workers, spec, name)
        source = FORM_CLASSES[form](driver, url, pool_size, commit=cfg.commit,
                                    connect_timeout=cfg.connect_timeout,
                                    transaction=cfg.transaction, think_scale=think)
        return ReplayCase(cfg.workload, source, pace, name)

    async def _check_servers(self) -> dict[str, str]:
        """Connect once per driver before anything, so a wrong URL is one line at once."""
        info: dict[str, str] = {}
        for driver in self.config.drivers:
            url = self.config.urls[driver.name]
            engine = make_engine(driver, url, connect_timeout=self.config.connect_timeout)
            try:
                async with asyncio.timeout(self.config.connect_timeout + 2):
                    async with engine.connect() as conn:
                        info = await conn.run_sync(server_info)
            except Exception as exc:  # noqa: BLE001 - every driver raises its own kinds
                raise DatabaseError(describe_connect_error(exc, url)) from None
            finally:
                await engine.dispose()
        return info

    def _header(self, server: dict[str, str]) -> RunRecord:
        cfg = self.config
        created = datetime.now(UTC)
        wl = cfg.workload
        names = ",".join(d.name for d in cfg.drivers)
        env = environment.collect(cfg.drivers[0], server, "asyncio")
        env["driver_versions"] = {d.name: d.version() for d in cfg.drivers}
        return {
            "schema_version": results.SCHEMA_VERSION,
            "tool_version": bench.__version__,
            "run_id": uuid.uuid4().hex,
            "label": cfg.label or f"replay {wl.name} {names} {created:%Y-%m-%d %H:%M:%S}",
            "created_at": created.isoformat(timespec="seconds"),
            "run_status": "running",
            "environment": env,  # type: ignore[typeddict-item]
            "config": {"driver": names, "backend": wl.backend, "sync": False,
                       "url": mask(cfg.urls[cfg.drivers[0].name]), "profile": "replay",
                       "warmup": cfg.warmup, "rounds": cfg.rounds, "seed": cfg.seed,
                       "schedule": "interleaved", "scenario_filter": [cfg.family],
                       "variant_filter": list(cfg.forms), "param_overrides": {},
                       "connect_timeout": cfg.connect_timeout, "event_loop": "asyncio",
                       "profile_code": False, "count_calls": False, "explain": False,
                       **({"rate": cfg.rate} if cfg.rate is not None else {}),
                       **({"rtt_ms": [r / 1e6 for r in cfg.proxy.rtts_ns]}
                          if cfg.proxy is not None else {})},
            "families": {cfg.family: {
                "question": f"How fast does {wl.name}'s statement mix run through each driver, "
                            "pool size and form?",
                "unit": "units", "reference": [REFERENCE]}},
            "cases": [],
            "replay": {"workload": str(wl.path.name), "units": len(wl.units),
                       "statements": wl.statements, "captured_backend": wl.backend,
                       "captured_driver": wl.driver, "captured_server": wl.server_version,
                       "redacted": wl.redacted, "truncated": wl.truncated,
                       "notes": wl.notes, "commit": cfg.commit,
                       "transaction": cfg.transaction,
                       "think_time": "captured" if cfg.think else "none",
                       "speed": cfg.speed, "rate": cfg.rate,
                       "captured_statements_per_unit": round(wl.statements / len(wl.units), 4)},
        }

    async def _run_pass(self, index: int) -> None:
        cfg = self.config
        entries: list[tuple[Entry, CaseRecord, Any]] = []
        rtt_ms: float | None = None
        for driver, pool_size, form in itertools.product(cfg.drivers, cfg.pool_sizes,
                                                         cfg.forms):
            path = self.paths(driver)[index]
            rtt_ms = path.rtt_ms
            concurrency = cfg.concurrency or pool_size
            params = {"driver": driver.name, "pool_size": pool_size,
                      "concurrency": concurrency}
            record = new_case(cfg.family, form, params, unit="units",
                              ops_per_round=len(cfg.workload.units), driver=driver.name)
            if path.rtt_ns is not None:
                record["rtt_ms"] = path.rtt_ms
            pace = Pace(concurrency, rate=cfg.rate, speed=cfg.speed, think=cfg.think)
            case = self._case(driver, form, path.url, pool_size, pace)
            entries.append((Entry(case), record, case))
        self.note(f"replaying {len(cfg.workload.units)} units x {len(entries)} cases, "
                  f"{cfg.warmup} warmup + {cfg.rounds} rounds{_where(rtt_ms, cfg.proxy)}")

        async def finish(entry: Entry) -> None:
            return None

        await measure([e for e, _, _ in entries], schedule="interleaved", warmup=cfg.warmup,
                      rounds=cfg.rounds, rng=self._rng, finish=finish)
        records = []
        for entry, record, case in entries:
            secrets = [cfg.urls[record["driver"]].password]
            if entry.error is not None:
                record["status"] = "error"
                record["error"] = describe_error(entry.error, secrets)
            else:
                record["status"] = "ok"
                record_rounds(record, entry.rounds, entry.blocks, entry.machine_ns)
            record["extra"]["replay"] = case.tally.record()
            if self.cluster is not None:
                record["extra"]["load_processes"] = len(self.workers)
                record["extra"]["workers"] = case.per_worker
            records.append(record)
        for _, point in itertools.groupby(records, key=lambda r: (r["driver"],
                                                                  r["params"]["pool_size"])):
            record_paired(list(point), REFERENCE)
        assert self.doc is not None
        self.doc["cases"].extend(records)


def _where(rtt_ms: float | None, proxy: Any) -> str:
    return "" if proxy is None else f" at {rtt_text(rtt_ms)}"


def driver_ratios(cases: list[CaseRecord], drivers: list[str]) -> list[dict[str, Any]]:
    """Per form, pool size and RTT, each pair of drivers: the candidate's units/s over the
    other's, per block (both ran in every block), median and 95% interval."""
    found = []
    by_key: dict[tuple[Any, ...], dict[str, CaseRecord]] = {}
    for case in cases:
        if case["status"] != "ok":
            continue
        key = (case["variant"], case["params"]["pool_size"], case["params"]["concurrency"],
               case.get("rtt_ms"))
        by_key.setdefault(key, {})[case["driver"]] = case
    for (form, pool_size, concurrency, rtt_ms), by_driver in by_key.items():
        for candidate, against in itertools.combinations(drivers, 2):
            a, b = by_driver.get(candidate), by_driver.get(against)
            if a is None or b is None:
                continue
            # time per unit of `against` over that of `candidate`: the candidate's speed-up
            ratios = stats.block_ratios(b["samples_ns"], b["blocks"], b["ops_per_round"],
                                        a["samples_ns"], a["blocks"], a["ops_per_round"])
            if not ratios:
                continue
            median, low, high = stats.ratio_summary(ratios)
            found.append({"form": form, "pool_size": pool_size, "concurrency": concurrency,
                          "rtt_ms": rtt_ms, "candidate": candidate, "against": against,
                          "units_per_s_ratio": round(median, 4), "ci95_low": round(low, 4),
                          "ci95_high": round(high, 4), "blocks": len(ratios)})
    return found


def decision_text(ratio: dict[str, Any]) -> str:
    """`asyncpg instead of psycopg: 1.31x (1.22-1.40) units/s at pool 20, rtt=1ms (raw)`."""
    where = rtt_text(ratio["rtt_ms"])
    return (f"{ratio['candidate']} instead of {ratio['against']}: "
            f"{ratio['units_per_s_ratio']:.2f}x ({ratio['ci95_low']:.2f}-"
            f"{ratio['ci95_high']:.2f}) units/s at pool {ratio['pool_size']}, {where} "
            f"({ratio['form']})")
