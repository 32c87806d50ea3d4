"""The runner: measures every case of a run and writes each one as it finishes.

For each family and parameter combination: create the family's tables, run its
setup, then for each variant one *case*: a fresh engine (and raw connection),
warmup rounds, then timed rounds, each timed with perf_counter_ns around exactly
one call of the variant. Statements are counted with a before_cursor_execute
listener. After the last variant, the variants' data are compared and the
ratio of each variant to raw_driver is recorded.

A case that fails is recorded with its error and the run goes on. The results
file is replaced atomically after every case, so an interrupted run keeps all
it finished.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import inspect
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

import bench
from bench import environment, results, stats
from bench.database import (
    DatabaseError,
    core_engine,
    create_owned_tables,
    describe_connect_error,
    dispose_engine,
    drop_owned_tables,
    make_engine,
    mask,
    mask_text,
    server_info,
)
from bench.drivers import Driver, get_driver
from bench.scenario import Context, Family, Variant, canonical
from bench.units import fmt_duration

RAW_VARIANT = "raw_driver"
STRAY_TASK_TIMEOUT = 10.0  # seconds a cancelled stray task gets to unwind


@dataclass
class RunConfig:
    driver: Driver
    url: URL
    families: list[Family]
    profile: str = "quick"
    warmup: int = 1
    rounds: int = 10
    overrides: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # per family
    variants: list[str] | None = None  # only these variant names, when given
    seed: int = 0
    connect_timeout: float = 10.0
    loop: str = "asyncio"
    output: Path = Path("results/run.json")
    profile_code: bool = False


@dataclass
class _Group:
    """One family at one parameter combination: the unit of setup and of the data check."""

    family: Family
    params: dict[str, Any]
    variants: list[Variant]


class RunInterrupted(BaseException):
    """The user asked the run to stop (Ctrl-C). A BaseException, so no case records it as
    its error: it unwinds every case and group (their cleanup runs) up to the CLI."""


class Runner:
    def __init__(self, config: RunConfig, progress: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.progress = progress or (lambda line: None)
        self.groups = self._plan()
        self.total_cases = sum(len(g.variants) for g in self.groups)
        self.doc: dict[str, Any] = {}
        self._started = 0.0
        self._finished_cases = 0
        self.stop_requested = False  # set by Ctrl-C: stop before the next round

    def _stop_if_requested(self) -> None:
        if self.stop_requested:
            raise RunInterrupted()

    # -- planning ------------------------------------------------------------

    def _plan(self) -> list[_Group]:
        groups = []
        for family in self.config.families:
            chosen = [
                v
                for name, v in family.variants_for(self.config.driver).items()
                if self.config.variants is None or name in self.config.variants
            ]
            if not chosen:
                continue  # e.g. a family with no sync variants, on a sync driver
            for params in family.grid(self.config.profile, self.config.overrides.get(family.name)):
                groups.append(_Group(family, params, chosen))
        return groups

    # -- the run ---------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Measure every case; returns the results document (also written to disk)."""
        cfg = self.config
        setup_engine = self._make_setup_engine()
        try:
            server = await self._check_server(setup_engine)
            if cfg.driver.is_sync:
                await self._check_sync_driver()
            self.doc = self._header(server)
            self._write()
            self.progress(
                f"sqla-bench: {self.total_cases} cases on {cfg.driver.name} at {mask(cfg.url)}, "
                f"profile {cfg.profile}, {cfg.warmup} warmup + {cfg.rounds} rounds each")
            self._started = time.monotonic()
            for group in self.groups:
                await self._run_group(group, setup_engine)
            self.doc["run_status"] = "complete"
            self._write()
        finally:
            await setup_engine.dispose()
        return self.doc

    def _make_setup_engine(self, **options: Any) -> AsyncEngine:
        """The async engine of setup, teardown and round hooks: on a sync driver, its
        async sibling on the same database (hooks are async code, and untimed)."""
        cfg = self.config
        driver, url = cfg.driver, cfg.url
        if driver.is_sync:
            driver = get_driver(driver.async_sibling)
            url = url.set(drivername=driver.scheme)
        # pool_pre_ping: a connection the server dropped between groups is replaced
        # instead of failing the next setup (this engine is never timed).
        return make_engine(driver, url, connect_timeout=cfg.connect_timeout,
                           pool_pre_ping=True, **options)

    async def _check_sync_driver(self) -> None:
        """The sync driver itself connects too (it may differ from its async sibling)."""
        cfg = self.config
        engine = make_engine(cfg.driver, cfg.url, connect_timeout=cfg.connect_timeout)
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
                    return await conn.run_sync(server_info)
        except Exception as exc:  # noqa: BLE001 - every driver raises its own kinds
            raise DatabaseError(describe_connect_error(exc, cfg.url)) from None

    def _header(self, server: dict[str, str]) -> dict[str, Any]:
        cfg = self.config
        return {
            "schema_version": results.SCHEMA_VERSION,
            "tool_version": bench.__version__,
            "run_id": uuid.uuid4().hex,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "run_status": "running",
            "environment": environment.collect(cfg.driver, server, cfg.loop),
            "config": {
                "driver": cfg.driver.name,
                "backend": cfg.driver.backend,
                "sync": cfg.driver.is_sync,
                "url": mask(cfg.url),
                "profile": cfg.profile,
                "warmup": cfg.warmup,
                "rounds": cfg.rounds,
                "seed": cfg.seed,
                "scenario_filter": [f.name for f in cfg.families],
                "variant_filter": cfg.variants,
                "param_overrides": cfg.overrides,
                "connect_timeout": cfg.connect_timeout,
                "event_loop": cfg.loop,
                "profile_code": cfg.profile_code,
            },
            "families": {f.name: {"question": f.question, "unit": f.unit} for f in cfg.families},
            "cases": [],
        }

    def _write(self) -> None:
        results.write_atomic(self.config.output, self.doc)

    async def _run_group(self, group: _Group, setup_engine: AsyncEngine) -> None:
        family, params = group.family, group.params
        state: dict[str, Any] = {"seed": self.config.seed}
        setup_ctx = self._context(setup_engine, params, state)
        setup_error = None
        try:
            if family.tables is not None:
                async with setup_engine.connect() as conn:
                    await conn.run_sync(create_owned_tables, family.tables)
            if family.setup_fn is not None:
                await family.setup_fn(setup_ctx)
        except Exception as exc:  # noqa: BLE001
            setup_error = f"setup failed: {self._describe(exc)}"
            if isinstance(exc, DatabaseError):
                raise  # someone else's table: stop the run rather than go on around it

        try:
            await self._run_cases(group, state, setup_error)
        finally:  # also when the run is stopped: our tables do not outlive it
            try:
                await self._teardown(family, setup_ctx)
            except Exception as exc:  # noqa: BLE001 - measured cases stay; note what was left
                self.doc.setdefault("warnings", []).append(
                    f"{family.name} {params}: teardown failed ({self._describe(exc)}); its "
                    "sqlab_ tables are dropped by the next run")
                self.progress(f"warning: {self.doc['warnings'][-1]}")
                self._write()

    async def _run_cases(self, group: _Group, state: dict[str, Any],
                         setup_error: str | None) -> None:
        family, params = group.family, group.params
        data_by_variant: dict[str, Any] = {}
        cases: list[dict[str, Any]] = []
        for variant in group.variants:
            self._stop_if_requested()
            case = results.new_case(
                family.name,
                variant.name,
                params,
                unit=family.unit,
                ops_per_round=family.ops(params),
                driver=self.config.driver.name,
            )
            if setup_error is not None:
                case["status"], case["error"] = "error", setup_error
            elif not variant.applies(self.config.driver, params):
                case["error"] = f"not applicable on {self.config.driver.name} with these parameters"
            else:
                data = await self._run_case(case, family, variant, params, state)
                if case["status"] == "ok" and variant.check:
                    data_by_variant[variant.name] = data
            cases.append(case)
            self.doc["cases"].append(case)
            self._write()
            self._report_progress(case)

        _check_agreement(cases, data_by_variant)
        _record_ratios(cases)
        self._write()

    async def _teardown(self, family: Family, ctx: Context) -> None:
        try:
            if family.teardown_fn is not None:
                await family.teardown_fn(ctx)
        finally:
            if family.tables is not None:
                async with ctx.engine.connect() as conn:
                    await conn.run_sync(drop_owned_tables, family.tables)

    def _context(
        self, engine: AsyncEngine, params: dict[str, Any], state: dict[str, Any]
    ) -> Context:
        cfg = self.config
        return Context(
            driver=cfg.driver,
            url=cfg.url,
            params=dict(params),
            engine=engine,
            state=state,
            connect_timeout=cfg.connect_timeout,
        )

    # -- one case --------------------------------------------------------------

    async def _run_case(
        self,
        case: dict[str, Any],
        family: Family,
        variant: Variant,
        params: dict[str, Any],
        state: dict[str, Any],
    ) -> Any:
        cfg = self.config
        options = {
            **(family.engine_options(params) if family.engine_options else {}),
            **variant.engine_options,
        }
        # A variant removes a family option by setting it to None (NullPool takes no pool_size).
        options = {k: v for k, v in options.items() if v is not None}

        def engine_factory(**extra: Any) -> AsyncEngine:
            engine = make_engine(
                cfg.driver, cfg.url, connect_timeout=cfg.connect_timeout, **{**options, **extra}
            )
            event.listen(core_engine(engine), "before_cursor_execute", count)
            return engine

        ctx: Context | None = None

        def count(*_args: Any) -> None:
            ctx.statements += 1  # type: ignore[union-attr]

        samples: list[int] = []
        statements = 0
        data = None
        tasks_before = asyncio.all_tasks()
        try:
            engine = engine_factory()  # inside the try: bad engine options are this case's error
            if variant.is_sync:
                hooks_engine = self._make_setup_engine()  # not counted: the hooks' own
                ctx = self._context(hooks_engine, params, state)
                ctx.sync_engine = engine  # type: ignore[assignment]
                ctx._made_engines.append(hooks_engine)
            else:
                ctx = self._context(engine, params, state)
                ctx._engine_factory = engine_factory
            ctx.variant = variant.name
            ctx._made_engines.append(engine)
            if variant.uses_raw:
                ctx.raw = await ctx.open_raw()
            if family.case_setup_fn is not None:
                await family.case_setup_fn(ctx)
            for _ in range(cfg.warmup):
                self._stop_if_requested()
                await self._round(family, variant, ctx)
            ctx.timed = True
            for _ in range(cfg.rounds):
                self._stop_if_requested()
                elapsed, data = await self._round(family, variant, ctx)
                samples.append(elapsed)
                statements += ctx.statements
            ctx.timed = False
            if family.measure_memory:
                case["extra"]["peak_memory_bytes"] = await self._memory_round(family, variant, ctx)
            if cfg.profile_code:
                case["extra"]["profile"] = await self._profile_round(case, family, variant, ctx)
            case["status"] = "ok"
        except Exception as exc:  # noqa: BLE001 - recorded, and the run goes on
            case["status"], case["error"] = "error", self._describe(exc)
        finally:
            stray = await _cancel_stray_tasks(tasks_before)
            if stray:
                case["extra"]["stray_tasks_cancelled"] = stray
            if ctx is not None and family.case_teardown_fn is not None:
                try:
                    await family.case_teardown_fn(ctx)
                except Exception as exc:  # noqa: BLE001 - the measurement stands
                    case["extra"]["case_teardown_error"] = self._describe(exc)
            await _close_case(ctx)
        case["samples_ns"] = samples
        if ctx is not None:
            case["extra"].update(ctx.extra)
        if samples:
            ops = case["ops_per_round"]
            case["stats"] = stats.summarize(samples)
            case["unstable"] = stats.is_unstable(case["stats"])
            case["statements_per_op"] = round(statements / (len(samples) * ops), 6)
            case["extra"]["statements_per_round"] = round(statements / len(samples), 2)
            case["throughput_per_s"] = ops / (case["stats"]["median"] / 1e9)
        if data is None:
            return None
        value = normalized_data(family, data)
        case["extra"].update(_describe_data(value))
        return value

    async def _round(self, family: Family, variant: Variant, ctx: Context) -> tuple[int, Any]:
        if family.before_round_fn is not None:
            await family.before_round_fn(ctx)
        ctx.statements = 0
        if variant.is_sync:
            start = time.perf_counter_ns()
            data = variant.fn(ctx)
            elapsed = time.perf_counter_ns() - start
        else:
            start = time.perf_counter_ns()
            data = await variant.fn(ctx)
            elapsed = time.perf_counter_ns() - start
        if family.after_round_fn is not None:
            statements = ctx.statements  # the check's own queries are not the variant's
            await family.after_round_fn(ctx, data)
            ctx.statements = statements
        return elapsed, data

    async def _memory_round(self, family: Family, variant: Variant, ctx: Context) -> int:
        """Peak Python memory of one extra, untimed round (tracemalloc slows the work)."""
        if family.before_round_fn is not None:
            await family.before_round_fn(ctx)
        gc.collect()
        tracemalloc.start()
        try:
            data = await _call(variant, ctx)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        del data
        return peak

    async def _profile_round(
        self, case: dict[str, Any], family: Family, variant: Variant, ctx: Context
    ) -> dict[str, Any]:
        """A pyinstrument profile of one extra round, after the timed ones."""
        from bench import profiling

        if family.before_round_fn is not None:
            await family.before_round_fn(ctx)
        return await profiling.capture(lambda: _call(variant, ctx), self.config.output, case)

    def _describe(self, exc: BaseException) -> str:
        """One line for an error: its type and first line, passwords scrubbed."""
        orig = getattr(exc, "orig", None)
        shown = orig if isinstance(orig, BaseException) else exc
        text = " ".join(str(shown).split("\n")[0].split()) or "(no message)"
        return mask_text(f"{type(shown).__name__}: {text}", [self.config.url.password])[:500]

    def _report_progress(self, case: dict[str, Any]) -> None:
        self._finished_cases += 1
        elapsed = time.monotonic() - self._started
        remaining = self.total_cases - self._finished_cases
        eta = elapsed / self._finished_cases * remaining
        params = " ".join(f"{k}={v}" for k, v in case["params"].items())
        if case["status"] == "ok":
            outcome = f"{fmt_duration(case['stats']['median'] / case['ops_per_round'])}/op"
            if case["unstable"]:
                outcome += " (unstable)"
        elif case["status"] == "skipped":
            return  # not applicable here: counted, not shown
        else:
            outcome = f"{case['status'].upper()}: {case['error']}"
        width = len(str(self.total_cases))
        self.progress(
            f"[{self._finished_cases:>{width}}/{self.total_cases}] {case['scenario']} {params} "
            f"· {case['variant']}: {outcome}  (elapsed {_fmt_s(elapsed)}, eta {_fmt_s(eta)})"
        )


def normalized_data(family: Family, data: Any) -> Any:
    return canonical(family.normalize(data) if family.normalize else data)


async def _call(variant: Variant, ctx: Context) -> Any:
    """One untimed call of a variant, sync or async."""
    return variant.fn(ctx) if variant.is_sync else await variant.fn(ctx)


async def _cancel_stray_tasks(tasks_before: set[asyncio.Task]) -> int:
    """Cancel tasks a case started and left running (asyncio.gather does not cancel the
    siblings of a task that failed): they would go on using the case's engine and hold
    connections or locks into the next case."""
    stray = [t for t in asyncio.all_tasks() - tasks_before
             if t is not asyncio.current_task() and not t.done()]
    for task in stray:
        task.cancel()
    if stray:
        await asyncio.wait(stray, timeout=STRAY_TASK_TIMEOUT)
    return len(stray)


async def _close_case(ctx: Context | None) -> None:
    if ctx is None:
        return
    for conn in ctx._opened_raw:
        try:
            closing = conn.close()
            if inspect.isawaitable(closing):  # the sync baselines' connections close at once
                await closing
        except Exception:  # noqa: BLE001 - a dead connection has nothing left to close
            pass
    for engine in ctx._made_engines:
        try:
            await dispose_engine(engine)
        except Exception:  # noqa: BLE001 - a dead server has nothing left to close
            pass


def _describe_data(value: Any) -> dict[str, Any]:
    """A fingerprint of the data, so runs on other drivers or days can be checked too."""
    out: dict[str, Any] = {"result_digest": hashlib.sha1(repr(value).encode()).hexdigest()[:16]}
    if isinstance(value, list):
        out["result_items"] = len(value)
    return out


def _check_agreement(cases: Sequence[dict[str, Any]], data_by_variant: dict[str, Any]) -> None:
    """Mark as `wrong` every variant whose data differs from the reference's.

    The reference is raw_driver when it ran, else the first variant that did:
    the bare driver is the simplest code, so it is the one to trust.
    """
    if len(data_by_variant) < 2:
        return
    family_cases = {c["variant"]: c for c in cases}
    reference = RAW_VARIANT if RAW_VARIANT in data_by_variant else next(iter(data_by_variant))
    expected = data_by_variant[reference]
    for name, data in data_by_variant.items():
        if name == reference:
            continue
        difference = _difference(expected, data)
        if difference:
            case = family_cases[name]
            case["status"] = "wrong"
            case["error"] = f"returned different data from {reference}: {difference}"


def _difference(expected: Any, got: Any) -> str | None:
    if expected == got:
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return f"{len(got)} items instead of {len(expected)}"
        for index, (a, b) in enumerate(zip(expected, got, strict=True)):
            if a != b:
                return f"item {index} is {_short(b)} instead of {_short(a)}"
    return f"{_short(got)} instead of {_short(expected)}"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _record_ratios(cases: Sequence[dict[str, Any]]) -> None:
    """Each ok case's median per op divided by raw_driver's, in extra.ratio_to_raw."""
    raw = next((c for c in cases if c["variant"] == RAW_VARIANT and c["status"] == "ok"), None)
    if raw is None:
        return
    floor = raw["stats"]["median"] / raw["ops_per_round"]
    for case in cases:
        if case["stats"] is not None and floor > 0:
            case["extra"]["ratio_to_raw"] = (
                case["stats"]["median"] / case["ops_per_round"]
            ) / floor


def _fmt_s(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
