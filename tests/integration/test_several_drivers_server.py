"""Several drivers in one run on the real servers: asyncpg, psycopg and the psycopg-sync
baseline in the same blocks of one run, the data set up once and shared, counts equal
across drivers, paired driver ratios to the first named; a backend whose server is down
is named in one line while the others run."""

from __future__ import annotations

import json

import pytest

from bench.cli import main

pytestmark = pytest.mark.server


def _cases(doc: dict) -> dict[tuple[str, str], dict]:
    return {(c["driver"], c["variant"]): c for c in doc["cases"]}


def test_asyncpg_psycopg_and_the_sync_baseline_in_one_run(postgres_url, tmp_path, capsys):
    output = tmp_path / "run.json"
    code = main(["run", "--driver", "asyncpg,psycopg,psycopg-sync", "--url", postgres_url,
                 "--scenario", "loading", "--scenario", "crud", "--param", "parents=20",
                 "--param", "children=3", "--rounds", "3",
                 "--output", str(output)])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(output.read_text())
    cases = _cases(doc)
    assert [d["label"] for d in doc["config"]["drivers"]] == ["asyncpg", "psycopg",
                                                              "psycopg-sync"]
    loading = [c for c in doc["cases"] if c["scenario"] == "loading"]
    assert {c["driver"] for c in loading} == {"asyncpg", "psycopg", "psycopg-sync"}
    for variant in ("lazy_n_plus_1", "selectinload", "joinedload", "raw_driver"):
        ref = cases[("asyncpg", variant)]
        assert ref["status"] == "ok" and "paired_driver" not in ref
        for driver in ("psycopg", "psycopg-sync"):
            case = cases[(driver, variant)]
            assert case["status"] == "ok", case["error"]
            assert case["blocks"] == ref["blocks"] == [0, 1, 2]  # the same blocks
            assert case["statements_per_op"] == ref["statements_per_op"]  # same work
            assert case["paired_driver"]["reference"] == "asyncpg"
            assert case["paired_driver"]["n"] == 3
    # crud's raw SQL, set up once with asyncpg's $1 placeholders, ran on psycopg too.
    crud_raw = [c for c in doc["cases"] if c["scenario"] == "crud" and c["driver"] == "psycopg"
                and c["variant"] == "raw_driver"]
    assert crud_raw and all(c["status"] == "ok" for c in crud_raw)
    assert "psycopg instead of asyncpg on loading:" in out


def test_a_backend_whose_server_is_down_is_named_in_one_line(postgres_url, tmp_path,
                                                             monkeypatch, capsys):
    monkeypatch.setenv("BENCH_MYSQL_URL", "mysql://root:hunter2@127.0.0.1:1/nowhere")
    output = tmp_path / "run.json"
    code = main(["run", "--driver", "asyncpg,aiomysql", "--url", postgres_url, "--scenario",
                 "raw_queries", "--param", "users=100", "--param", "ops=5", "--rounds", "2",
                 "--connect-timeout", "3", "--output", str(output)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = [line for line in captured.err.splitlines() if "aiomysql left out" in line]
    assert len(lines) == 1 and "hunter2" not in captured.err + captured.out
    doc = json.loads(output.read_text())
    by_driver = {}
    for case in doc["cases"]:
        by_driver.setdefault(case["driver"], set()).add(case["status"])
    assert by_driver["asyncpg"] == {"ok"} or by_driver["asyncpg"] == {"ok", "skipped"}
    assert by_driver["aiomysql"] == {"skipped"}
    assert "hunter2" not in output.read_text()
