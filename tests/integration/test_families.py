"""Every built-in family's quick run on every driver, against the real servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.db.drivers import get_driver
from tests.integration.runhelp import ASYNC_DRIVERS, cases_by_variant, run_family, url_for

FIXTURES = str(Path(__file__).resolve().parents[1] / "fixtures_scenarios")

# Small sizes: the tests check behaviour, benchmarks measure.
SMALL = {
    "loading": {"parents": [20], "children": [3]},
    "bulk_insert": {"rows": [1200], "chunk": [500]},
    "pool_sizing": {"pool_size": [2], "concurrency": [5], "units": [2]},
    "concurrent_sessions": {"concurrency": [1, 4], "requests": [8]},
}


def _assert_all_ok(doc):
    bad = [(c["variant"], c["params"], c["status"], c["error"]) for c in doc["cases"]
           if c["status"] not in ("ok", "skipped")]
    assert not bad, bad


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_loading_statement_counts_are_exact(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "loading", tmp_path,
                     overrides=SMALL["loading"])
    _assert_all_ok(doc)
    cases = cases_by_variant(doc)
    expected = {"lazy_n_plus_1": 21, "selectinload": 2, "joinedload": 1, "subqueryload": 2,
                "raw_driver": 1}
    assert {v: cases[v]["statements_per_op"] for v in expected} == expected
    assert cases["selectinload"]["extra"]["result_items"] == 20


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_bulk_insert_rows_land_in_the_table(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "bulk_insert", tmp_path,
                     overrides=SMALL["bulk_insert"])
    _assert_all_ok(doc)  # after_round checks the table after every round: a miss is an error
    cases = cases_by_variant(doc)
    assert cases["core_executemany"]["throughput_per_s"] > 0
    assert cases["orm_add_all_chunked"]["extra"]["peak_memory_bytes"] > 0
    # chunked commits: at least one flush per chunk of 500 rows
    assert cases["orm_add_all_chunked"]["extra"]["statements_per_round"] >= 3
    assert cases["raw_copy"]["status"] == ("ok" if get_driver(driver).supports_copy
                                           else "skipped")


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_pool_sizing_records_checkout_waits(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "pool_sizing", tmp_path,
                     overrides=SMALL["pool_sizing"])
    _assert_all_ok(doc)
    for case in doc["cases"]:
        waits = case["extra"]["checkout_wait_ns"]
        assert waits["p50"] is not None and waits["p50"] <= waits["p99"]
        assert case["extra"]["pool_timeouts"] == 0
        assert case["statements_per_op"] == 1


def test_pool_exhaustion_counts_timeouts_and_the_run_goes_on(postgres_url, tmp_path):
    doc = run_family("asyncpg", postgres_url, "pool_sizing", tmp_path, variants=["queue_pool"],
                     overrides={"pool_size": [1], "concurrency": [50], "units": [4],
                                "pool_timeout": [0.02]})
    case = doc["cases"][0]
    assert case["status"] == "ok", case["error"]
    assert case["extra"]["pool_timeouts"] > 0
    assert doc["run_status"] == "complete"


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_concurrent_sessions_latency_and_throughput(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "concurrent_sessions", tmp_path,
                     overrides=SMALL["concurrent_sessions"])
    _assert_all_ok(doc)
    for case in doc["cases"]:
        latency = case["extra"]["latency_ns"]
        assert latency["p50"] <= latency["p95"] <= latency["p99"]
        assert latency["count"] == 8 * 2  # two timed rounds of 8 requests
        orm = case["variant"] != "raw_driver"
        assert case["statements_per_op"] == (4 if orm else 3)


@pytest.mark.parametrize("driver", ["asyncpg", "aiomysql", "aiosqlite"])
def test_sharing_one_session_between_tasks_is_an_error_case(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "shared_session_misuse",
                     tmp_path, scenarios_path=[FIXTURES])
    cases = cases_by_variant(doc)
    assert cases["shared_session"]["status"] == "error"
    assert any(word in cases["shared_session"]["error"] for word in
               ("IllegalStateChangeError", "InvalidRequestError", "ResourceClosedError",
                "provisioning", "InterfaceError", "concurrent"))
    assert doc["run_status"] == "complete"  # the run went on to the end
    # The misused session cannot close, so its connection keeps its transaction until the
    # point's engines are disposed. Rows locked on a server do not block other rows; on
    # SQLite the whole file is locked, so a variant interleaved after the misuse may fail
    # on that lock, recorded as its own error case, and the run goes on.
    for variant in ("one_session_per_task", "after_the_misuse"):
        case = cases[variant]
        if driver == "aiosqlite" and case["status"] == "error":
            assert "database is locked" in case["error"], case["error"]
        else:
            assert case["status"] == "ok", case["error"]
