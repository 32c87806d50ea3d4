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
    async def seed(ctx): ...            # once per parameter combination, untimed

    @family.variant("raw_driver")
    async def raw_driver(ctx): ...      # one timed round; returns the data it produced

Every variant of one parameter combination must return the same data (after
`normalize`); the runner marks a variant whose data differs as `wrong`.
The runner owns the timing, engines, statement counting, tables and errors;
a scenario owns only the work.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import pkgutil
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.drivers import Driver, RawConnection

PROFILES = ("quick", "standard", "full")


@dataclass(frozen=True)
class RunProfile:
    """How much measuring a profile does; parameter sizes come from each family."""

    name: str
    warmup: int
    rounds: int


RUN_PROFILES = {
    "quick": RunProfile("quick", warmup=1, rounds=10),
    "standard": RunProfile("standard", warmup=5, rounds=50),
    "full": RunProfile("full", warmup=10, rounds=200),
}


class ScenarioError(Exception):
    """A mistake in naming a scenario, variant or parameter; the message is for the user."""


@dataclass
class Param:
    """One axis of a family's parameter grid, with its values per profile."""

    name: str
    type: type
    quick: list[Any]
    standard: list[Any] | None = None
    full: list[Any] | None = None
    help: str = ""
    choices: tuple[Any, ...] | None = None

    def values(self, profile: str) -> list[Any]:
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
        except ValueError:
            raise ScenarioError(
                f"parameter {self.name} takes {self.type.__name__} values, not {text!r}"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise ScenarioError(
                f"parameter {self.name} takes one of {', '.join(map(str, self.choices))}, "
                f"not {text!r}"
            )
        return value


Work = Callable[["Context"], Awaitable[Any]]
SyncWork = Callable[["Context"], Any]


@dataclass
class Variant:
    name: str
    fn: Work
    uses_raw: bool  # open a raw driver connection for this case (ctx.raw)
    engine_options: dict[str, Any]
    when: Callable[[Driver, Mapping[str, Any]], bool] | None
    check: bool  # take part in the cross-variant correctness check
    doc: str
    is_sync: bool = False  # a plain function for the sync baseline drivers

    def applies(self, driver: Driver, params: Mapping[str, Any]) -> bool:
        return self.when is None or bool(self.when(driver, params))


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
        """Once per parameter combination, before its cases: seed data, untimed."""
        self.setup_fn = fn
        return fn

    def teardown(self, fn: Work) -> Work:
        self.teardown_fn = fn
        return fn

    def case_setup(self, fn: Work) -> Work:
        """Before each case's first round, untimed, with ctx.variant set: per-variant
        resources (a server process, say). Keep them in ctx.case_state."""
        self.case_setup_fn = fn
        return fn

    def case_teardown(self, fn: Work) -> Work:
        """After each case, also a failed one: release what case_setup made."""
        self.case_teardown_fn = fn
        return fn

    def before_round(self, fn: Work) -> Work:
        """Before every round, untimed: put the tables back the way a round expects."""
        self.before_round_fn = fn
        return fn

    def after_round(self, fn: Callable[[Context, Any], Awaitable[None]]) -> Callable:
        """After every round, untimed, with the round's data: verify what the round left
        in the database (raise to record the case as an error)."""
        self.after_round_fn = fn
        return fn

    def variant(
        self,
        name: str,
        *,
        uses_raw: bool | None = None,
        engine_options: dict[str, Any] | None = None,
        when: Callable[[Driver, Mapping[str, Any]], bool] | None = None,
        check: bool = True,
    ) -> Callable[[Work], Work]:
        """An async variant: one call is one timed round on an async driver."""
        return self._registrar(self.variants, name, uses_raw, engine_options, when, check)

    def sync_variant(
        self,
        name: str,
        *,
        uses_raw: bool | None = None,
        engine_options: dict[str, Any] | None = None,
        when: Callable[[Driver, Mapping[str, Any]], bool] | None = None,
        check: bool = True,
    ) -> Callable[[SyncWork], SyncWork]:
        """A plain-function variant for the sync drivers, named like its async twin so
        the report sets them side by side. It uses ctx.sync_engine and a sync ctx.raw."""
        return self._registrar(self.sync_variants, name, uses_raw, engine_options, when, check,
                               is_sync=True)

    def variants_for(self, driver: Driver) -> dict[str, Variant]:
        return self.sync_variants if driver.is_sync else self.variants

    def _registrar(self, table: dict[str, Variant], name: str, uses_raw: bool | None,
                   engine_options: dict[str, Any] | None,
                   when: Callable[[Driver, Mapping[str, Any]], bool] | None, check: bool,
                   is_sync: bool = False) -> Callable:
        def register(fn: Callable) -> Callable:
            if name in table:
                raise ValueError(f"{self.name}: variant {name} defined twice")
            table[name] = Variant(
                name=name,
                fn=fn,
                uses_raw=name.startswith("raw") if uses_raw is None else uses_raw,
                engine_options=dict(engine_options or {}),
                when=when,
                check=check,
                doc=(fn.__doc__ or "").strip().split("\n")[0],
                is_sync=is_sync,
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


@dataclass
class Context:
    """What a variant sees: the driver, its engine, a raw connection, the parameters."""

    driver: Driver
    url: URL
    params: dict[str, Any]
    engine: AsyncEngine  # on a sync driver: its async sibling, for the untimed hooks
    state: dict[str, Any]  # set by setup, shared by every variant of the combination
    connect_timeout: float
    raw: RawConnection | None = None
    sync_engine: sa.Engine | None = None  # the sync driver's engine, in sync variants
    extra: dict[str, Any] = field(default_factory=dict)  # per-case measurements to record
    statements: int = 0
    timed: bool = False  # True during timed rounds: record measurements only then
    variant: str = ""  # the variant this case runs ("" during setup/teardown)
    case_state: dict[str, Any] = field(default_factory=dict)  # per-case scratch, not recorded
    _engine_factory: Callable[..., AsyncEngine] | None = None
    _opened_raw: list[RawConnection] = field(default_factory=list)
    _made_engines: list[AsyncEngine] = field(default_factory=list)

    def sql(self, text: str) -> str:
        """Raw SQL written with `?` placeholders, in this driver's parameter style."""
        return self.driver.sql(text)

    def count_statements(self, n: int = 1) -> None:
        """Raw-driver variants report the statements they send (no SQLAlchemy to count them)."""
        self.statements += n

    async def open_raw(self) -> RawConnection:
        """One more raw connection for this case, closed by the runner when the case ends."""
        conn = await self.driver.open_raw(self.url, self.connect_timeout)
        self._opened_raw.append(conn)
        return conn

    def make_engine(self, **options: Any) -> AsyncEngine:
        """One more engine for this case (its statements are counted), disposed at the end."""
        assert self._engine_factory is not None
        engine = self._engine_factory(**options)
        self._made_engines.append(engine)
        return engine


def canonical(value: Any) -> Any:
    """A comparable form of what a variant returned: rows become lists, recursively."""
    if value is None or isinstance(value, (str, bytes, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [canonical(v) for v in value]
    return value


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
            module = _import_file(path)
            _add_family(families, module, str(path))
    return families


def _import_file(path: Path) -> ModuleType:
    name = f"sqla_bench_user_scenarios.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"cannot import scenario file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - a user's file: report, do not crash
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
