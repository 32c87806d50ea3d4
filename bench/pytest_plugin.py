"""pytest plug-in: pytest-benchmark for async SQLAlchemy, done right.

Registered through the `pytest11` entry point, so its fixtures exist wherever
sqla-bench is installed; it imports nothing heavy until a fixture is used, so every
other pytest session in the environment starts as fast as without it.

- `async_benchmark`: like `benchmark`, for coroutine functions and scenario variants
  (bench.async_benchmark does the work).
- `sqla_loop`: one event loop for the session, as a service has one for its lifetime.

Options: --sqla-profile quick|standard|full (parameter sizes), --sqla-loop
asyncio|uvloop, --sqla-driver NAME (repeatable; default: every driver), --sqla-seed N.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sqla-bench")
    group.addoption("--sqla-profile", default="quick", choices=("quick", "standard", "full"),
                    help="scenario parameter sizes for the benchmarks (default: quick)")
    group.addoption("--sqla-loop", default="asyncio", choices=("asyncio", "uvloop"),
                    help="event loop for async benchmarks (default: asyncio)")
    group.addoption("--sqla-driver", action="append", default=[],
                    help="benchmark only this driver (repeatable; default: all)")
    group.addoption("--sqla-seed", type=int, default=0,
                    help="seed of the interleaved round order and of scenario data")


@pytest.hookimpl(optionalhook=True)  # a pytest-benchmark hook: absent without it
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]
                                         ) -> None:
    """Saved runs record what they ran on, beside pytest-benchmark's own machine info.
    (Each benchmark's server goes in its extra_info: servers are met per test.)"""
    import sqlalchemy

    from bench.drivers import DRIVERS

    machine_info["sqlalchemy"] = sqlalchemy.__version__
    machine_info["sqla_bench_drivers"] = {
        d.name: d.version() for d in DRIVERS.values() if d.installed()
    }
    machine_info["sqla_bench_loop"] = config.getoption("--sqla-loop")


def selected_drivers(config: pytest.Config) -> list[str]:
    """--sqla-driver names, checked against the registry (default: every driver)."""
    from bench.drivers import DRIVERS, get_driver

    names = config.getoption("--sqla-driver") or list(DRIVERS)
    for name in names:
        get_driver(name)  # an unknown name fails with the known ones listed
    return names


@pytest.fixture(scope="session")
def sqla_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for the session, as a service has one for its lifetime."""
    loop: asyncio.AbstractEventLoop
    if request.config.getoption("--sqla-loop") == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture
def async_benchmark(benchmark: Any, sqla_loop: asyncio.AbstractEventLoop,
                    request: pytest.FixtureRequest) -> Any:
    """Like `benchmark`, for coroutine functions and scenario variants."""
    from bench.async_benchmark import AsyncBenchmark

    return AsyncBenchmark(benchmark, sqla_loop, request.config.getoption("--sqla-seed"))
