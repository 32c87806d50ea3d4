"""The benchmark suite's grid: every driver × every family × every variant that applies,
at the first parameter point of the chosen profile (--sqla-profile, default quick)."""

from __future__ import annotations

import pytest

from bench.drivers import DRIVERS
from bench.scenario import load_families

# Families that are not a fit for a timed pytest-benchmark round, with the reason.
EXCLUDED: dict[str, str] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario_case" not in metafunc.fixturenames:
        return
    profile = metafunc.config.getoption("--sqla-profile")
    drivers = metafunc.config.getoption("--sqla-driver") or list(DRIVERS)
    cases, ids = [], []
    for family in load_families().values():
        if family.name in EXCLUDED:
            continue
        params = next(family.grid(profile), None)
        if params is None:
            continue
        for driver_name in drivers:
            driver = DRIVERS[driver_name]
            for variant in family.variants_for(driver).values():
                if variant.applies(driver, params):
                    cases.append((family, variant.name, driver_name, params))
                    ids.append(f"{family.name}-{variant.name}-{driver_name}")
    metafunc.parametrize("scenario_case", cases, ids=ids)
