"""Adding a driver is one registry row: a toy row (an existing driver under another
name) runs a family through the real CLI and runner, named as itself in the results,
with the cross-variant check passing. docs/adding-a-driver.md points here."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from bench.cli import main
from bench.db import drivers
from bench.db.drivers import DRIVERS, Driver, get_driver, register


@pytest.fixture
def toy_driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """`toy-<real>` registered for the test only, whatever the test does."""
    real = get_driver(request.param)
    toy = dataclasses.replace(real, name=f"toy-{real.name}")
    register(toy)
    try:
        yield toy
    finally:
        DRIVERS.pop(toy.name, None)


def _url(toy: Driver, request: pytest.FixtureRequest, tmp_path) -> str:
    if toy.backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'toy.sqlite3'}"


@pytest.mark.parametrize("toy_driver", ["aiosqlite", "asyncpg"], indirect=True)
def test_a_registered_toy_driver_runs_a_family_and_is_named_in_the_results(
        toy_driver, request, tmp_path, capsys):
    # The test lists derive from the registry: the new row is among them at once.
    assert toy_driver.name in drivers.async_drivers(toy_driver.backend)

    out = tmp_path / "toy.json"
    status = main(["run", "--driver", toy_driver.name, "--url", _url(toy_driver, request, tmp_path),
                   "--scenario", "loading", "--profile", "quick", "--param", "parents=6",
                   "--param", "children=2", "--rounds", "2", "--warmup", "0",
                   "--output", str(out)])
    assert status == 0, capsys.readouterr().err

    doc = json.loads(out.read_text())
    assert doc["config"]["driver"] == toy_driver.name
    assert doc["label"].startswith(toy_driver.name)
    cases = doc["cases"]
    assert {c["variant"] for c in cases} >= {"raw_driver", "selectinload", "lazy_n_plus_1"}
    assert all(c["driver"] == toy_driver.name for c in cases)
    # The cross-variant check passed: no case is `wrong`, and all returned the same data.
    assert all(c["status"] == "ok" for c in cases), [(c["variant"], c["error"]) for c in cases]
    assert len({c["extra"]["result_digest"] for c in cases}) == 1
    assert all(c["paired"] is not None for c in cases if c["variant"] != "raw_driver")


def test_the_toy_row_is_gone_after_its_test():
    assert not [name for name in DRIVERS if name.startswith("toy-")]
