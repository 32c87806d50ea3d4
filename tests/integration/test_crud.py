"""crud on every async driver: each operation's variants leave the same data and send
the statements their pattern implies."""

import pytest

from tests.integration.runhelp import ASYNC_DRIVERS, cases_by_variant, run_family, url_for

OPS = 5
STATEMENTS = {
    "create": {"raw_driver": 1, "add_commit_refresh": 2, "add_commit_no_expire": 1,
               "insert_returning": 1},
    "update": {"raw_driver": 1, "orm_attribute": 2, "update_statement": 1,
               "bulk_update_by_pk": 1 / OPS},  # one executemany for all rows
    "delete": {"raw_driver": 1, "session_delete": 3, "delete_statement": 1},
    "list": {"raw_driver": 1, "limit_offset": 1, "keyset": 1},
}


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_crud_quick_on_every_driver(driver, request, tmp_path):
    doc = run_family(driver, url_for(driver, request, tmp_path), "crud", tmp_path,
                     overrides={"users": [200], "ops": [OPS], "offset": [0, 100]}, rounds=2)
    assert len(cases_by_variant(doc, operation="list", offset=100)) > 0
    for operation, statements in STATEMENTS.items():
        for offset in ((0, 100) if operation == "list" else (0,)):
            ran = {name: c for name, c in
                   cases_by_variant(doc, operation=operation, offset=offset).items()
                   if c["status"] != "skipped"}
            for case in ran.values():
                assert case["status"] == "ok", (operation, case["variant"], case["error"])
            got = {name: c["statements_per_op"] for name, c in ran.items()}
            assert got == pytest.approx(statements), operation
            assert len({c["extra"]["result_digest"] for c in ran.values()}) == 1, operation
