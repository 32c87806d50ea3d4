"""RTT as part of a case's identity, what a run records of its environment, and how the
report draws a family swept over RTT (issue 18). No database needed."""

from __future__ import annotations

import json
import re

import pytest

from bench.api.family import load_families
from bench.report import write_report
from bench.report.model import Run, family_views
from bench.report.rtt import rtt_finding, rtt_sweeps
from bench.results import file as results
from bench.results import records, stats
from bench.run import environment

SETTINGS = {"shared_buffers": "128MB", "work_mem": "4MB", "synchronous_commit": "on",
            "fsync": "on", "max_connections": "100", "jit": "on"}
QUIET = {"loadavg": [0.1, 0.2, 0.3], "cpu_pressure": {"some_avg10": 0.5, "some_avg60": 1.0,
                                                      "some_avg300": 2.0}}
# The decisions the loading family declares, as the runner writes them into a file.
LOADING_DECISIONS = [c.record() for c in load_families()["loading"].comparisons]
BUSY = {"loadavg": [1.9, 1.5, 1.2], "cpu_pressure": {"some_avg10": 40.0, "some_avg60": 30.0,
                                                     "some_avg300": 20.0}}


def _case(variant, params, samples, rtt_ms=None, blocks=None, scenario="loading", unit="loads"):
    case = records.new_case(scenario, variant, params, unit=unit, ops_per_round=1,
                            driver="asyncpg")
    case.update(status="ok", samples_ns=samples, blocks=blocks or list(range(len(samples))))
    case["stats"] = stats.summarize(samples)
    case["throughput_per_s"] = 1e9 / case["stats"]["median"]
    if rtt_ms is not None:
        case["rtt_ms"] = rtt_ms
    return case


def _doc(cases, rtts=None, settings=None, load_end=None):
    doc = {
        "schema_version": results.SCHEMA_VERSION, "tool_version": "0.2.0", "run_id": "r",
        "label": "asyncpg rtt", "created_at": "2026-11-25T00:00:00+00:00",
        "run_status": "complete",
        "environment": {"python": "3.11.7", "cpu_count": 2, "server": {"product": "PostgreSQL",
                                                                       "version": "15.2"},
                        "server_settings": settings if settings is not None else dict(SETTINGS),
                        "load_start": QUIET, "load_end": load_end or QUIET},
        "config": {"driver": "asyncpg", "url": "postgresql+asyncpg://postgres@db/x"},
        "families": {"loading": {"question": "How much does N+1 cost?", "unit": "loads",
                                 "reference": ["raw_driver"], "comparisons": LOADING_DECISIONS}},
        "cases": cases,
    }
    if rtts is not None:
        doc["config"].update(rtt_ms=rtts, rtt_fallback=False)
        doc["network"] = {
            "target": "db:5432", "realtime": True, "timer_slack_1ns": True, "proxy_cpu_ms": 321.0,
            "calibration": [{"rtt_ms": r, "samples": 50, "direct_us": 36.0,
                             "through_proxy_us": 36.0 + r * 1000 + 40, "added_us": r * 1000 + 40}
                            for r in rtts]}
    return doc


def _loading_sweep():
    """lazy_n_plus_1 grows with RTT; selectinload wins at 0, joinedload from 1 ms."""
    cases = []
    params = {"parents": 100, "children": 10}
    for rtt, (lazy, selectin, joined) in {0.0: (58, 9.9, 11), 1.0: (160, 12, 11.5),
                                          2.0: (316, 19.8, 14)}.items():
        for variant, ms in (("lazy_n_plus_1", lazy), ("selectinload", selectin),
                            ("joinedload", joined), ("raw_driver", 5)):
            samples = [int(ms * 1e6 * (1 + k / 1000)) for k in range(8)]
            cases.append(_case(variant, params, samples, rtt_ms=rtt))
    return cases


# -- identity ---------------------------------------------------------------------------------


def test_cases_pair_across_runs_only_at_the_same_rtt():
    direct = _case("selectinload", {"parents": 100}, [1, 2, 3])
    at_zero = _case("selectinload", {"parents": 100}, [1, 2, 3], rtt_ms=0.0)
    at_one = _case("selectinload", {"parents": 100}, [1, 2, 3], rtt_ms=1.0)
    keys = {results.case_key(c) for c in (direct, at_zero, at_one)}
    assert len(keys) == 3
    assert results.case_key(at_one) == results.case_key(dict(at_one))
    # what compare does to pair across drivers keeps the RTT in the key
    assert results.case_key(at_zero)[:3] != results.case_key(at_one)[:3]
    # a direct case keeps the key it always had: older results still pair
    assert results.case_key(direct) == ("loading", "selectinload", (("parents", "100"),),
                                        "asyncpg")


def test_compare_refuses_to_judge_across_rtts_and_says_how_to_fix_it():
    at_one = _doc([_case("joinedload", {"parents": 100}, [1, 2], rtt_ms=1.0)], rtts=[1.0])
    at_two = _doc([_case("joinedload", {"parents": 100}, [1, 2], rtt_ms=2.0),
                   _case("joinedload", {"parents": 100}, [1, 2], rtt_ms=0.5)], rtts=[2.0, 0.5])
    direct = _doc([_case("joinedload", {"parents": 100}, [1, 2])])
    message = results.rtt_refusal(at_one, at_two, "base.json", "new.json")
    assert message == ("base.json was measured at RTT 1 ms and new.json at RTT 2 ms, 0.5 ms: "
                       "compare judges cases at the same RTT only; measure both sides with the "
                       "same --rtt (or both without)")
    assert "over a direct connection (no --rtt)" in results.rtt_refusal(direct, at_one)
    assert results.rtt_refusal(at_two, _doc([*at_one["cases"], *at_two["cases"]])) is None
    assert results.rtt_refusal(direct, direct) is None


def test_the_rtt_is_validated_and_shown_where_cases_are_named(tmp_path):
    case = _case("joinedload", {"parents": 100}, [1, 2], rtt_ms=0.5)
    assert records.case_point_text(case) == "parents=100 rtt=0.5ms"
    assert records.case_point_text(_case("joinedload", {"parents": 100}, [1, 2], 0.0)) == \
        "parents=100 rtt=0"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_doc([{**case, "rtt_ms": "fast"}])))
    with pytest.raises(results.ResultsFileError, match="rtt_ms of the wrong type"):
        results.load(path)


# -- environment --------------------------------------------------------------------------------


def test_machine_load_reads_linux_cpu_pressure(tmp_path):
    pressure = tmp_path / "cpu"
    pressure.write_text("some avg10=3.34 avg60=10.77 avg300=16.79 total=185152913\n"
                        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    load = environment.machine_load(pressure)
    assert load["cpu_pressure"] == {"some_avg10": 3.34, "some_avg60": 10.77, "some_avg300": 16.79}
    assert len(load["loadavg"]) == 3
    assert environment.machine_load(tmp_path / "absent")["cpu_pressure"] is None


def test_differences_name_each_setting_and_a_busier_machine():
    base = _doc([])["environment"]
    new = _doc([], settings={**SETTINGS, "work_mem": "64MB", "jit": "off"},
               load_end=BUSY)["environment"]
    assert environment.differences(base, new) == [
        "server setting work_mem differs: 4MB vs 64MB",
        "server setting jit differs: on vs off",
        "machine load differs: load 0.05 per core, CPU pressure 0% vs load 0.95 per core, "
        "CPU pressure 40%",
    ]
    assert environment.differences(base, base) == []
    assert environment.differences({}, new) == []  # an older file recorded none of it


# -- the report -----------------------------------------------------------------------------------


def test_a_family_swept_over_rtt_is_drawn_as_lines_and_its_finding_names_each_rtt(tmp_path):
    path = tmp_path / "rtt.json"
    path.write_text(json.dumps(_doc(_loading_sweep(), rtts=[0.0, 1.0, 2.0])))
    run = Run(path, results.load(path))
    view = family_views([run])[0]
    assert [g.params_text for g in view.groups][:2] == ["parents=100 children=10 rtt=0",
                                                        "parents=100 children=10 rtt=1ms"]
    assert [s.rtts() for s in rtt_sweeps(view, run)] == [[0.0, 1.0, 2.0]]
    finding = rtt_finding(view, run)
    assert finding is not None
    assert finding.startswith("Across RTT at parents=100 children=10: "
                              "lazy_n_plus_1 / selectinload 5.9× at rtt=0, 13.3× at rtt=1ms, "
                              "16.0× at rtt=2ms")
    assert finding.endswith("fastest: selectinload at rtt=0; joinedload at rtt=1ms, rtt=2ms.")
    page = write_report([path], tmp_path / "out").read_text()
    charts = re.findall(r'<div class="chart rtt-sweep" data-family="loading">(.*?)</div>',
                        page, re.S)
    assert len(charts) == 2  # time, ratio
    assert "time per load vs RTT" in charts[0] and "ratio vs RTT" in charts[1]
    # the declared comparisons are the ratio's lines, their points one per RTT
    assert "lazy_n_plus_1 / selectinload: 5.86× (5.86–5.86) at rtt=0" in charts[1]
    assert "lazy_n_plus_1 / selectinload: 16× (16–16) at rtt=2ms" in charts[1]
    assert "joinedload / selectinload" in charts[1]
    assert "fastest: selectinload at rtt=0; joinedload at rtt=1ms, rtt=2ms" in page
    # a decision per RTT, each naming the RTT it holds at; none pairs cases across RTTs
    for rtt in ("rtt=0", "rtt=1ms", "rtt=2ms"):
        assert re.search(r"selectinload is \d+(\.\d+)?× \([\d.–]+×\) faster than "
                         rf"lazy_n_plus_1 at parents=100 children=10 {rtt};", page), rtt
    assert "joinedload is 1.41× (1.41–1.41×) faster than selectinload at parents=100 " \
        "children=10 rtt=2ms" in page


def test_the_best_pool_size_per_rtt_is_drawn(tmp_path):
    """At concurrency 100 the best pool grows with RTT; at 10, 5 is best at both."""
    cases = []
    for concurrency, bests in ((100, {0.0: 5, 2.0: 20}), (10, {0.0: 5, 2.0: 5})):
        for rtt, best in bests.items():
            for pool_size in (5, 20):
                ms = 10 if pool_size == best else 30
                cases.append(_case("queue_pool", {"pool_size": pool_size,
                                                  "concurrency": concurrency,
                                                  "pool_timeout": 5.0},
                                   [ms * 1_000_000] * 3, rtt_ms=rtt, scenario="pool_sizing",
                                   unit="units"))
    doc = _doc(cases, rtts=[0.0, 2.0])
    doc["families"] = {"pool_sizing": {"question": "How big a pool?", "unit": "units"}}
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(doc))
    page = write_report([path], tmp_path / "out").read_text()
    (chart,) = [svg for svg in re.findall(r'<div class="chart rtt-sweep" data-family='
                                          r'"pool_sizing">(.*?)</div>', page, re.S)
                if "best pool_size (most units/s) vs RTT" in svg]
    # a line per variant and value of the parameters that vary (not pool_timeout)
    assert "<title>queue_pool · concurrency=100: best pool_size 20 at rtt=2ms</title>" in chart
    assert "<title>queue_pool · concurrency=10: best pool_size 5 at rtt=2ms</title>" in chart
    assert "pool_timeout" not in chart
    finding = re.search(r'<p class="finding rtt">(.*?)</p>', page).group(1)
    assert finding.startswith("Across RTT: best pool_size for queue_pool · concurrency=100: "
                              "5 at rtt=0; 20 at rtt=2ms; ")
    assert finding.endswith("best pool_size for queue_pool · concurrency=10: 5 at rtt=0, "
                            "rtt=2ms.")


def test_the_environment_table_shows_settings_load_and_what_the_proxy_added(tmp_path):
    path = tmp_path / "rtt.json"
    path.write_text(json.dumps(_doc(_loading_sweep(), rtts=[0.0, 1.0, 2.0], load_end=BUSY)))
    page = write_report([path], tmp_path / "out").read_text()
    for name, value in SETTINGS.items():
        assert f"{name} = {value}" in page
    assert "load 0.10 0.20 0.30 · CPU pressure 0% (10 s), 1% (60 s), 2% (300 s)" in page
    assert "load 1.90 1.50 1.20 · CPU pressure 40% (10 s)" in page
    assert "at RTT 0, 1, 2 ms (SCHED_FIFO; proxy CPU 321 ms in all)" in page
    assert ("SELECT 1 36 µs direct, 1.08 ms through the proxy: adds 1.04 ms "
            "(median of 50 paired samples)") in page


def test_the_compare_command_refuses_runs_at_different_rtts_in_one_line(tmp_path, capsys):
    from bench.cli import main

    paths = []
    for name, rtt in (("a.json", 1.0), ("b.json", 2.0)):
        doc = _doc([_case("joinedload", {"parents": 100}, [1000, 1100], rtt_ms=rtt)], rtts=[rtt])
        (tmp_path / name).write_text(json.dumps(doc))
        paths.append(str(tmp_path / name))
    assert main(["compare", *paths]) == 2
    err = capsys.readouterr().err
    assert "a.json was measured at RTT 1 ms and b.json at RTT 2 ms" in err
    assert err.count("\n") == 1


def test_compare_warns_when_server_settings_differ(tmp_path, capsys):
    from bench.cli import main

    paths = []
    for name, settings in (("a.json", SETTINGS), ("b.json", {**SETTINGS, "work_mem": "64MB"})):
        doc = _doc([_case("joinedload", {"parents": 100}, [1000, 1100])], settings=settings)
        (tmp_path / name).write_text(json.dumps(doc))
        paths.append(str(tmp_path / name))
    assert main(["compare", *paths]) == 0
    assert "server setting work_mem differs" in capsys.readouterr().err
