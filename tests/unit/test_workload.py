"""The workload file, capture on SQLite, redaction, paramstyle translation, and every bad
input of `sqla-bench replay` that fails before a database is reached: one line, exit 2."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import gzip
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench.api import capture, capture_unit
from bench.api.redact import Redactor
from bench.api.workload import (
    VERSION,
    WorkloadError,
    WorkloadWriter,
    decode_value,
    encode_value,
    read_workload,
)
from bench.cli import main
from bench.replay.sql import parse
from bench.replay.workload import load_workload

ROOT = Path(__file__).resolve().parents[2]


def _capture_sqlite(path: Path, db: Path, redact: bool = False) -> None:
    async def run() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{db}")
        sessions = async_sessionmaker(engine)
        with capture(sessions, path, redact=redact):
            async with engine.begin() as conn:
                await conn.execute(sa.text("CREATE TABLE sqlab_w (id int, name text)"))
            with capture_unit("fill"):
                async with engine.begin() as conn:
                    await conn.execute(sa.text("INSERT INTO sqlab_w VALUES (:i, :n)"),
                                       [{"i": i, "n": f"name {i}"} for i in range(5)])
                    await conn.execute(sa.text("SELECT * FROM sqlab_w WHERE name != 'x'"))
        await engine.dispose()

    asyncio.run(run())


def test_capture_records_units_statements_rows_and_transactions(tmp_path):
    path = tmp_path / "w.jsonl.gz"
    _capture_sqlite(path, tmp_path / "db.sqlite3")
    wf = read_workload(path)
    assert wf.header["version"] == VERSION and not wf.truncated and not wf.header["redacted"]
    (engine,) = [r for r in wf.records if r["k"] == "engine"]
    assert engine["backend"] == "sqlite" and engine["driver"] == "aiosqlite"
    assert "url" not in json.dumps(wf.records).lower()
    workload = load_workload(path)
    fill = next(u for u in workload.units if u.name == "fill")
    insert, select = fill.statements
    assert insert.many and insert.rows == [[i, f"name {i}"] for i in range(5)]
    assert select.returns and select.captured_rows == 5
    assert [s for s in fill.steps if isinstance(s, str)] == ["begin", "commit"]


def test_a_crashed_capture_leaves_every_flushed_record_readable(tmp_path):
    """A process killed mid-capture: no gzip trailer, maybe half a line; the reader keeps
    every complete record and says the tail was cut off."""
    path = tmp_path / "crash.gz"
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from bench.api.workload import WorkloadWriter
w = WorkloadWriter({str(path)!r}, {{}})
for i in range(500):
    w.write({{"k": "engine", "engine": 1, "backend": "sqlite", "driver": "aiosqlite",
             "paramstyle": "qmark", "server_version": "3"}} if i == 0 else
            {{"k": "stmt", "unit": i, "engine": 1, "tx": None, "t": 0, "d": 0,
             "sql": "SELECT ?", "params": [i], "many": 0, "returns": True, "rows": 1}})
w.flush()
w.write({{"k": "stmt", "unit": 999, "sql": "never flushed"}})
os._exit(1)
"""
    subprocess.run([sys.executable, "-c", script], check=False)
    wf = read_workload(path)
    assert wf.truncated and wf.notes
    assert len(wf.records) == 500
    workload = load_workload(path)
    assert len(workload.units) == 499
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 7])  # cut inside the last flushed block as well
    assert read_workload(path).truncated


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"not gzip at all", "not a workload file"),
    (gzip.compress(b'{"k": "header", "format": "sqla-bench-workload", "version": 99}\n'),
     "version 99"),
    (gzip.compress(b'{"k": "header", "format": "other"}\n'), "not a sqla-bench workload"),
    (gzip.compress(b'{"k": "header", "format": "sqla-bench-workload", "version": 1}\n'),
     "no statement"),
])
def test_bad_workload_files_are_one_line_errors(tmp_path, content, message, capsys):
    path = tmp_path / "bad.gz"
    path.write_bytes(content)
    with pytest.raises(WorkloadError, match=message):
        load_workload(path)
    assert main(["replay", str(path), "--driver", "aiosqlite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and message in err


def test_replay_refuses_a_driver_of_another_backend_and_commit_without_url(tmp_path, capsys):
    path = tmp_path / "w.gz"
    _capture_sqlite(path, tmp_path / "db.sqlite3")
    assert main(["replay", str(path), "--driver", "asyncpg"]) == 2
    assert "captured on sqlite" in capsys.readouterr().err
    assert main(["replay", str(path), "--driver", "aiosqlite", "--commit"]) == 2
    assert "--url" in capsys.readouterr().err
    assert main(["replay", str(path), "--driver", "aiosqlite", "--param", "rows=3"]) == 2
    assert "pool_size" in capsys.readouterr().err


def test_replay_on_sqlite_rolls_back_and_counts_rows(tmp_path):
    """The capture's own database replayed: rows as captured, and unchanged after."""
    db = tmp_path / "db.sqlite3"
    path = tmp_path / "w.gz"
    _capture_sqlite(path, db)
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM sqlab_w")  # as it was when "fill" began
    out = tmp_path / "r.json"
    assert main(["replay", str(path), "--driver", "aiosqlite", "--url", f"sqlite:///{db}",
                 "--rounds", "2", "--output", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    fill_failures = {c["variant"]: c["extra"]["replay"] for c in doc["cases"]}
    for replay in fill_failures.values():
        # the CREATE TABLE unit fails (the table exists), counted; "fill" matches rows
        assert replay["failures"] == 2 and replay["rows_mismatched"] == 0
        assert replay["rows_checked"] == 2
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlab_w").scalar() == 0
    engine.dispose()


def test_values_keep_their_type_through_the_file():
    values = [1, 2.5, "x", None, True, decimal.Decimal("1.20"), dt.datetime(2026, 1, 2, 3, 4),
              dt.date(2026, 1, 2), dt.time(3, 4), dt.timedelta(seconds=90), b"\x00\xff",
              uuid.UUID(int=5), [1, "a"], float("nan")]
    for value in values:
        back = decode_value(json.loads(json.dumps(encode_value(value))))
        if isinstance(value, float) and value != value:
            assert back != back
        else:
            assert back == value and type(back) is type(value)


def test_redaction_keeps_type_and_length_and_is_stable():
    redactor = Redactor(b"key")
    for value in ["alice@example.com", 12345, -7, 3.25, b"secret", dt.date(2026, 5, 1),
                  decimal.Decimal("19.99"), uuid.UUID(int=9)]:
        hidden = redactor.value(value)
        assert type(hidden) is type(value) and hidden != value
        assert redactor.value(value) == hidden  # equal values stay equal
        if isinstance(value, (str, bytes)):
            assert len(hidden) == len(value)
        if isinstance(value, int):
            assert len(str(abs(hidden))) == len(str(abs(value))) and (hidden < 0) == (value < 0)
    assert Redactor(b"other").value("alice@example.com") != redactor.value("alice@example.com")
    original = "SELECT * FROM t WHERE name = 'Alice Smith' AND id = ?"
    sql = redactor.sql(original)
    assert "Alice" not in sql and sql.count("'") == 2 and len(sql) == len(original)


def test_a_redacted_capture_holds_no_value_it_was_given(tmp_path):
    path = tmp_path / "w.gz"
    _capture_sqlite(path, tmp_path / "db.sqlite3", redact=True)
    text = gzip.decompress(path.read_bytes()).decode()
    assert "name 3" not in text and '"redacted":true' in text


@pytest.mark.parametrize("sql, style, dollar, fmt, text", [
    ("SELECT * FROM t WHERE a = $1 AND b = $2", "numeric_dollar",
     "SELECT * FROM t WHERE a = $1 AND b = $2", "SELECT * FROM t WHERE a = %s AND b = %s",
     "SELECT * FROM t WHERE a = :p0 AND b = :p1"),
    ("SELECT '%%s', a FROM t WHERE a = %(x)s AND b LIKE 'a%%'", "pyformat",
     "SELECT '%s', a FROM t WHERE a = $1 AND b LIKE 'a%'",
     "SELECT '%%s', a FROM t WHERE a = %s AND b LIKE 'a%%'",
     "SELECT '%s', a FROM t WHERE a = :p0 AND b LIKE 'a%'"),
    ("SELECT ':x', '?' FROM t WHERE a = ? LIMIT ?", "qmark",
     "SELECT ':x', '?' FROM t WHERE a = $1 LIMIT $2",
     "SELECT ':x', '?' FROM t WHERE a = %s LIMIT %s",
     "SELECT '\\:x', '?' FROM t WHERE a = :p0 LIMIT :p1"),
    ("SELECT a FROM t LIMIT $1::INTEGER", "numeric_dollar",
     "SELECT a FROM t LIMIT $1::INTEGER", "SELECT a FROM t LIMIT %s::INTEGER",
     "SELECT a FROM t LIMIT (:p0)::INTEGER"),
])
def test_statements_translate_between_paramstyles(sql, style, dollar, fmt, text):
    parsed = parse(sql, style)
    assert parsed.render("numeric_dollar") == dollar
    assert parsed.render("format") == fmt
    assert parsed.render("text") == text


def test_named_parameters_are_taken_in_slot_order():
    parsed = parse("UPDATE t SET a = %(a)s WHERE id = %(id)s OR id = %(id)s", "pyformat")
    assert parsed.values({"id": 7, "a": "x"}) == ["x", 7, 7]


def test_writer_flushes_so_a_reader_sees_records_before_close(tmp_path):
    path = tmp_path / "open.gz"
    writer = WorkloadWriter(path, {})
    writer.write({"k": "unit", "unit": 1, "name": "x"})
    writer.flush()
    try:
        assert read_workload(path).records == [{"k": "unit", "unit": 1, "name": "x"}]
    finally:
        writer.close()
    assert not read_workload(path).truncated
    assert os.path.getsize(path) > 0


@pytest.mark.parametrize("pace", [["--rate", "500"], ["--speed", "5"]])
def test_open_loop_replays_every_unit_with_latency_from_the_intended_start(tmp_path, pace):
    db = tmp_path / "db.sqlite3"
    path = tmp_path / "w.gz"
    _capture_sqlite(path, db)
    out = tmp_path / "r.json"
    assert main(["replay", str(path), "--driver", "aiosqlite", "--url", f"sqlite:///{db}",
                 "--rounds", "2", "--form", "raw", "--output", str(out), "--quiet",
                 *pace]) == 0
    doc = json.loads(out.read_text())
    (case,) = doc["cases"]
    assert case["extra"]["replay"]["units"] == 2 * 2  # two units, two timed rounds
    assert set(case["extra"]["replay"]["unit_types"]) == {"fill", "unnamed"}


def test_capture_leaves_out_sqla_benchs_own_bookkeeping(tmp_path):
    """The registry's connections and the namespace checks carry BOOKKEEPING: what a
    capture records is the application's statements only."""
    from bench.db.database import BOOKKEEPING

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    workload = tmp_path / "w.gz"
    with capture(engine, workload):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA database_list", execution_options={BOOKKEEPING: True})
            conn.exec_driver_sql("SELECT 41 + 1")
        with engine.connect().execution_options(**{BOOKKEEPING: True}) as ours:
            ours.exec_driver_sql("SELECT 'the registry'")
    engine.dispose()
    statements = [s.sql for unit in load_workload(workload).units for s in unit.statements]
    assert statements == ["SELECT 41 + 1"]
