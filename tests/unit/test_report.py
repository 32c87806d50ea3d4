"""The HTML report from results files: self-contained, escaped, nothing dropped."""

import json
import re

import pytest

from bench import records, stats
from bench.cli import main
from bench.report import write_report

XSS = "<script>alert('x\"y')</script>"


def _case(scenario, variant, params, samples, status="ok", error=None, driver="aiosqlite",
          extra=None):
    case = records.new_case(scenario, variant, params, unit="queries", ops_per_round=10,
                            driver=driver)
    case.update(status=status, error=error, samples_ns=samples)
    if samples:
        case["stats"] = stats.summarize(samples)
        case["throughput_per_s"] = 10 / (case["stats"]["median"] / 1e9)
        case["statements_per_op"] = 1
    case["extra"].update(extra or {})
    return case


def _doc(cases, driver="aiosqlite"):
    return {
        "schema_version": 1, "tool_version": "0.1.0", "run_id": "x",
        "created_at": "2026-11-24T00:00:00+00:00",
        "environment": {"python": "3.11.7", "sqlalchemy": "2.1.9", "cpu_model": "cpu",
                        "cpu_count": 2, "memory_total": 1 << 30, "event_loop": "asyncio",
                        "server": {"product": "SQLite", "version": "3.40"},
                        "driver_versions": {driver: "0.22"}, "git_commit": "abc"},
        "config": {"driver": driver, "profile": "quick", "warmup": 1, "rounds": 5,
                   "url": "sqlite+aiosqlite:///x"},
        "families": {"raw_queries": {"question": "What does each layer cost?", "unit": "queries"},
                     "loading": {"question": "How much does N+1 cost?", "unit": "loads"}},
        "cases": cases,
    }


def _sample_doc(driver="aiosqlite", scale=1.0):
    cases = []
    for parents in (10, 100, 1000):
        for index, variant in enumerate(("raw_driver", "selectinload", "lazy_n_plus_1")):
            base = (index + 1) * parents * 1000 * scale
            cases.append(_case("loading", variant, {"parents": parents, "children": 10},
                               [int(base + i * 10) for i in range(5)], driver=driver))
    cases.append(_case("raw_queries", "raw_driver", {"ops": 10}, [1000, 1100, 1050, 990, 1010],
                       driver=driver))
    cases.append(_case("raw_queries", "orm_select", {"ops": 10}, [5000, 5100, 5050, 4990, 5010],
                       driver=driver))
    cases.append(_case("raw_queries", "broken", {"ops": 10}, [], status="error",
                       error="OperationalError: server closed the connection", driver=driver))
    return _doc(cases, driver)


def _write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_report_is_self_contained_and_has_a_chart_per_family(tmp_path):
    index = write_report([_write(tmp_path, "a.json", _sample_doc())], tmp_path / "out")
    page = index.read_text()
    assert page.count('class="chart') >= 2
    for family in ("loading", "raw_queries"):
        assert f'data-family="{family}"' in page
    # nothing fetched from anywhere: no src/href pointing at a network
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "<link" not in page and "<script" not in page
    assert "What does each layer cost?" in page


def test_failed_cases_are_shown_with_their_error(tmp_path):
    page = write_report([_write(tmp_path, "a.json", _sample_doc())], tmp_path / "out").read_text()
    assert "OperationalError: server closed the connection" in page
    assert 'class="error"' in page


def test_findings_line_per_family(tmp_path):
    page = write_report([_write(tmp_path, "a.json", _sample_doc())], tmp_path / "out").read_text()
    assert "selectinload is 1.5× faster than lazy_n_plus_1 at parents=100 children=10" in page
    assert "raw_driver is 5.0× faster than orm_select at ops=10 — 1 case(s) failed" in page


def test_sweep_is_drawn_for_a_numeric_parameter(tmp_path):
    page = write_report([_write(tmp_path, "a.json", _sample_doc())], tmp_path / "out").read_text()
    assert 'class="chart sweep" data-family="loading"' in page
    assert "vs parents" in page


def test_several_files_get_a_driver_comparison(tmp_path):
    a = _write(tmp_path, "a.json", _sample_doc("asyncpg"))
    b = _write(tmp_path, "b.json", _sample_doc("psycopg", scale=2.0))
    page = write_report([a, b], tmp_path / "out").read_text()
    assert 'id="comparison"' in page
    assert "2.00×" in page and "1.00×" in page


def test_everything_from_the_file_is_escaped(tmp_path):
    doc = _doc([_case("raw_queries", XSS, {"ops": XSS}, [], status="error", error=XSS)])
    doc["families"]["raw_queries"]["question"] = XSS
    page = write_report([_write(tmp_path, "a.json", doc)], tmp_path / "out").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["report", str(bad), "--output", str(tmp_path / "o")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    newer = _write(tmp_path, "newer.json", {**_sample_doc(), "schema_version": 99})
    assert main(["report", str(newer), "--output", str(tmp_path / "o")]) == 2
    assert "newer than this sqla-bench reads" in capsys.readouterr().err


@pytest.mark.parametrize("value, expected", [(1500, "1.5 µs"), (2.5e6, "2.5 ms"), (3e9, "3 s")])
def test_duration_format(value, expected):
    from bench.units import fmt_duration

    assert fmt_duration(value) == expected


def test_load_charts_latency_spectrum_and_throughput_vs_app_processes(tmp_path):
    """Cases with HDR histograms get a percentile spectrum; pool_sizing at several
    app_processes a throughput line. Both read only the results file."""
    from bench import hdr

    cases = []
    for processes in (1, 2, 4):
        for index, variant in enumerate(("queue_pool", "raw_driver")):
            histogram = hdr.new()
            hdr.record(histogram, [(index + 1) * 1e6 * (1 + k / 50) for k in range(200)])
            case = _case("pool_sizing", variant, {"app_processes": processes, "pool_size": 5},
                         [int(1e7 / processes) + i for i in range(5)],
                         extra={"bottleneck": "load worker tcp://127.0.0.1:1 above 90% CPU"})
            case["histograms"] = {"latency_ns": hdr.encode(histogram)}
            cases.append(case)
    doc = _doc(cases)
    doc["families"]["pool_sizing"] = {"question": "How big a pool?", "unit": "units"}
    page = write_report([_write(tmp_path, "load.json", doc)], tmp_path / "out").read_text()
    load = re.findall(r'<div class="chart load" data-family="pool_sizing">(.*?)</div>', page,
                      re.S)
    assert any("throughput vs app processes" in svg for svg in load)
    spectra = [svg for svg in load if "latency percentiles" in svg]
    assert spectra and all("p99.99" in svg and "raw_driver" in svg for svg in spectra)
    assert "above 90% CPU" in page  # the bottleneck note reaches the table
