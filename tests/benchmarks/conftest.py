"""The benchmark suite's grid: every driver × every family × every variant the driver runs
at the first parameter point of the chosen profile (--sqla-profile, default quick). The
variants of a point share its tables and seeded data, and so, when counted, one forked
process (sqla_share_process)."""

from __future__ import annotations

import pytest

from bench.api.family import load_families
from bench.db.drivers import get_driver
from bench.measure.plan import point_for
from bench.plugin.pytest_hooks import selected_drivers


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario_case" not in metafunc.fixturenames:
        return
    profile = metafunc.config.getoption("--sqla-profile")
    cases, ids = [], []
    for family in load_families().values():
        params = next(family.grid(profile), None)
        if params is None:
            continue
        for driver_name in selected_drivers(metafunc.config):
            point = point_for(family, get_driver(driver_name), params)
            shared = pytest.mark.sqla_share_process(f"{family.name}-{driver_name}-{params!r}")
            for variant in point.variants:
                cases.append(pytest.param((family, variant.name, driver_name, params),
                                          marks=shared))
                ids.append(f"{family.name}-{variant.name}-{driver_name}")
    metafunc.parametrize("scenario_case", cases, ids=ids)
