"""transactions on every async driver: every way of grouping leaves the same rows (checked
after each round in the tables), with the statements each way sends."""

import pytest

from bench.db.drivers import get_driver
from tests.integration.runhelp import ASYNC_DRIVERS, cases_by_variant, run_family, url_for

ROWS = 20


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_transactions_quick_on_every_driver(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "transactions", tmp_path,
                     overrides={"rows": [ROWS], "batch": [5]}, rounds=2)
    per_statement = {c["variant"]: c["statements_per_op"] for c in doc["cases"]
                     if c["status"] != "skipped"}
    for pattern in ("grouping", "begin_style", "parent_child", "savepoints", "rollback"):
        ran = {n: c for n, c in cases_by_variant(doc, pattern=pattern).items()
               if c["status"] != "skipped"}
        assert len(ran) >= 2, pattern
        for case in ran.values():
            assert case["status"] == "ok", (pattern, case["variant"], case["error"])
        assert len({c["extra"]["result_digest"] for c in ran.values()}) == 1, pattern
    # One INSERT per row when each row is its own transaction or flush; a savepoint
    # adds SAVEPOINT and RELEASE; a user with a post is two INSERTs.
    assert per_statement["txn_per_row"] == 1
    assert per_statement["flush_per_row"] == 1
    assert per_statement["savepoint_per_row"] == 3
    assert per_statement["flush_then_child"] == per_statement["unit_of_work_child"] == 2
    # add_all batches its INSERTs (insertmanyvalues) on PostgreSQL and MariaDB; on SQLite
    # the ORM sends one INSERT per row to get each primary key back.
    batched = get_driver(driver).backend != "sqlite"
    assert per_statement["one_txn"] == pytest.approx(1 / ROWS if batched else 1)
    assert per_statement["txn_per_batch"] == pytest.approx(4 / ROWS if batched else 1)
