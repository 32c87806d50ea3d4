"""The plan holds only cases that apply: a variant is planned at the parameter values it is
written for, and `skipped` is kept for a driver lacking a capability, with the reason."""

import pytest

from bench.api.family import load_families
from bench.db.drivers import CAPABILITIES, DRIVERS, get_driver
from bench.measure.plan import plan


@pytest.mark.parametrize("driver", list(DRIVERS))
def test_a_quick_plan_has_no_placeholder_for_a_parameter_value(driver):
    points = plan(list(load_families().values()), get_driver(driver), "quick")
    assert points
    reasons = {f"{driver} has {text}" for text in CAPABILITIES.values()}
    for point in points:
        for variant in point.variants:
            assert variant.takes(point.params), (point.family.name, variant.name)
        for variant, why in point.skipped:
            assert variant.takes(point.params)  # the point wants it: the driver cannot
            assert why in reasons, why


def test_what_aiosqlite_plans_for_crud_and_caches():
    families = load_families()
    points = plan([families["crud"], families["caches"]], get_driver("aiosqlite"), "quick")
    create = next(p for p in points if p.params.get("operation") == "create")
    assert {v.name for v in create.variants} == {
        "raw_driver", "add_commit_refresh", "add_commit_no_expire", "insert_returning"}
    assert create.skipped == []
    prepared = next(p for p in points if p.params.get("cache") == "prepared")
    assert [v.name for v in prepared.variants] == ["raw_driver"]
    assert [(v.name, why) for v, why in prepared.skipped] == [
        ("prepared_default", "aiosqlite has no client-side prepared-statement cache to turn off"),
        ("prepared_off", "aiosqlite has no client-side prepared-statement cache to turn off")]


def test_a_variant_filter_keeps_those_variants_and_their_reference():
    families = load_families()
    points = plan([families["loading"]], get_driver("asyncpg"), "quick",
                  variant_filter=["selectinload"])
    assert [[v.name for v in p.variants] for p in points] == [["selectinload", "raw_driver"]]
    assert points[0].reference == "raw_driver"  # so selectinload has a paired ratio
    fastapi = plan([families["fastapi_service"]], get_driver("asyncpg"), "quick",
                   variant_filter=["lazy_n_plus_1"])
    assert [v.name for v in fastapi[0].variants] == ["selectinload", "lazy_n_plus_1"]
