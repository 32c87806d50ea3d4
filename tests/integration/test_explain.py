"""`run --explain` on real servers: each distinct statement's plan, full scans picked out."""

from __future__ import annotations

import json

import pytest

from tests.integration.runhelp import cases_by_variant, run_family, url_for


def _plans(case):
    assert case["status"] == "ok", case["error"]
    return case["plans"]


@pytest.mark.parametrize("driver", ["asyncpg", "aiomysql", "aiosqlite"])
def test_filter_unindexed_scans_the_table_and_filter_indexed_uses_the_index(
        driver, request, tmp_path):
    url = url_for(driver, request, tmp_path)
    doc = run_family(driver, url, "query_patterns", tmp_path, rounds=1,
                     overrides={"pattern": ["filter"], "users": [1000]}, explain=True)
    cases = cases_by_variant(doc, pattern="filter")
    unindexed, indexed = _plans(cases["filter_unindexed"]), _plans(cases["filter_indexed"])
    # one distinct SELECT each, sent once per query of the round
    assert [p["sent"] for p in unindexed] == [cases["filter_unindexed"]["ops_per_round"]]
    assert all(p["error"] is None and p["explain"] for p in unindexed + indexed)
    scans = unindexed[0]["scans"]
    assert [s["table"] for s in scans] == ["sqlab_posts"] and scans[0]["callout"]
    assert indexed[0]["scans"] == []
    plan = json.dumps(indexed[0]["plan"])
    assert "ix_sqlab_posts_user_id" in plan  # the index on user_id, by name, on every backend
    if driver == "asyncpg":
        assert '"Node Type": "Seq Scan"' in json.dumps(unindexed[0]["plan"])
        assert "Index Scan" in plan  # an Index Scan or a Bitmap Index Scan
        assert unindexed[0]["explain"] == "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
        assert scans[0]["rows"] == 3000 and scans[0]["kept"] == 3
    assert doc["config"]["explain"] is True


def test_writes_are_explained_and_rolled_back_on_postgresql(postgres_url, tmp_path):
    doc = run_family("asyncpg", postgres_url, "crud", tmp_path, rounds=1,
                     overrides={"operation": ["create", "delete"]}, explain=True)
    create = _plans(cases_by_variant(doc, operation="create")["insert_returning"])
    assert [p["sql"].split()[0] for p in create] == ["INSERT"]
    assert create[0]["error"] is None and create[0]["plan"][0]["Plan"]["Node Type"] == "ModifyTable"
    delete = _plans(cases_by_variant(doc, operation="delete")["session_delete"])
    # get, the posts the ORM unlinks, the DELETE: three distinct statements
    assert [p["sql"].split()[0] for p in delete] == ["SELECT", "SELECT", "DELETE"]
    assert all(p["error"] is None for p in delete)


def test_raw_driver_statements_are_recorded_through_its_pool(tmp_path, request):
    doc = run_family("aiosqlite", url_for("aiosqlite", request, tmp_path), "concurrent_sessions",
                     tmp_path, rounds=1, explain=True)
    raw = _plans(cases_by_variant(doc)["raw_driver"])
    assert [p["sql"].split()[0] for p in raw] == ["SELECT", "SELECT", "INSERT"]
    requests = doc["cases"][0]["ops_per_round"]
    assert [p["sent"] for p in raw] == [requests] * 3
