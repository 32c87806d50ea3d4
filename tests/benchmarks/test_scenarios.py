"""pytest-benchmark over the scenario modules' own variant code (no copied bodies): run
with `make bench-ci` to measure, or within `make test` once each with --benchmark-disable.
Each benchmark runs its variant interleaved with the family's reference, through the
runner's case lifecycle, so CI measures exactly the rounds `sqla-bench run` measures."""

from __future__ import annotations

import pytest

from bench.api.family import RUN_PROFILES
from bench.db.drivers import get_driver
from bench.measure.instructions import counting


@pytest.fixture
def driver_url(scenario_case, request, tmp_path_factory) -> str:
    """The driverless URL of the case's server (skips, or fails under BENCH_REQUIRE_SERVERS);
    on SQLite one file for the session, as a server is one database: the variants of a point
    share its tables, and one point's are dropped before the next one's are made. Under
    --sqla-capture each test is a unit replayed on its own, so each has a file of its own."""
    backend = get_driver(scenario_case[2]).backend
    if backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    if backend == "mysql":
        return request.getfixturevalue("mysql_url")
    if request.config.getoption("--sqla-capture"):
        return f"sqlite:///{request.getfixturevalue('tmp_path') / 'bench.sqlite3'}"
    return f"sqlite:///{tmp_path_factory.getbasetemp() / 'bench.sqlite3'}"


def test_scenario(async_benchmark, scenario_case, driver_url, request):
    family, variant, driver, params = scenario_case
    profile = RUN_PROFILES[request.config.getoption("--sqla-profile")]
    data = async_benchmark.variant(family, variant, driver, driver_url, params,
                                   rounds=profile.rounds, warmup_rounds=profile.warmup)
    info = async_benchmark.benchmark.extra_info
    assert info["scenario"] == family.name and info["variant"] == variant
    assert info["statements_per_op"] is not None and info["statements_per_op"] > 0
    if counting.first_layout():  # a later counting layout leaves calls to the first
        assert info["calls_per_op"] is not None and info["calls_per_op"] > 0
    if counting.in_child():  # counted: the variant alone, its instructions per op
        assert info["instructions_per_op"] > 0
    elif info["reference"] not in (None, variant):
        assert info["paired"]["reference"] == info["reference"]
    assert data is not None  # every variant returns the data it produced
