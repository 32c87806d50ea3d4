"""driver_suite against the real servers: every query's variants return the same data (the
data the query implies, checked by digest), one statement per operation, and the queries a
backend has no counterpart for are skipped with the reason."""

import pytest

from bench.db.drivers import get_driver
from bench.measure.agreement import fingerprint, normalized_data
from scenarios import driver_suite as suite
from tests.integration.runhelp import cases_by_variant, run_family, url_for

OPS = 10  # at concurrency 10: one query per task (copy and batch: at least one per task)
TASKS = 10
SKIPPED = {  # backend -> query -> why, as the family says it (COPY: by driver, below)
    "sqlite": {"pg_type": "SQLite has no catalogue of types",
               "arrays": "SQLite has no array column type"},
    "mysql": {"arrays": "MySQL has no array column type"},
    "postgresql": {},
}


def _expected(query: str) -> list | None:
    """What one round returns, one entry per operation; None: not known in advance (the
    catalogue query's rows depend on the server)."""
    rows = {
        "generate_series": [(i,) for i in range(1, suite.SERIES + 1)],
        "bytea": [(suite.BLOB,)] * suite.FETCHED_ROWS,
        "arrays": [(suite.ARRAY,)] * suite.FETCHED_ROWS,
        "one_plus_one": [(2,)],
    }
    if query in rows:
        return [rows[query]] * OPS
    if query in suite.ROWS_PER_OP:  # rows written per operation, and max(tasks, ops // 10) ops
        return [suite.ROWS_PER_OP[query]] * max(TASKS, OPS // 10)
    return None


def _digest(data: list) -> str:
    return str(fingerprint(normalized_data(suite.family, data))["result_digest"])


@pytest.mark.parametrize("driver", ["aiosqlite", "asyncpg", "psycopg", "aiopg", "aiomysql",
                                    "asyncmy"])
def test_every_query_agrees_across_variants(driver, request, tmp_path):
    url = url_for(driver, request, tmp_path)
    doc = run_family(driver, url, "driver_suite", tmp_path, overrides={
        "bench_query": list(suite.QUERIES), "ops": [OPS], "tasks": [TASKS]})
    skipped = dict(SKIPPED[get_driver(driver).backend])
    if not get_driver(driver).supports_copy:
        skipped["copy"] = f"{driver} has no COPY"
    for query in suite.QUERIES:
        cases = cases_by_variant(doc, bench_query=query)
        expected_variants = {"copy": {"raw_copy"}, "bytea": {"raw_driver", "core", "orm"},
                             "arrays": {"raw_driver", "core", "orm"},
                             "batch": {"raw_driver", "core", "orm"}}.get(
                                 query, {"raw_driver", "core"})
        assert set(cases) == expected_variants, query
        why = skipped.get(query)
        if why is not None:
            for case in cases.values():
                assert case["status"] == "skipped" and why in case["error"], (query, case)
            continue
        for variant, case in cases.items():
            assert case["status"] == "ok", (query, variant, case["error"])
            # a fetch, an executemany, a COPY, a multi-row INSERT: one statement each
            assert case["statements_per_op"] == 1, (query, variant)
            assert case["extra"]["latency_ns"]["count"] == len(case["samples_ns"]) * (
                case["ops_per_round"])
        digests = {case["extra"]["result_digest"] for case in cases.values()}
        assert len(digests) == 1, (query, digests)
        expected = _expected(query)
        if expected is not None:
            assert digests == {_digest(expected)}, query
        else:  # the catalogue: rows, the same from every variant
            assert digests != {_digest([[]] * OPS)}, query


def test_the_quick_point_runs_everywhere():
    """The quick profile measures one point, and it is one every backend has."""
    points = list(suite.family.grid("quick"))
    assert len(points) == 1
    assert all(suite._not_here(backend, points[0]["bench_query"]) is None
               for backend in SKIPPED)
