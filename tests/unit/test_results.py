"""The results file: round trip, atomic replace, refusals, and older versions."""

import json
from pathlib import Path

import pytest

from bench.results import file as results
from bench.results import records, stats


def _doc(cases=None):
    return {
        "schema_version": results.SCHEMA_VERSION,
        "tool_version": "0.1.0",
        "run_id": "abc",
        "label": "aiosqlite test",
        "created_at": "2026-11-24T00:00:00+00:00",
        "environment": {"python": "3.11"},
        "config": {"driver": "aiosqlite"},
        "run_status": "complete",
        "families": {},
        "cases": cases if cases is not None else [],
    }


def _case():
    case = records.new_case("raw_queries", "text", {"ops": 10}, unit="queries",
                            ops_per_round=10, driver="aiosqlite")
    case["status"] = "ok"
    case["samples_ns"] = [100, 120, 110]
    case["stats"] = stats.summarize(case["samples_ns"])
    return case


def test_round_trip_keeps_every_sample(tmp_path):
    path = tmp_path / "run.json"
    doc = _doc([_case()])
    results.write_atomic(path, doc)
    loaded = results.load(path)
    assert loaded == json.loads(json.dumps(doc))
    assert loaded["cases"][0]["samples_ns"] == [100, 120, 110]


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "run.json"
    for n in range(3):
        results.write_atomic(path, _doc([_case()] * n))
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
    assert len(results.load(path)["cases"]) == 2


def test_numpy_numbers_are_written_as_plain_numbers(tmp_path):
    import numpy as np

    doc = _doc([_case()])
    doc["cases"][0]["extra"]["rows"] = np.int64(5)
    doc["cases"][0]["extra"]["ratio"] = np.float64(1.5)
    results.write_atomic(tmp_path / "r.json", doc)
    extra = results.load(tmp_path / "r.json")["cases"][0]["extra"]
    assert extra == {"rows": 5, "ratio": 1.5}


def test_newer_schema_version_is_refused_with_advice(tmp_path):
    path = tmp_path / "future.json"
    path.write_text(json.dumps({**_doc(), "schema_version": results.SCHEMA_VERSION + 1}))
    with pytest.raises(results.ResultsFileError, match="newer than this sqla-bench reads"):
        results.load(path)


@pytest.mark.parametrize("text, message", [
    ("not json at all", "not valid JSON"),
    ('{"schema_version": 1, "cases": [', "not valid JSON"),
    ("[1, 2]", "not a sqla-bench results file"),
    ('{"hello": 1}', "no schema_version"),
    ('{"schema_version": 0}', "unknown schema_version"),
])
def test_malformed_files_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(results.ResultsFileError, match=message):
        results.load(path)


def test_missing_fields_and_bad_status_are_refused(tmp_path):
    path = tmp_path / "bad.json"
    doc = _doc()
    del doc["environment"]
    path.write_text(json.dumps(doc))
    with pytest.raises(results.ResultsFileError, match="missing environment"):
        results.load(path)
    doc = _doc([{**_case(), "status": "great"}])
    path.write_text(json.dumps(doc))
    with pytest.raises(results.ResultsFileError, match="status"):
        results.load(path)


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(results.ResultsFileError, match="does not exist"):
        results.load(tmp_path / "nope.json")


def test_case_key_pairs_on_scenario_variant_params_driver():
    a = _case()
    b = {**_case(), "params": {"ops": 10}}
    assert results.case_key(a) == results.case_key(b)
    c = {**_case(), "params": {"ops": 11}}
    assert results.case_key(a) != results.case_key(c)
    assert results.case_key(a) != results.case_key({**a, "driver": "asyncpg"})


def test_check_writable_refuses_missing_directory(tmp_path):
    with pytest.raises(results.ResultsFileError, match="does not exist"):
        results.check_writable(tmp_path / "missing" / "run.json")
    results.check_writable(tmp_path / "run.json")  # fine: no exception


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures_results"


@pytest.mark.parametrize("name", ["v1_aiosqlite_loading.json",
                                  "v1_asyncpg_raw_queries_crud.json"])
def test_a_real_version_1_file_is_migrated_without_inventing_anything(name):
    raw = json.loads((FIXTURES / name).read_text())
    assert raw["schema_version"] == 1
    doc = results.load(FIXTURES / name)
    assert doc["schema_version"] == results.SCHEMA_VERSION
    assert doc["config"]["schedule"] == "blocked"  # version 1 measured one variant at a time
    assert doc["label"].startswith(raw["config"]["driver"])
    for old, new in zip(raw["cases"], doc["cases"], strict=True):
        assert new["samples_ns"] == old["samples_ns"]
        assert new["blocks"] == [] and new["paired"] is None and new["calls_per_op"] is None
        assert new["statements_per_op"] == old["statements_per_op"]


def test_a_real_version_1_pytest_benchmark_file_converts():
    doc = results.load_any(FIXTURES / "v1_pytest_benchmark_loading.json")
    assert {c["variant"] for c in doc["cases"]} >= {"selectinload", "raw_driver"}
    assert all(c["status"] == "ok" and c["samples_ns"] for c in doc["cases"])


@pytest.mark.parametrize("field, value", [
    ("samples_ns", "fast"), ("samples_ns", [1, "2"]), ("blocks", [0, 1, 2, 3]),
    ("ops_per_round", 0), ("ops_per_round", True), ("params", []), ("paired", {"median": 1}),
    ("stats", {"median": 1}), ("wait_ns", [None]), ("statements_per_op", "many"),
    ("machine_ns", "fast"), ("machine_ns", [1, None]),
])
def test_a_case_field_of_the_wrong_shape_is_one_line_refusal(tmp_path, field, value):
    case = {**_case(), "blocks": [0, 1, 2], field: value}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_doc([case])))
    with pytest.raises(results.ResultsFileError, match=f"case 0 .*{field.split('_')[0]}"):
        results.load(path)


def test_nan_is_refused_not_read(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(_doc()).replace('"run_id": "abc"', '"run_id": NaN'))
    with pytest.raises(results.ResultsFileError, match="numbers it cannot hold"):
        results.load(path)


def test_results_files_are_readable_by_others(tmp_path):
    results.write_atomic(tmp_path / "r.json", _doc())
    assert (tmp_path / "r.json").stat().st_mode & 0o044  # not mkstemp's private 0600
