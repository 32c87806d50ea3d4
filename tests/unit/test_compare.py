"""`sqla-bench compare`: the significance gate on synthetic results files."""

import json

import numpy as np
import pytest

from bench import records, stats
from bench.cli import main


def _doc(driver="aiosqlite", scale=1.0, seed=0, variants=("raw_driver", "orm_select"),
         scenario="raw_queries"):
    rng = np.random.default_rng(seed)
    cases = []
    for index, variant in enumerate(variants):
        case = records.new_case(scenario, variant, {"ops": 10}, unit="queries",
                                ops_per_round=10, driver=driver)
        base = rng.normal(1_000_000 * (index + 1), 20_000, size=30)
        case["samples_ns"] = [int(s * scale) for s in base]
        case["stats"] = stats.summarize(case["samples_ns"])
        case["status"] = "ok"
        cases.append(case)
    return {
        "schema_version": 1, "tool_version": "0.1.0", "run_id": f"r{seed}{scale}",
        "created_at": "2026-11-24T00:00:00+00:00",
        "environment": {"python": "3.11.7", "sqlalchemy": "2.1.9", "event_loop": "asyncio",
                        "cpu_model": "x", "server": {"product": "SQLite", "version": "3"},
                        "driver_versions": {driver: "1"}},
        "config": {"driver": driver, "profile": "quick"},
        "cases": cases,
    }


def _write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_same_samples_mean_no_change(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc())
    new = _write(tmp_path, "b.json", _doc())
    assert main(["compare", base, new, "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert "0 slower, 0 faster, 2 unchanged" in out


def test_one_and_a_half_times_slower_is_flagged_and_fails(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc())
    new = _write(tmp_path, "b.json", _doc(scale=1.5))
    assert main(["compare", base, new, "--fail-on-regression"]) == 1
    captured = capsys.readouterr()
    assert "2 slower" in captured.out
    assert captured.out.count("SLOWER") == 2
    assert "significantly slower: raw_queries/raw_driver" in captured.err
    # Without the flag the verdict is the same but the exit status is 0.
    assert main(["compare", base, new]) == 0


def test_faster_is_reported_and_does_not_fail(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc())
    new = _write(tmp_path, "b.json", _doc(scale=0.6))
    assert main(["compare", base, new, "--fail-on-regression"]) == 0
    assert "0 slower, 2 faster" in capsys.readouterr().out


def test_a_three_percent_shift_is_below_the_threshold(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc())
    new = _write(tmp_path, "b.json", _doc(scale=1.03))
    assert main(["compare", base, new, "--fail-on-regression"]) == 0
    assert "0 slower, 0 faster, 2 unchanged" in capsys.readouterr().out


def test_threshold_is_configurable(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc())
    new = _write(tmp_path, "b.json", _doc(scale=1.05, seed=0))
    assert main(["compare", base, new, "--threshold", "2", "--fail-on-regression"]) == 1


def test_different_drivers_compare_with_a_warning(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc(driver="asyncpg"))
    new = _write(tmp_path, "b.json", _doc(driver="psycopg"))
    assert main(["compare", base, new]) == 0
    err = capsys.readouterr().err
    assert "warning: driver differs: asyncpg vs psycopg" in err


def test_cases_in_one_file_only_are_listed(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc(variants=("raw_driver", "orm_select")))
    new = _write(tmp_path, "b.json", _doc(variants=("raw_driver", "orm_get")))
    assert main(["compare", base, new]) == 0
    out = capsys.readouterr().out
    assert "only in base" in out and "only in new" in out


def test_no_case_in_common_is_a_one_line_error(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc(scenario="loading"))
    new = _write(tmp_path, "b.json", _doc(scenario="bulk_insert"))
    assert main(["compare", base, new]) == 2
    err = capsys.readouterr().err.strip()
    assert "no case in common" in err and "\n" not in err


def test_html_page_is_written_and_escaped(tmp_path, capsys):
    doc = _doc(variants=("raw_driver", "<script>alert(1)</script>"))
    base = _write(tmp_path, "a.json", doc)
    new = _write(tmp_path, "b.json", _doc(variants=("raw_driver", "<script>alert(1)</script>"),
                                          scale=1.5))
    assert main(["compare", base, new, "--html", str(tmp_path / "cmp")]) == 0
    page = (tmp_path / "cmp" / "index.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count(">slower<") == 2


@pytest.mark.parametrize("rounds", [3])
def test_too_few_rounds_say_so_instead_of_no_change(tmp_path, capsys, rounds):
    small = _doc()
    for case in small["cases"]:
        case["samples_ns"] = case["samples_ns"][:rounds]
    slow = json.loads(json.dumps(small))
    for case in slow["cases"]:
        case["samples_ns"] = [s * 2 for s in case["samples_ns"]]
    assert main(["compare", _write(tmp_path, "a.json", small),
                 _write(tmp_path, "b.json", slow)]) == 0
    assert "too few rounds to test" in capsys.readouterr().out
