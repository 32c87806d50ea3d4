"""The driver registry: one row per database driver, holding every fact about it.

A row says which backend the driver talks to, its SQLAlchemy URL scheme, the package
that must import, how it takes a connect timeout, how to open a *raw* connection (the
bare driver every family uses as its floor), and what it can do (capabilities that
variants ask for with `needs=`, e.g. COPY or server-side cursors). Nothing elsewhere
decides anything by a driver's name: adding a driver on an existing backend is one
row here (plus an adapter in bench/raw.py if its API is new) and one dependency line
in pyproject.toml.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.db import raw
from bench.db.names import did_you_mean
from bench.db.raw import RawConnection

if TYPE_CHECKING:  # SQLAlchemy costs a third of a second to import: annotations only
    from sqlalchemy.engine import URL

BACKENDS = ("postgresql", "mysql", "sqlite")
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds to wait for a server before giving up

# What a driver may lack, as the reason a variant needing it is skipped on that driver:
# "skipped: aiopg has no server-side cursors through SQLAlchemy".
CAPABILITIES = {
    "supports_copy": "no COPY",
    "server_side_cursors": "no server-side cursors through SQLAlchemy",
    "unprepared_connect_args": "no client-side prepared-statement cache to turn off",
}


class DriverNotInstalled(Exception):
    """The driver's package does not import; the message says how to install it."""


class UnknownDriver(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class Driver:
    name: str
    backend: str  # one of BACKENDS
    scheme: str  # SQLAlchemy URL drivername, e.g. "postgresql+asyncpg"
    module: str  # the package that must import for the driver to be usable
    distribution: str  # the PyPI distribution whose version is recorded
    placeholder: str  # raw SQL parameter style: "?", "%s" or "$n"
    open_raw: Callable[[URL, float], Awaitable[RawConnection]]
    # The driver's connect() keyword for a connect timeout (None: no network, SQLite),
    # and whether it takes whole seconds only (libpq, pymysql).
    connect_timeout_arg: str | None
    connect_timeout_whole_seconds: bool = False
    is_sync: bool = False
    # A sync driver's families still set up, reset and check their tables with their
    # async code: through this async driver of the same backend, outside the timing.
    async_sibling: str | None = None
    # The driver waits for the server by polling from Python (aiopg: psycopg2's poll();
    # psycopg: its wait generator, resumed each time the socket turns readable), so its
    # Python calls and instructions per op follow how the answer arrived, not only the
    # code: on this project's machine an A/A moved aiopg's loading raw_driver from 56 to
    # 64 calls, and whole-suite counted A/As moved aiopg by up to 15.0% and psycopg by up
    # to 7.1% in instructions (every other async driver at most 3.1%).
    polls: bool = False
    # -- capabilities (see CAPABILITIES) ----------------------------------------------
    supports_copy: bool = False  # the raw connection's native API has a COPY bulk path
    server_side_cursors: bool = True  # stream() / stream_scalars() work through SQLAlchemy
    # connect_args that turn the driver's client-side prepared-statement cache off
    # (what PgBouncer in transaction mode needs); None: the driver has no such cache.
    unprepared_connect_args: Mapping[str, Any] | None = field(default=None)
    # How the driver's connect() takes server settings for every connection (a run's
    # PostgreSQL namespace is its search_path): None where no setting is ever needed.
    settings_args: Callable[[dict[str, str]], dict[str, Any]] | None = None

    def has(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown driver capability {capability!r}; known: "
                             f"{', '.join(CAPABILITIES)}")
        return bool(getattr(self, capability))

    def installed(self) -> bool:
        try:
            importlib.import_module(self.module)
        except Exception:  # noqa: BLE001 - a broken install is "not installed" too
            return False
        return True

    def require(self) -> None:
        """Raise DriverNotInstalled with a fix when the package does not import."""
        try:
            importlib.import_module(self.module)
        except Exception as exc:  # noqa: BLE001
            raise DriverNotInstalled(
                f"driver {self.name} is not installed (import {self.module} failed: "
                f"{type(exc).__name__}); install it with: pip install {self.distribution}"
            ) from None

    def version(self) -> str | None:
        if self.distribution == "sqlite3":  # the standard library's: report the library's
            import sqlite3

            return sqlite3.sqlite_version
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def connect_args(self, timeout: float) -> dict[str, Any]:
        """connect_args for create_(async_)engine so SQLAlchemy connects with our timeout."""
        if self.connect_timeout_arg is None:
            return {}
        value: Any = raw.whole_seconds(timeout) if self.connect_timeout_whole_seconds else timeout
        return {self.connect_timeout_arg: value}

    def namespaced_connect_args(self, settings: dict[str, str]) -> dict[str, Any]:
        """connect_args that give each connection these server settings."""
        if not settings:
            return {}
        if self.settings_args is None:
            raise ValueError(f"driver {self.name} cannot take server settings {settings}")
        return self.settings_args(settings)

    def sql(self, text: str) -> str:
        """Translate raw SQL written with `?` placeholders into this driver's style."""
        if self.placeholder == "?":
            return text
        if self.placeholder == "%s":
            return text.replace("%", "%%").replace("?", "%s")
        pieces = text.split("?")
        out = [pieces[0]]
        for number, piece in enumerate(pieces[1:], start=1):
            out.append(f"${number}{piece}")
        return "".join(out)


DRIVERS: dict[str, Driver] = {}


def register(driver: Driver) -> Driver:
    """Add a row to the registry (the built-in rows below, or a test's toy driver)."""
    if driver.backend not in BACKENDS:
        raise ValueError(f"driver {driver.name}: unknown backend {driver.backend!r}")
    if driver.is_sync and driver.async_sibling is None:
        raise ValueError(f"sync driver {driver.name} needs an async_sibling for its hooks")
    DRIVERS[driver.name] = driver
    return driver


def get_driver(name: str) -> Driver:
    try:
        return DRIVERS[name]
    except KeyError:
        raise UnknownDriver(
            f"unknown driver {name!r}{did_you_mean(name, DRIVERS)}; known drivers: "
            f"{', '.join(DRIVERS)}"
        ) from None


def async_drivers(backend: str | None = None) -> list[str]:
    """The async drivers (of one backend, when given), in registry order."""
    return [d.name for d in DRIVERS.values()
            if not d.is_sync and backend in (None, d.backend)]


def sync_drivers() -> list[str]:
    return [d.name for d in DRIVERS.values() if d.is_sync]


# -- several drivers in one run --------------------------------------------------------------

# `--driver all-postgresql` and friends: every registered driver of a backend (sync baselines
# included, so "is async worth it?" is measured in the same blocks); `all`: every backend.
DRIVER_GROUPS = {"all": None, "all-postgresql": "postgresql", "all-mysql": "mysql",
                 "all-sqlite": "sqlite"}
LABEL_MARK = "@"  # `asyncpg@2`: the same driver under a second label (an A/A of drivers)


@dataclass(frozen=True)
class NamedDriver:
    """A driver as a run names it: its label is unique in the run (`asyncpg`, `asyncpg@2`)."""

    label: str
    driver: Driver
    from_group: bool = False  # named by a group (`all`): left out quietly when not installed


def driver_of_label(label: str) -> str:
    """The registry name under a run's label: `asyncpg@2` -> `asyncpg`."""
    return label.partition(LABEL_MARK)[0]


def parse_driver_list(text: str) -> list[NamedDriver]:
    """`asyncpg,psycopg`, `all-postgresql`, `asyncpg,asyncpg@2`: the drivers of a run, in the
    order named (the first is the reference of paired driver ratios unless told otherwise)."""
    named: list[NamedDriver] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            raise UnknownDriver(f"--driver has an empty name in {text!r}; "
                                "give names separated by commas, e.g. asyncpg,psycopg")
        if piece in DRIVER_GROUPS:
            backend = DRIVER_GROUPS[piece]
            named += [NamedDriver(d.name, d, from_group=True) for d in DRIVERS.values()
                      if backend in (None, d.backend)]
            continue
        name, mark, suffix = piece.partition(LABEL_MARK)
        if mark and not suffix:
            raise UnknownDriver(f"--driver {piece!r} has no label after {LABEL_MARK!r}; "
                                "e.g. asyncpg@2")
        named.append(NamedDriver(piece, get_driver(name)))
    seen: set[str] = set()
    unique = []
    for entry in named:
        if entry.label in seen:
            if entry.from_group:
                continue  # `asyncpg,all-postgresql`: asyncpg once
            raise UnknownDriver(f"--driver names {entry.label} twice; to measure one driver "
                                f"twice give the second a label: {entry.label}{LABEL_MARK}2")
        seen.add(entry.label)
        unique.append(entry)
    return unique


# -- the rows ------------------------------------------------------------------------------

register(Driver(
    name="asyncpg", backend="postgresql", scheme="postgresql+asyncpg", module="asyncpg",
    distribution="asyncpg", placeholder="$n", open_raw=raw.open_asyncpg,
    connect_timeout_arg="timeout", supports_copy=True,
    unprepared_connect_args={"prepared_statement_cache_size": 0},
    settings_args=raw.asyncpg_settings,
))
register(Driver(
    name="psycopg", backend="postgresql", scheme="postgresql+psycopg", module="psycopg",
    distribution="psycopg", placeholder="%s", open_raw=raw.open_psycopg,
    connect_timeout_arg="connect_timeout", connect_timeout_whole_seconds=True, supports_copy=True,
    unprepared_connect_args={"prepare_threshold": None}, settings_args=raw.libpq_settings,
    polls=True,
))
register(Driver(
    name="aiopg", backend="postgresql", scheme="postgresql+aiopg", module="aiopg",
    distribution="aiopg", placeholder="%s", open_raw=raw.open_aiopg,
    connect_timeout_arg="timeout",
    server_side_cursors=False,  # psycopg2 has none in asynchronous mode
    polls=True, settings_args=raw.libpq_settings,
))
register(Driver(
    name="aiomysql", backend="mysql", scheme="mysql+aiomysql", module="aiomysql",
    distribution="aiomysql", placeholder="%s", open_raw=raw.open_aiomysql,
    connect_timeout_arg="connect_timeout",
))
register(Driver(
    name="asyncmy", backend="mysql", scheme="mysql+asyncmy", module="asyncmy",
    distribution="asyncmy", placeholder="%s", open_raw=raw.open_asyncmy,
    connect_timeout_arg="connect_timeout",
))
register(Driver(
    name="aiosqlite", backend="sqlite", scheme="sqlite+aiosqlite", module="aiosqlite",
    distribution="aiosqlite", placeholder="?", open_raw=raw.open_aiosqlite,
    connect_timeout_arg=None,  # a file opens at once; sqlite's "timeout" is a lock wait
))
register(Driver(
    name="psycopg-sync", backend="postgresql", scheme="postgresql+psycopg", module="psycopg",
    distribution="psycopg", placeholder="%s", open_raw=raw.open_psycopg_sync,
    polls=True,  # the same wait generators as psycopg's async side (A/A: +5.7% counted)
    connect_timeout_arg="connect_timeout", connect_timeout_whole_seconds=True,
    is_sync=True, async_sibling="psycopg", settings_args=raw.libpq_settings,
))
register(Driver(
    name="pymysql", backend="mysql", scheme="mysql+pymysql", module="pymysql",
    distribution="pymysql", placeholder="%s", open_raw=raw.open_pymysql,
    connect_timeout_arg="connect_timeout", connect_timeout_whole_seconds=True,
    is_sync=True, async_sibling="aiomysql",
))
register(Driver(
    name="sqlite3", backend="sqlite", scheme="sqlite+pysqlite", module="sqlite3",
    distribution="sqlite3", placeholder="?", open_raw=raw.open_sqlite3,
    connect_timeout_arg=None, is_sync=True, async_sibling="aiosqlite",
))
