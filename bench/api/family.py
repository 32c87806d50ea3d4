"""The scenario API: a family of variants that do the same work different ways.

A scenario module declares one `Family` and decorates plain async functions:

    family = Family(
        name="raw_queries",
        question="What does each SQLAlchemy layer cost over the driver?",
        unit="queries",
        params=[Param("ops", int, quick=[200], standard=[1000], full=[5000])],
        ops=lambda p: p["ops"],
        tables=models.metadata,
    )

    @family.setup
    async def seed(ctx): ...            # once per parameter point, untimed

    @family.variant(RAW_VARIANT, raw=True)
    async def raw_driver(ctx): ...      # one timed round; returns the data it produced

Every variant of one parameter point must return the same data (after `normalize`);
the runner marks a variant whose data differs from the family's reference as `wrong`.
The reference (`raw_driver` unless the family names another) is also what every
variant's time is read against: the paired ratio. The runner owns the timing,
engines, statement counting, tables and errors; a scenario owns only the work.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import itertools
import math
import pkgutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.api.share import LoadShare, interleave
from bench.db.database import connect_settings
from bench.db.drivers import CAPABILITIES, Driver
from bench.db.raw import RawConnection, SyncRawConnection
from bench.results import stats
from bench.results.records import RAW_VARIANT, ComparisonRecord


@dataclass(frozen=True)
class RunProfile:
    """How much measuring a profile does; parameter sizes come from each family."""

    name: str
    warmup: int
    rounds: int


# Interleaved rounds are short and many: a block is one round of every variant, and the
# per-block ratios are the samples, so quick takes 15 of them (on smaller rounds than 0.1's
# ten, so that the quick suite takes no longer than it did).
RUN_PROFILES = {
    "quick": RunProfile("quick", warmup=1, rounds=15),
    "standard": RunProfile("standard", warmup=5, rounds=50),
    "full": RunProfile("full", warmup=10, rounds=200),
    # Counts of one process agree exactly: the counting child's untimed priming round is
    # the warm-up, and two counted rounds that agree are the measurement.
    "counted": RunProfile("counted", warmup=0, rounds=2),
}


class ScenarioError(Exception):
    """A mistake in naming a scenario, variant or parameter; the message is for the user."""


class CaseSkipped(Exception):
    """Raised by a case hook when the case cannot run here (it would pass the server's
    max_connections, say): the case is recorded as skipped with this reason, not run."""


@dataclass
class Param:
    """One axis of a family's parameter grid, with its values per profile."""

    name: str
    type: type
    quick: list[Any]
    standard: list[Any] | None = None
    full: list[Any] | None = None
    help: str = ""
    # The counted profile's values: small sizes whose per-op work runs the same code
    # paths (default: the first quick value, one point).
    counted: list[Any] | None = None
    choices: tuple[Any, ...] | None = None

    def values(self, profile: str) -> list[Any]:
        if profile == "counted":
            return self.counted or self.quick[:1]
        if profile == "full":
            return self.full or self.standard or self.quick
        if profile == "standard":
            return self.standard or self.quick
        return self.quick

    def parse(self, text: str) -> Any:
        """A value from the command line, converted to this parameter's type."""
        try:
            if self.type is bool:
                lowered = text.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(text)
                value: Any = lowered in ("1", "true", "yes", "on")
            else:
                value = self.type(text.strip())
        except (ValueError, OverflowError):
            raise ScenarioError(
                f"parameter {self.name} takes {self.type.__name__} values, not {text!r}"
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            # NaN matches no grid value; neither can be written to a results file (strict JSON)
            raise ScenarioError(f"parameter {self.name} takes finite numbers, not {text!r}")
        if self.choices is not None and value not in self.choices:
            raise ScenarioError(
                f"parameter {self.name} takes one of {', '.join(map(str, self.choices))}, "
                f"not {text!r}"
            )
        return value


@dataclass(frozen=True)
class Comparison:
    """A decision the family exists to answer: `candidate` instead of `against`.

    `sentence` says the decision in words ("selectinload instead of lazy loading"); the
    report adds the verdict: the winner, its paired ratio with a 95% interval, and the
    statements per operation of both, or "no clear winner" when the interval holds 1.
    It is read at one parameter point both variants ran at: the first that has every
    value in `at`, taking the largest measured value of each parameter in `largest`
    ("keyset vs LIMIT/OFFSET at the deepest offset"). `overhead=True` marks a cost to
    know rather than a choice to make (the ORM over the bare driver): its verdict is
    stated in a neutral tone, as "takes N× the time", never as a loss.
    """

    candidate: str
    against: str
    sentence: str
    at: Mapping[str, Any] = field(default_factory=dict)
    largest: tuple[str, ...] = ()
    overhead: bool = False

    def record(self) -> ComparisonRecord:
        """As the runner writes it into the results file (families.<name>.comparisons)."""
        record: ComparisonRecord = {
            "candidate": self.candidate, "against": self.against, "sentence": self.sentence,
            "at": dict(self.at), "largest": list(self.largest)}
        if self.overhead:
            record["overhead"] = True
        return record


Work = Callable[["Context"], Awaitable[Any]]
SyncWork = Callable[["Context"], Any]
EngineOptions = Mapping[str, Any] | Callable[[Driver, Mapping[str, Any]], Mapping[str, Any]]


@dataclass
class Variant:
    name: str
    fn: Callable[[Context], Any]
    raw: bool  # the case opens a raw driver connection (ctx.raw)
    engine_options: EngineOptions
    only: dict[str, tuple[Any, ...]]  # parameter -> the values this variant takes
    needs: tuple[str, ...]  # driver capabilities (bench.db.drivers.CAPABILITIES)
    check: bool  # take part in the cross-variant correctness check
    doc: str
    is_sync: bool = False  # a plain function for the sync baseline drivers

    def takes(self, params: Mapping[str, Any]) -> bool:
        """Whether this parameter point is one the variant is written for."""
        return all(params.get(name) in values for name, values in self.only.items())

    def lacking(self, driver: Driver) -> str | None:
        """Why the driver cannot run this variant, or None when it can."""
        for capability in self.needs:
            if not driver.has(capability):
                return f"{driver.name} has {CAPABILITIES[capability]}"
        return None

    def options_for(self, driver: Driver, params: Mapping[str, Any]) -> dict[str, Any]:
        options = self.engine_options
        return dict(options(driver, params) if callable(options) else options)


@dataclass
class Family:
    name: str
    question: str
    unit: str  # what one operation is: "queries", "rows", "requests", ...
    params: list[Param]
    ops: Callable[[Mapping[str, Any]], int]  # operations in one round, for throughput
    tables: sa.MetaData | None = None  # created before setup, dropped after teardown
    engine_options: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    where: Callable[[Mapping[str, Any]], bool] | None = None  # prune grid combinations
    normalize: Callable[[Any], Any] | None = None
    measure_memory: bool = False  # one extra untimed round under tracemalloc
    # The variant every other one is read against (paired ratios, the data check): the
    # first of these names that runs at a parameter point.
    reference: str | tuple[str, ...] = RAW_VARIANT
    # Hold connections only while a variant's round runs: after each round the case's
    # pools and raw connections are closed, and an untimed round warms them again before
    # the next timed one. For families whose variants cannot all hold their connections
    # at once under the server's max_connections (pool_sizing); a case hook that finds
    # room for them all sets ctx.hold_connections instead.
    release_between_rounds: bool = False
    # Measures what a service or database sustains, so its load may come from several
    # processes (--processes, --cluster): True, or a predicate on the parameters. The
    # others measure a cost per operation and run in one quiet process.
    scales: bool | Callable[[Mapping[str, Any]], bool] = False
    # The parameter that is the number of processes a case runs in (pool_sizing's
    # app_processes: each process an application with its own pool).
    processes_param: str | None = None
    # With a predicate for `scales`: the parameters at which it scales, as a user passes
    # them to --param ("mode=throughput"), for messages that say how to choose them.
    scales_when: str = ""
    # The family loads a running web service, so --service-url may point it at one.
    serves: bool = False
    # The data of a round from each process's share (bench.api.drive.LoadShare), merged into
    # what one process doing all the work returns: by default, items in their order.
    merge_shares: Callable[[list[Any]], Any] = interleave
    # The decisions the family answers, read by the report (see Comparison).
    comparisons: list[Comparison] = field(default_factory=list)
    # Parameters the question needs several values of ("how big should my pool be?" needs
    # pool sizes): a run measuring one value of one of them gets "one point only" in the report.
    sweeps: tuple[str, ...] = ()
    # What a reader must know on one backend to read the answers (backend -> sentence):
    # SQLite's single writer, where concurrency cannot help. Printed with the decisions.
    notes: Mapping[str, str] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    # The same work in plain synchronous code, run on the sync baseline drivers
    # (psycopg-sync, pymysql, sqlite3): "is async worth it here?"
    sync_variants: dict[str, Variant] = field(default_factory=dict)
    setup_fn: Work | None = None
    teardown_fn: Work | None = None
    case_setup_fn: Work | None = None
    case_teardown_fn: Work | None = None
    before_round_fn: Work | None = None
    after_round_fn: Callable[[Context, Any], Awaitable[None]] | None = None
    module: str = ""

    # -- decorators -------------------------------------------------------

    def setup(self, fn: Work) -> Work:
        """Once per parameter point, before its cases: seed data, untimed."""
        self.setup_fn = fn
        return fn

    def teardown(self, fn: Work) -> Work:
        self.teardown_fn = fn
        return fn

    def case_setup(self, fn: Work) -> Work:
        """When a variant's case opens, untimed, with ctx.variant set: per-variant
        resources (a server process, say). Keep them in ctx.case_state."""
        self.case_setup_fn = fn
        return fn

    def case_teardown(self, fn: Work) -> Work:
        """When a case closes, also a failed one: release what case_setup made."""
        self.case_teardown_fn = fn
        return fn

    def before_round(self, fn: Work) -> Work:
        """Before every round, untimed: put the tables back the way a round expects.
        Rounds of different variants interleave, so reset whatever any variant changes."""
        self.before_round_fn = fn
        return fn

    def after_round(self, fn: Callable[[Context, Any], Awaitable[None]]) -> Callable[..., Any]:
        """After every round, untimed, with the round's data: verify what the round left
        in the database (raise to record the case as an error)."""
        self.after_round_fn = fn
        return fn

    def variant(
        self,
        name: str,
        *,
        raw: bool = False,
        engine_options: EngineOptions | None = None,
        only: Mapping[str, Any] | None = None,
        needs: Iterable[str] = (),
        check: bool = True,
    ) -> Callable[[Work], Work]:
        """An async variant: one call is one timed round on an async driver.

        raw: the case opens a raw driver connection (ctx.raw) beside its engine.
        only: the parameter values the variant is written for, e.g. {"operation": "list"}
            or {"pattern": ("grouping", "savepoints")}; other points do not plan it.
        needs: driver capabilities it uses, e.g. ("supports_copy",); a driver without
            one records the case as skipped, with the reason.
        """
        return self._registrar(self.variants, name, raw, engine_options, only, needs, check)

    def sync_variant(
        self,
        name: str,
        *,
        raw: bool = False,
        engine_options: EngineOptions | None = None,
        only: Mapping[str, Any] | None = None,
        needs: Iterable[str] = (),
        check: bool = True,
    ) -> Callable[[SyncWork], SyncWork]:
        """A plain-function variant for the sync drivers, named like its async twin so
        the report sets them side by side. It uses ctx.sync_engine and a sync ctx.raw."""
        return self._registrar(self.sync_variants, name, raw, engine_options, only, needs,
                               check, is_sync=True)

    def scales_at(self, params: Mapping[str, Any]) -> bool:
        return self.scales(params) if callable(self.scales) else self.scales

    def processes_at(self, params: Mapping[str, Any]) -> int | None:
        """The processes the parameters ask for, when the family has such a parameter."""
        return None if self.processes_param is None else int(params[self.processes_param])

    def check_comparisons(self) -> None:
        """Every comparison names variants and parameters the family has: a typo fails
        when the family loads, not as a finding that silently says nothing."""
        names = set(self.variants) | set(self.sync_variants)
        for comparison in self.comparisons:
            for name in (comparison.candidate, comparison.against):
                if name not in names:
                    raise ScenarioError(f"scenario {self.name}: comparison "
                                        f"{comparison.sentence!r} names no variant {name!r} "
                                        f"(it has: {', '.join(sorted(names))})")
            for key in (*comparison.at, *comparison.largest):
                self.param(key)

    def variants_for(self, driver: Driver) -> dict[str, Variant]:
        return self.sync_variants if driver.is_sync else self.variants

    def reference_among(self, names: Iterable[str]) -> str | None:
        """The family's reference among the variants that ran at a point."""
        present = set(names)
        wanted = (self.reference,) if isinstance(self.reference, str) else self.reference
        return next((name for name in wanted if name in present), None)

    def _registrar(self, table: dict[str, Variant], name: str, raw: bool,
                   engine_options: EngineOptions | None, only: Mapping[str, Any] | None,
                   needs: Iterable[str], check: bool,
                   is_sync: bool = False) -> Callable[[Any], Any]:
        accepted = {key: _as_values(value) for key, value in (only or {}).items()}
        for key in accepted:
            self.param(key)  # a name the family does not have fails at import, not later
        needs = tuple(needs)
        for capability in needs:
            if capability not in CAPABILITIES:
                raise ValueError(f"{self.name}: variant {name} needs unknown capability "
                                 f"{capability!r}; known: {', '.join(CAPABILITIES)}")

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            if name in table:
                raise ValueError(f"{self.name}: variant {name} defined twice")
            table[name] = Variant(
                name=name, fn=fn, raw=raw, engine_options=engine_options or {},
                only=accepted, needs=needs, check=check,
                doc=" ".join((fn.__doc__ or "").split()), is_sync=is_sync,
            )
            return fn

        return register

    # -- the grid ----------------------------------------------------------

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        known = ", ".join(p.name for p in self.params) or "none"
        raise ScenarioError(f"scenario {self.name} has no parameter {name!r} (it has: {known})")

    def grid(
        self, profile: str, overrides: Mapping[str, list[Any]] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every parameter combination of the profile, with overrides applied."""
        overrides = overrides or {}
        axes = [overrides.get(p.name, p.values(profile)) for p in self.params]
        for values in itertools.product(*axes):
            params = {p.name: v for p, v in zip(self.params, values, strict=True)}
            if self.where is None or self.where(params):
                yield params


def _as_values(value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return (value,)
    return tuple(value)


class RawPool:
    """A few bare connections shared by tasks: the smallest possible pool, the raw floor
    of the concurrency families. Its connections belong to the case's lifecycle."""

    def __init__(self, connections: list[RawConnection]) -> None:
        self.connections = connections
        # Set while `run --explain` records a round: what the tasks are handed instead.
        self.wrap: Callable[[RawConnection], RawConnection] | None = None
        self._idle: asyncio.Queue[RawConnection] = asyncio.Queue()
        for conn in connections:
            self._idle.put_nowait(conn)

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[RawConnection]:
        """Wait (at most `timeout` seconds) for an idle connection; give it back after."""
        conn = await asyncio.wait_for(self._idle.get(), timeout)
        try:
            yield conn if self.wrap is None else self.wrap(conn)
        finally:
            self._idle.put_nowait(conn)


@dataclass
class Context:
    """What a variant sees: the driver, its engine, a raw connection, the parameters."""

    driver: Driver
    url: URL
    params: dict[str, Any]
    engine: AsyncEngine  # on a sync driver: its async sibling, for the untimed hooks
    state: dict[str, Any]  # set by setup, shared by every variant of the point
    connect_timeout: float
    raw_connection: RawConnection | None = None  # opened for variants declared raw=True
    opened_sync_engine: sa.Engine | None = None  # the sync driver's engine (sync variants)
    extra: dict[str, Any] = field(default_factory=dict)  # per-case measurements to record
    statements: int = 0
    timed: bool = False  # True during timed rounds: record measurements only then
    variant: str = ""  # the variant this case runs ("" during setup/teardown)
    case_state: dict[str, Any] = field(default_factory=dict)  # per-case scratch, not recorded
    # Set by a case hook of a release_between_rounds family that found room on the server
    # for every variant's connections at once (SQLite has no limit): the case keeps its
    # connections between rounds, and needs no untimed warm round before each timed one.
    hold_connections: bool = False
    # Owned by the case lifecycle (bench.measure.lifecycle), which closes all of them.
    engine_factory: Callable[..., AsyncEngine] | None = None
    opened_raw: list[RawConnection] = field(default_factory=list)
    made_engines: list[Any] = field(default_factory=list)
    raw_pools: dict[int, RawPool] = field(default_factory=dict)
    # The load (bench.api.drive): this process's share of the round's requests and users,
    # and of --rate. One process doing everything unless the case runs on workers.
    load: LoadShare = field(default_factory=LoadShare)
    operations: int = 0  # requests this process ran in the round (bench.api.drive.drive)
    # Set by case hooks where the case is opened (the coordinator of a distributed run)
    # for the processes that run its rounds: picklable values (a service's URL, say).
    case_shared: dict[str, Any] = field(default_factory=dict)
    service_url: str | None = None  # --service-url: a service already running
    # The rounds are counted under callgrind, which counts this process only: a family
    # that serves HTTP serves in-process then, or its count would be the load's alone.
    counted: bool = False
    cleanups: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    # The point's SQL made by `sql()` (rendered -> written with `?`): a run of several
    # drivers renders what setup kept in `state` again for each driver of the backend.
    sql_written: dict[str, str] = field(default_factory=dict)

    @property
    def raw(self) -> RawConnection:
        """The case's raw driver connection (variants declared with raw=True)."""
        if self.raw_connection is None:
            raise RuntimeError(f"variant {self.variant!r} uses ctx.raw: declare it with "
                               "raw=True to have the case open a raw connection")
        return self.raw_connection

    @property
    def sync_raw(self) -> SyncRawConnection:
        """The raw connection of a sync baseline driver: the same methods, not awaited."""
        conn = self.raw
        if not isinstance(conn, SyncRawConnection):
            raise RuntimeError(f"variant {self.variant!r} uses ctx.sync_raw on the async "
                               f"driver {self.driver.name}: use ctx.raw")
        return conn

    @property
    def sync_engine(self) -> sa.Engine:
        """The sync baseline driver's engine, in sync variants."""
        if self.opened_sync_engine is None:
            raise RuntimeError(f"variant {self.variant!r} uses ctx.sync_engine on the async "
                               f"driver {self.driver.name}: use ctx.engine")
        return self.opened_sync_engine

    def sql(self, text: str) -> str:
        """Raw SQL written with `?` placeholders, in this driver's parameter style."""
        rendered = self.driver.sql(text)
        self.sql_written[rendered] = text
        return rendered

    def count_statements(self, n: int = 1) -> None:
        """Raw-driver variants report the statements they send (no SQLAlchemy to count them)."""
        self.statements += n

    def count_operations(self, n: int) -> None:
        self.operations += n

    def on_close(self, cleanup: Callable[[], Awaitable[Any]]) -> None:
        """Close something the variant opened (HTTP clients, say) when the case closes,
        in the process that runs it, before case_teardown."""
        self.cleanups.append(cleanup)

    def engine_settings(self) -> tuple[URL, dict[str, Any]]:
        """The URL and connect_args for an engine made outside the harness (a service
        process): the case's database, in the run's namespace, with its connect timeout."""
        return connect_settings(self.driver, self.url, self.connect_timeout)

    async def open_raw(self) -> RawConnection:
        """One more raw connection for this case, closed by the lifecycle when it ends."""
        conn = await self.driver.open_raw(self.url, self.connect_timeout)
        self.opened_raw.append(conn)
        return conn

    async def raw_pool(self, size: int) -> RawPool:
        """`size` raw connections shared by the round's tasks, opened on first use (in a
        warmup round) and kept for the case."""
        pool = self.raw_pools.get(size)
        if pool is None:
            conns = [await self.open_raw() for _ in range(size)]
            pool = self.raw_pools[size] = RawPool(conns)
        return pool

    def make_engine(self, **options: Any) -> AsyncEngine:
        """One more engine for this case (its statements are counted), disposed at the end."""
        if self.engine_factory is None:
            raise RuntimeError("make_engine() is for variants and case hooks, not setup")
        engine = self.engine_factory(**options)
        self.made_engines.append(engine)
        return engine

    def record_latencies(self, key: str, values_ns: Iterable[float]) -> None:
        """Keep per-request timings (latencies, pool waits) of the timed rounds, their
        percentiles in extra[key] once the case ends; warmup rounds' timings are dropped."""
        if not self.timed:
            return
        self.case_state.setdefault(f"_timings:{key}", []).extend(values_ns)

    def timing_summaries(self) -> dict[str, dict[str, Any]]:
        """extra's entry of each kept key: percentiles, max and count. Made when the case's
        record is, not in the round that kept them: a counted round would count numpy."""
        return {key: {**stats.percentiles(kept), "max": max(kept, default=None),
                      "count": len(kept)} for key, kept in self.timings().items()}

    def timings(self) -> dict[str, list[float]]:
        """Every key's kept timings (record_latencies): the case's HDR histograms."""
        prefix = "_timings:"
        return {key[len(prefix):]: values for key, values in self.case_state.items()
                if key.startswith(prefix)}


# ---------------------------------------------------------------------------
# Finding families

BUILTIN_PACKAGE = "scenarios"


def load_families(extra_paths: Iterable[str | Path] = ()) -> dict[str, Family]:
    """Every family: the built-in scenarios package, then modules in `extra_paths`."""
    families: dict[str, Family] = {}
    package = importlib.import_module(BUILTIN_PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{BUILTIN_PACKAGE}.{info.name}")
        _add_family(families, module, f"{BUILTIN_PACKAGE}.{info.name}")
    for directory in extra_paths:
        directory = Path(directory)
        if not directory.is_dir():
            raise ScenarioError(f"--scenarios-path {directory} is not a directory")
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            _add_family(families, _import_file(path), str(path))
    return families


def _import_file(path: Path) -> ModuleType:
    name = f"sqla_bench_user_scenarios.{path.stem}"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return sys.modules[name]  # loaded once per process: a user's module runs once
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"cannot import scenario file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - a user's file: report, do not crash
        del sys.modules[name]
        raise ScenarioError(
            f"scenario file {path} failed to import: {type(exc).__name__}: {exc}"
        ) from None
    return module


def _add_family(families: dict[str, Family], module: ModuleType, origin: str) -> None:
    family = getattr(module, "family", None)
    if not isinstance(family, Family):
        return  # helper modules (models, shared code) declare no family
    if family.name in families:
        raise ScenarioError(
            f"scenario {family.name} is defined twice ({families[family.name].module} and {origin})"
        )
    family.check_comparisons()
    family.module = origin
    families[family.name] = family


def parse_overrides(family: Family, pairs: Iterable[tuple[str, str]]) -> dict[str, list[Any]]:
    """`--param k=v` values for this family: comma-separated lists, typed by the Param."""
    overrides: dict[str, list[Any]] = {}
    for key, text in pairs:
        param = family.param(key)
        overrides[key] = [param.parse(piece) for piece in text.split(",") if piece.strip()]
        if not overrides[key]:
            raise ScenarioError(f"parameter {key} was given no value")
    return overrides
