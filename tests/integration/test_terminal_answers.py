"""After a real run the terminal gives the answers: the declared decisions, one entry
each, the skipped variants by name, and a progress counter that agrees with its header."""

from __future__ import annotations

import re

from bench.cli import main


def test_a_run_prints_its_decisions_and_what_it_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    output = tmp_path / "run.json"
    status = main(["run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'b.db'}",
                   "--scenario", "raw_queries", "--scenario", "bulk_insert",
                   "--param", "query=pk_lookup,list_100", "--param", "ops=3",
                   "--param", "users=100", "--param", "rows=20", "--param", "chunk=10",
                   "--rounds", "3", "--warmup", "0", "--no-count-calls",
                   "--output", str(output)])
    assert status == 0
    captured = capsys.readouterr()
    flat = " ".join(captured.out.split())
    decisions = flat[flat.index("decisions (paired ratio"):]
    for sentence in ("text() instead of Core select():", "Core select() instead of the ORM:",
                     "text() instead of the ORM:"):
        assert sentence in decisions
        after = decisions[decisions.index(sentence):][:400]
        # a winner with its interval, or no clear winner; and the statements of both
        assert re.search(r"(is [\d.]+× \([\d.]+–[\d.]+×\) faster than|no clear winner)", after)
        assert "statements per query" in after
    assert re.search(r"the ORM's cost over the bare driver: orm_select takes [\d.]+× the time "
                     r"of raw_driver", decisions)  # an overhead: no winner, no loser
    assert "bulk_insert · raw_copy (1 point): aiosqlite has no COPY" in flat
    # The counter runs to the number of cases the header names.
    header = re.search(r"sqla-bench: (\d+) cases \((\d+) more the driver cannot run", captured.err)
    assert header is not None and header.group(2) == "1"
    counters = re.findall(r"^\[\s*(\d+)/(\d+)\]", captured.err, re.MULTILINE)
    assert counters and {total for _done, total in counters} == {header.group(1)}
    assert counters[-1][0] == header.group(1)
