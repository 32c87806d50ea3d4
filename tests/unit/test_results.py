"""The results file: round trip, atomic replace, and refusals."""

import json

import pytest

from bench import results, stats


def _doc(cases=None):
    return {
        "schema_version": results.SCHEMA_VERSION,
        "tool_version": "0.1.0",
        "run_id": "abc",
        "created_at": "2026-11-24T00:00:00+00:00",
        "environment": {"python": "3.11"},
        "config": {"driver": "aiosqlite"},
        "cases": cases if cases is not None else [],
    }


def _case():
    case = results.new_case("raw_queries", "text", {"ops": 10}, unit="queries",
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
