"""query_patterns on every async driver: each pattern's ways of asking return the same
answer, with the statements each way takes."""

import pytest

from tests.integration.runhelp import ASYNC_DRIVERS, cases_by_variant, run_family, url_for

EXPECTED = {
    "count": {"raw_driver": 1, "count_func": 1, "len_all": 1},
    "filter": {"raw_driver": 1, "filter_indexed": 1, "filter_unindexed": 1},
    "join": {"raw_driver": 1, "join_tuples": 1, "relationship_loading": 2},
    "post_counts": {"raw_driver": 1, "count_subquery": 1, "count_group_by": 1},
    "materialize": {"raw_driver": 1, "core_rows": 1, "core_mappings": 1, "orm_column_rows": 1,
                    "orm_entities": 1},
}


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_query_patterns_quick_on_every_driver(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "query_patterns", tmp_path,
                     overrides={"users": [150], "ops": [2]}, rounds=1)
    for pattern, statements in EXPECTED.items():
        ran = {name: c for name, c in cases_by_variant(doc, pattern=pattern).items()
               if c["status"] != "skipped"}
        assert {name: c["statements_per_op"] for name, c in ran.items()} == statements, pattern
        for case in ran.values():
            assert case["status"] == "ok", (pattern, case["variant"], case["error"])
        assert len({c["extra"]["result_digest"] for c in ran.values()}) == 1, pattern
