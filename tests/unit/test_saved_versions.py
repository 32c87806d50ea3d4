"""Real saved results files of each schema version still report and compare.

The fixtures are real runs, filtered small: v1 from sqla-bench 0.1, v2 from 0.2 (the
same `loading` point, parents=20 children=3, on aiosqlite and on asyncpg), so an old
run can be read beside a new one and two new ones against each other.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.results import file as results

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures_results"
V1 = FIXTURES / "v1_aiosqlite_loading.json"
V2_SQLITE = FIXTURES / "v2_aiosqlite_loading.json"
V2_PG = FIXTURES / "v2_asyncpg_loading.json"
VARIANTS = {"lazy_n_plus_1", "selectinload", "joinedload", "subqueryload", "raw_driver"}


@pytest.mark.parametrize("path", [V2_SQLITE, V2_PG])
def test_a_real_version_2_file_loads_as_written(path):
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 2 and path.stat().st_size < 100_000
    doc = results.load(path)
    assert doc == raw  # the current version: nothing migrated, nothing added
    assert {c["variant"] for c in doc["cases"]} == VARIANTS
    assert all(c["status"] == "ok" and c["params"] == {"parents": 20, "children": 3}
               for c in doc["cases"])
    assert all(len(c["blocks"]) == len(c["samples_ns"]) for c in doc["cases"])


def test_report_reads_version_1_and_2_together(tmp_path):
    assert main(["report", str(V1), str(V2_SQLITE), str(V2_PG),
                 "--output", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    for name in (*VARIANTS, "aiosqlite", "asyncpg"):
        assert name in page, name


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    """compare's wide table (a case a line) on any terminal: these tests read its cells."""
    monkeypatch.setenv("COLUMNS", "250")


def _compare(capsys, base: Path, new: Path) -> str:
    assert main(["compare", str(base), str(new)]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_compare_version_1_with_version_2(capsys):
    out = _compare(capsys, V1, V2_SQLITE)
    assert "(5 cases compared)" in out
    # v1 measured no paired ratios, so no case can be judged, and none is called a change.
    assert out.count("no paired ratio: not judged") == 5
    assert "0 slower, 0 faster, 0 same" in out


def test_compare_version_2_with_version_2(capsys):
    out = _compare(capsys, V2_SQLITE, V2_PG)  # two drivers: paired on the case
    assert "(5 cases compared)" in out
    assert "no paired ratio" not in out  # both sides have per-block ratios: judged
    itself = _compare(capsys, V2_PG, V2_PG)  # a run against itself: no change at all
    assert itself.count("+0.0%") == 4 and "0 slower, 0 faster" in itself
    assert "0 with changed counts" in itself
