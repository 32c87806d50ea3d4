"""caches on every async driver: the same rows with and without each cache, and the
application cache's statement count shows its hits."""

import pytest

from bench.db.drivers import get_driver
from tests.integration.runhelp import ASYNC_DRIVERS, cases_by_variant, run_family, url_for


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_caches_quick_on_every_driver(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "caches", tmp_path,
                     overrides={"ops": [20], "hot": [4]}, rounds=2)
    for pattern in ("compiled", "prepared", "result"):
        at_point = cases_by_variant(doc, cache=pattern)
        ran = {name: c for name, c in at_point.items() if c["status"] != "skipped"}
        for case in ran.values():
            assert case["status"] == "ok", (pattern, case["variant"], case["error"])
        assert len({c["extra"]["result_digest"] for c in ran.values()}) == 1, pattern
        if pattern == "compiled":
            assert set(ran) == {"raw_driver", "orm_cached", "orm_no_cache", "core_cached",
                                "core_no_cache"}
        if pattern == "prepared":  # drivers with a client-side prepared-statement cache
            prepared = {"prepared_default", "prepared_off"}
            if get_driver(driver).unprepared_connect_args is not None:
                assert set(ran) == {"raw_driver"} | prepared
            else:
                assert set(ran) == {"raw_driver"}
                for name in prepared:
                    assert at_point[name]["error"] == (
                        f"skipped: {driver} has no client-side prepared-statement cache to "
                        "turn off")
        if pattern == "result":
            # 4 distinct ids among 20 lookups: 4 misses reach the database, 16 hits do not
            assert ran["app_dict_cache"]["statements_per_op"] == pytest.approx(4 / 20)
            assert ran["database_every_time"]["statements_per_op"] == 1
