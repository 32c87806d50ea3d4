"""`sqla-bench doctor`: which drivers import, whether their server answers, and the runs
recorded in each default database (in progress, or leftovers of runs that are gone)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import URL

from bench.db import registry
from bench.db.database import (
    VERSION_SQL,
    DatabaseError,
    describe_connect_error,
    mask,
    resolve_url,
)
from bench.db.drivers import BACKENDS, DRIVERS, Driver
from bench.db.raw import maybe_await


async def _check(driver: Driver, timeout: float) -> dict[str, Any]:
    check: dict[str, Any] = {
        "driver": driver.name,
        "backend": driver.backend,
        "installed": driver.installed(),
        "version": driver.version(),
        "url": None,
        "server": None,
        "usable": False,
        "problem": None,
    }
    if not check["installed"]:
        check["problem"] = f"not installed: pip install {driver.distribution}"
        return check
    try:
        url = resolve_url(driver)
    except Exception as exc:  # noqa: BLE001 - a bad default URL in the environment
        check["problem"] = str(exc)
        return check
    check["url"] = mask(url)
    try:
        async with asyncio.timeout(timeout + 1):
            raw = await driver.open_raw(url, timeout)
            try:
                rows = await maybe_await(raw.fetch(VERSION_SQL[driver.backend]))
                check["server"] = str(rows[0][0])
            finally:
                await maybe_await(raw.close())
        check["usable"] = True
    except Exception as exc:  # noqa: BLE001 - every driver raises its own kinds
        check["problem"] = describe_connect_error(exc, url)
    return check


def check_all(timeout: float = 3.0) -> list[dict[str, Any]]:
    return check_drivers(DRIVERS.values(), timeout)


def check_drivers(drivers: Iterable[Driver], timeout: float = 3.0) -> list[dict[str, Any]]:
    """The check of each driver, one after another (servers are not asked all at once)."""
    async def gather() -> list[dict[str, Any]]:
        return [await _check(driver, timeout) for driver in drivers]

    return asyncio.run(gather())


def print_doctor(checks: list[dict[str, Any]], console: Console | None = None) -> None:
    table = Table(title="sqla-bench doctor", title_justify="left")
    for column in ("driver", "backend", "package", "server", "url / problem"):
        table.add_column(column)
    for c in checks:
        package = c["version"] if c["installed"] else "[red]missing[/red]"
        server = c["server"] if c["usable"] else "[red]no answer[/red]" if c["installed"] else "-"
        table.add_row(
            c["driver"], c["backend"], package or "?", server, c["problem"] or c["url"] or ""
        )
    (console or Console(width=200)).print(table)


def default_databases(url_text: str | None = None) -> list[URL]:
    """The databases to look for runs in: `url_text` alone when given, else every
    backend's default (BENCH_POSTGRES_URL, BENCH_MYSQL_URL, the default SQLite file
    when it exists)."""
    urls = []
    for backend in BACKENDS:
        driver = next(d for d in DRIVERS.values() if d.is_sync and d.backend == backend)
        if url_text is not None:
            if not url_text.startswith(backend) and not (
                    backend == "mysql" and url_text.startswith("mariadb")):
                continue
            return [resolve_url(driver, url_text)]
        url = resolve_url(driver)
        if backend == "sqlite" and not Path(str(url.database)).exists():
            continue
        urls.append(url)
    if url_text is not None:
        raise DatabaseError(f"--url {url_text!r} is not a postgresql://, mysql:// or "
                            "sqlite:/// URL")
    return urls


def shown(url: URL) -> str:
    """A database as the user names it: masked, without a driver."""
    return mask(url.set(drivername=url.get_backend_name()))


def recorded_runs(urls: Iterable[URL]) -> list[dict[str, Any]]:
    """Each database's recorded runs, or why it could not be read."""
    found = []
    for url in urls:
        try:
            found.append({"url": shown(url), "runs": registry.runs(url), "problem": None})
        except Exception as exc:  # noqa: BLE001 - a server that is down: said, not fatal
            found.append({"url": shown(url), "runs": [],
                          "problem": describe_connect_error(exc, url)})
    return found


def print_runs(found: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console(width=200)
    for database in found:
        if database["problem"]:
            console.print(f"runs in {database['url']}: cannot tell ({database['problem']})",
                          markup=False)
            continue
        runs = database["runs"]
        if not runs:
            console.print(f"runs in {database['url']}: none", markup=False)
            continue
        table = Table(title=f"runs in {database['url']}", title_justify="left")
        for column in ("namespace", "run", "host", "pid", "started (UTC)", "state"):
            table.add_column(column)
        for claim, gone in runs:
            started = datetime.fromtimestamp(claim.started_at, UTC)
            table.add_row(claim.namespace, claim.run_id[:8], claim.host, str(claim.pid),
                          f"{started:%Y-%m-%d %H:%M:%S}",
                          "[yellow]leftover: sqla-bench clean drops it[/yellow]" if gone
                          else "in progress")
        console.print(table)
