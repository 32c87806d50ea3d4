"""`sqla-bench doctor`: which drivers import, and whether their server answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.db.database import VERSION_SQL, describe_connect_error, mask, resolve_url
from bench.db.drivers import DRIVERS, Driver
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
