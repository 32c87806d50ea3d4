"""result_streaming on every async driver: same summary from every variant, and streaming
holds less memory at its peak than fetching the whole result."""

import pytest

from bench.db.drivers import get_driver
from tests.integration.runhelp import ASYNC_DRIVERS, cases_by_variant, run_family, url_for

ROWS = 5_000


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_streaming_reads_everything_with_a_lower_peak(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "result_streaming", tmp_path,
                     overrides={"rows": [ROWS]}, rounds=1)
    cases = cases_by_variant(doc)
    ran = {name: c for name, c in cases.items() if c["status"] != "skipped"}
    for case in ran.values():
        assert case["status"] == "ok", (case["variant"], case["error"])
        assert case["statements_per_op"] == pytest.approx(1 / ROWS)
    assert len({c["extra"]["result_digest"] for c in ran.values()}) == 1
    if not get_driver(driver).server_side_cursors:  # aiopg: none in our dialect
        assert set(ran) == {"raw_driver", "core_fetch_all", "orm_fetch_all"}
        assert cases["core_stream"]["error"] == (
            f"skipped: {driver} has no server-side cursors through SQLAlchemy")
        return
    peak = {name: c["extra"]["peak_memory_bytes"] for name, c in ran.items()}
    assert peak["core_stream"] < peak["core_fetch_all"]
    assert peak["orm_stream_scalars"] < peak["orm_fetch_all"]
