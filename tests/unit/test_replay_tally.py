"""Tallies of worker processes added into one (replay --processes): counts and times
added, the first error kept, latency histograms added bucket by bucket."""

from __future__ import annotations

from bench.measure import hdr
from bench.replay.sql import parse
from bench.replay.tally import Tally
from bench.replay.workload import Statement


def _statement(sql: str) -> Statement:
    return Statement(sql=sql, parsed=parse(sql, "qmark"), rows=[[]], many=False,
                     returns=True, captured_rows=1, compiled=False, captured_s=0.0)


def test_worker_tallies_add_up_to_one():
    select, update = _statement("SELECT 1"), _statement("UPDATE t SET a = 1")
    first, second = Tally(), Tally()
    for ns in (1_000, 2_000, 3_000):
        first.ran(select, ns, 1)
        first.unit_done("job", ns * 10)
    first.failed(update, "no such table: t")
    second.ran(select, 4_000, 2)  # a row count that differs from the capture's
    second.failed(update, "another error")
    second.unit_done("job", 1_000_000)
    second.unit_done("report", 5_000)
    second.commands += 4

    merged = Tally()
    for part in (first.export(), second.export()):
        merged.absorb(part)
    record = merged.record()
    assert record["units"] == 5 and record["statements"] == 6
    assert record["commands_per_unit"] == round((6 + 4) / 5, 4)
    assert record["failures"] == 2
    (failed,) = record["failed_statements"]
    assert failed["first_error"] == "no such table: t"
    assert record["rows_checked"] == 4 and record["rows_mismatched"] == 1
    top = {s["sql"]: s for s in record["top_statements"]}
    assert top["SELECT 1"]["count"] == 4 and top["SELECT 1"]["total_ms"] == 0.01
    job = hdr.decode(record["unit_types"]["job"]["histogram"])
    assert job.get_total_count() == 4 and job.get_max_value() >= 999_000
    assert record["unit_types"]["report"]["count"] == 1
