"""The sync baseline drivers (psycopg-sync, pymysql, sqlite3) run raw_queries, loading and
bulk_insert in plain synchronous code through the same runner: same data, same counts."""

import pytest

from bench.api.family import load_families
from tests.integration.runhelp import SYNC_DRIVERS, cases_by_variant, run_family, url_for

SYNC_FAMILIES = ("raw_queries", "loading", "bulk_insert")


def test_sync_variants_mirror_the_async_ones():
    families = load_families()
    for name in SYNC_FAMILIES:
        family = families[name]
        assert set(family.sync_variants) <= set(family.variants), name
        assert "raw_driver" in family.sync_variants, name
        assert all(v.is_sync for v in family.sync_variants.values())


@pytest.mark.parametrize("driver", SYNC_DRIVERS)
def test_raw_queries_sync(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "raw_queries", tmp_path,
                     overrides={"ops": [10], "users": [200]})
    assert doc["config"]["sync"] is True
    assert doc["run_status"] == "complete"
    for query in ("pk_lookup", "select_1", "list_100", "aggregate"):
        cases = cases_by_variant(doc, query=query)
        ran = [c for c in cases.values() if c["status"] != "skipped"]
        assert len(ran) == (5 if query == "pk_lookup" else 4)
        for case in ran:
            assert case["status"] == "ok", (query, case["variant"], case["error"])
            assert case["statements_per_op"] == 1, (query, case["variant"])
        assert len({c["extra"]["result_digest"] for c in ran}) == 1


@pytest.mark.parametrize("driver", SYNC_DRIVERS)
def test_loading_sync_counts_match_async(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "loading", tmp_path,
                     overrides={"parents": [20], "children": [3]}, rounds=1)
    cases = cases_by_variant(doc)
    expected = {"lazy_n_plus_1": 21, "selectinload": 2, "joinedload": 1, "subqueryload": 2,
                "raw_driver": 1}
    assert {name: c["statements_per_op"] for name, c in cases.items()} == expected
    assert all(c["status"] == "ok" for c in cases.values())


@pytest.mark.parametrize("driver", SYNC_DRIVERS)
def test_bulk_insert_sync_checks_the_table(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "bulk_insert", tmp_path,
                     overrides={"rows": [300], "chunk": [100]}, rounds=1)
    cases = cases_by_variant(doc)
    assert set(cases) == {"orm_add_all", "orm_add_all_chunked", "orm_bulk_insert",
                          "core_executemany", "raw_driver"}
    for case in cases.values():
        # after_round verified the table held exactly 300 rows after the round
        assert case["status"] == "ok", (case["variant"], case["error"])
        assert case["extra"]["peak_memory_bytes"] > 0


def test_a_family_without_sync_variants_is_not_run_on_a_sync_driver(tmp_path):
    doc = run_family("sqlite3", f"sqlite:///{tmp_path / 'x.sqlite3'}", "pool_sizing", tmp_path)
    assert doc["run_status"] == "complete"
    assert doc["cases"] == []
