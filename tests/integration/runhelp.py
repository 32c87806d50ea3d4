"""Running a family through the real runner from a test, on any driver."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bench.api.family import load_families
from bench.db.database import resolve_url
from bench.db.drivers import async_drivers, get_driver, sync_drivers
from bench.rtt.control import DelayProxy, parse_rtts
from bench.run.runner import RunConfig, Runner

ASYNC_DRIVERS = tuple(async_drivers())  # from the registry: a new row is tested at once
SYNC_DRIVERS = tuple(sync_drivers())


def url_for(driver_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The driverless URL of the driver's server (fixtures skip or fail when it is down)."""
    backend = get_driver(driver_name).backend
    if backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    if backend == "mysql":
        return request.getfixturevalue("mysql_url")
    return f"sqlite:///{tmp_path / 'bench.sqlite3'}"


def run_family(driver_name: str, url: str, family_name: str, tmp_path: Path, *,
               overrides: dict[str, list[Any]] | None = None, rounds: int = 2, warmup: int = 0,
               variants: list[str] | None = None, scenarios_path: list[str] | None = None,
               profile: str = "quick", rtt: str | None = None,
               explain: bool = False) -> dict[str, Any]:
    """Run one family with the real Runner and return the results document; `rtt`
    (e.g. "0,1ms") runs it through the delaying proxy, as --rtt does."""
    driver = get_driver(driver_name)
    family = load_families(scenarios_path or [])[family_name]
    suffix = "" if rtt is None else "_rtt"
    config = RunConfig(
        driver=driver, url=resolve_url(driver, url), families=[family], profile=profile,
        warmup=warmup, rounds=rounds, overrides={family_name: overrides or {}},
        variants=variants, output=tmp_path / f"{family_name}_{driver_name}{suffix}.json",
        explain=explain,
    )
    if rtt is None:
        return asyncio.run(Runner(config).run())
    with DelayProxy(config.url, parse_rtts([rtt])) as proxy:
        config.proxy = proxy
        return asyncio.run(Runner(config).run())


def cases_by_variant(doc: dict[str, Any], **params: Any) -> dict[str, dict[str, Any]]:
    """The cases whose params include `params`, keyed by variant name."""
    return {c["variant"]: c for c in doc["cases"]
            if all(c["params"].get(k) == v for k, v in params.items())}
