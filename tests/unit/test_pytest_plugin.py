"""The pytest plug-in (bench.plugin.pytest_hooks): async work is what gets timed, the compare
gate trips on a slowed scenario variant, and its JSON becomes a report."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys

import pytest

from bench.measure.instructions.counting import COUNTED_ROUNDS
from bench.plugin.async_benchmark import reject_coroutine_function
from bench.results import file as results

pytest_plugins = ["pytester"]

FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures_scenarios"

SLEEP_TEST = """
import asyncio

def test_sleep(async_benchmark):
    async def work():
        await asyncio.sleep(0.01)
        return "slept"
    async_benchmark.benchmark.group = "plain"
    assert async_benchmark(work, rounds=5, warmup_rounds=1) == "slept"
"""

KNOB_TEST = f"""
from bench.api.family import load_families

def test_knob(async_benchmark, tmp_path):
    family = load_families([{str(FIXTURES)!r}])["knob"]
    data = async_benchmark.variant(family, "sleepy", "aiosqlite",
                                   f"sqlite:///{{tmp_path / 'k.sqlite3'}}", {{"calls": 1}},
                                   rounds=8, warmup_rounds=1)
    assert data == 1
    assert async_benchmark.benchmark.extra_info["statements_per_op"] == 1
"""


SHARED_POINT_TEST = f"""
import pytest
from bench.api.family import load_families

FAMILY = load_families([{str(FIXTURES)!r}])["setup_probe"]

@pytest.mark.parametrize("size, variant", [(1, "core"), (1, "raw_driver"), (2, "core")])
def test_probe(async_benchmark, tmp_path_factory, size, variant):
    url = f"sqlite:///{{tmp_path_factory.getbasetemp() / 'p.sqlite3'}}"
    data = async_benchmark.variant(FAMILY, variant, "aiosqlite", url, {{"size": size}},
                                   rounds=3, warmup_rounds=1)
    assert data == size  # the point's rows, seeded once for its tests
"""


def _run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_the_awaited_work_is_timed_not_coroutine_creation(pytester):
    pytester.makepyfile(test_sleep=SLEEP_TEST)
    result = _run(pytester, "--benchmark-json=out.json")
    assert result.ret == 0, result.stdout.str()
    bench = json.loads((pytester.path / "out.json").read_text())["benchmarks"][0]
    assert bench["stats"]["median"] >= 0.010  # seconds: the sleep, not a coroutine object
    assert bench["group"] == "plain"
    assert len(bench["stats"]["data"]) == 5


def test_coroutine_functions_are_refused_where_they_would_time_nothing(async_benchmark):
    async def work():
        await asyncio.sleep(0)

    with pytest.raises(TypeError, match="would time only its creation"):
        reject_coroutine_function(work)
    with pytest.raises(TypeError, match="would time only its creation"):
        async_benchmark.sync(work)
    with pytest.raises(TypeError, match="needs a coroutine function"):
        async_benchmark(lambda: None)


def test_pytest_benchmarks_own_compare_still_works_with_our_rounds(pytester, monkeypatch):
    """--benchmark-autosave / --benchmark-compare keep working for those who use them: the
    rounds we hand pytest-benchmark are saved and compared. (Whether unchanged code stays
    within a percentage is timing on a shared machine: `sqla-bench gate` judges that.)"""
    pytester.makepyfile(test_knob=KNOB_TEST)
    storage = f"file://{pytester.path / 'saved'}"
    monkeypatch.setenv("SQLAB_KNOB_DELAY_MS", "10")
    baseline = _run(pytester, "--benchmark-storage", storage, "--benchmark-autosave")
    assert baseline.ret == 0, baseline.stdout.str()
    compared = _run(pytester, "--benchmark-storage", storage, "--benchmark-compare")
    assert compared.ret == 0, compared.stdout.str()
    assert "Comparing against benchmarks from" in compared.stdout.str() + compared.stderr.str()
    monkeypatch.setenv("SQLAB_KNOB_DELAY_MS", "60")  # six times the sleep: no noise hides it
    slowed = _run(pytester, "--benchmark-storage", storage, "--benchmark-compare",
                  "--benchmark-compare-fail=median:100%")
    assert slowed.ret != 0
    assert re.search(r"Performance has regressed", slowed.stdout.str() + slowed.stderr.str())


def test_pytest_benchmark_json_becomes_a_report_with_a_section_per_group(pytester, tmp_path):
    pytester.makepyfile(test_sleep=SLEEP_TEST, test_knob=KNOB_TEST)
    result = _run(pytester, "--benchmark-json=out.json", "--benchmark-group-by=group")
    assert result.ret == 0, result.stdout.str()
    from bench.report import write_report
    from bench.results.file import load_any

    doc = load_any(pytester.path / "out.json")
    assert {c["scenario"] for c in doc["cases"]} == {"plain", "knob"}
    assert all(len(c["samples_ns"]) > 0 and c["status"] == "ok" for c in doc["cases"])
    index = write_report([pytester.path / "out.json"], tmp_path / "report")
    html = index.read_text()
    sections = re.findall(r"<h2>([^<]+)</h2>", html)
    assert "plain" in sections and "knob" in sections


PROBE_TEST = f"""
import pytest
from bench.api.family import load_families

FAMILY = load_families([{str(FIXTURES)!r}])["plugin_probe"]

def _run(async_benchmark, tmp_path, variant, fail_after_round=False):
    return async_benchmark.variant(FAMILY, variant, "aiosqlite",
                                   f"sqlite:///{{tmp_path / 'p.sqlite3'}}",
                                   {{"ops": 2, "fail_after_round": fail_after_round}},
                                   rounds=4, warmup_rounds=0)

def test_growing(async_benchmark, tmp_path):
    assert _run(async_benchmark, tmp_path, "growing") == [0, 1]
    info = async_benchmark.benchmark.extra_info
    # rounds 1..4 send 3, 4, 5, 6 statements: every round counts, not the last one
    assert info["statements_per_op"] == 4.5
    assert info["reference"] == "raw_driver" and len(info["paired"]["ratios"]) == 4
    assert info["calls_per_op"] > 0

def test_wrong_data(async_benchmark, tmp_path):
    _run(async_benchmark, tmp_path, "wrong_data")

def test_after_round(async_benchmark, tmp_path):
    _run(async_benchmark, tmp_path, "growing", fail_after_round=True)
"""


def test_the_plugin_runs_the_runners_whole_round(pytester):
    """Data checked against the reference, after_round run, statements over all rounds."""
    pytester.makepyfile(test_probe=PROBE_TEST)
    result = _run(pytester, "--benchmark-json=out.json", "-rf")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1 and outcomes.get("failed") == 2, result.stdout.str()
    text = result.stdout.str()
    assert "AssertionError: plugin_probe/wrong_data: returned different data from " \
           "raw_driver: item 0 is 1 instead of 0" in text
    assert "RuntimeError: plugin_probe/growing failed: AssertionError: after_round found " \
           "the table in a bad state" in text
    saved = json.loads((pytester.path / "out.json").read_text())["benchmarks"]
    assert [b["name"] for b in saved] == ["test_growing"]
    assert len(saved[0]["stats"]["data"]) == 4  # the variant's timed rounds, as its rounds


ASYNC_KNOB_TEST = f"""
import pytest
from bench.api.family import load_families


@pytest.mark.asyncio
async def test_knob_awaited(async_benchmark, tmp_path):
    family = load_families([{str(FIXTURES)!r}])["knob"]
    data = await async_benchmark.variant(family, "sleepy", "aiosqlite",
                                         f"sqlite:///{{tmp_path / 'k.sqlite3'}}", {{"calls": 1}},
                                         rounds=6, warmup_rounds=1)
    assert data == 1
"""


def test_a_scenario_variant_is_awaited_in_an_async_test(pytester):
    pytester.makepyfile(test_knob=ASYNC_KNOB_TEST)
    result = _run(pytester, "-p", "no:anyio", "-o", "asyncio_mode=strict",
                  "--benchmark-json=out.json")
    assert result.ret == 0, result.stdout.str()
    (bench,) = json.loads((pytester.path / "out.json").read_text())["benchmarks"]
    assert len(bench["stats"]["data"]) == 6
    assert bench["extra_info"]["variant"] == "sleepy" and bench["group"] == "knob"
    assert bench["extra_info"]["statements_per_op"] == 1
    # each round keeps its block's machine-speed probe, and the gate's reader keeps them
    probes = bench["extra_info"]["machine_ns"]
    assert len(probes) == 6 and all(p > 0 for p in probes)
    (case,) = results.load_any(pytester.path / "out.json")["cases"]
    assert case["machine_ns"] == probes


def test_the_tests_of_one_point_share_its_setup(pytester, monkeypatch):
    """Consecutive tests of one point (its variants) set it up once, as run's variants do;
    the next point's setup comes after the last one's teardown, and the session ends with
    the last point torn down."""
    log = pytester.path / "setups.log"
    monkeypatch.setenv("SQLAB_SETUP_LOG", str(log))
    pytester.makepyfile(test_probe=SHARED_POINT_TEST)
    result = _run(pytester, "--benchmark-disable")
    assert result.ret == 0, result.stdout.str()
    assert log.read_text().split("\n")[:-1] == ["setup 1", "teardown 1", "setup 2",
                                                "teardown 2"]


def test_a_counting_child_skips_what_pytest_benchmark_times(pytester, monkeypatch, tmp_path):
    """Under --sqla-measure instructions only async_benchmark's rounds are counted: a test
    timed with the plain benchmark fixture is skipped in the counting children, saying why,
    instead of running its rounds under emulation for nothing."""
    monkeypatch.setenv("SQLA_BENCH_CALLGRIND_OUT", str(tmp_path / "callgrind.out"))
    pytester.makepyfile(test_kinds=SLEEP_TEST + """

def test_plain(benchmark):
    benchmark(sum, [1, 2])
""")
    result = _run(pytester, "-rs")
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=1, skipped=1)
    assert "timed with pytest-benchmark's benchmark fixture: nothing to count" in \
        result.stdout.str()


FORK_TESTS = SLEEP_TEST + """
import os
import pytest

PIDS = os.environ["PIDS_FILE"]


def _note(name):
    with open(PIDS, "a") as handle:
        handle.write(f"{name} {os.getpid()}\\n")


@pytest.fixture(scope="session")
def session_thing():
    _note("session-setup")
    yield
    _note("session-teardown")


@pytest.mark.sqla_share_process("point-1")
def test_first(session_thing):
    _note("first")


@pytest.mark.sqla_share_process("point-1")
def test_second(session_thing):
    _note("second")


def test_alone(session_thing):
    _note("alone")


def test_fails():
    assert 1 == 2, "a failure the parent must report"


def test_dies():
    os._exit(3)
"""


def test_a_counting_child_runs_each_group_in_a_forked_process(pytester, monkeypatch, tmp_path):
    """In a counting child every group of tests runs in a process forked from the prepared
    parent, so no test's count carries another's history: tests sharing a key share one
    process and its fixtures, the others get one each; outcomes, a crash and the
    benchmarks' results all reach the parent's report and JSON."""
    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("SQLA_BENCH_CALLGRIND_OUT", str(tmp_path / "callgrind.%p.out"))
    monkeypatch.setenv("PIDS_FILE", str(pids))
    pytester.makepyfile(test_groups=FORK_TESTS)
    result = _run(pytester, "--benchmark-json=out.json", "-rf")
    result.assert_outcomes(passed=4, failed=2)
    assert result.ret == 1
    text = result.stdout.str()
    assert "a failure the parent must report" in text
    assert "exited with status 3 before it reported" in text
    seen = [line.split() for line in pids.read_text().splitlines()]
    pid_of = {name: pid for name, pid in seen if name in ("first", "second", "alone")}
    assert pid_of["first"] == pid_of["second"] != pid_of["alone"]
    # every group set the session fixture up and tore it down in its own process
    assert [name for name, _ in seen].count("session-setup") == 2
    assert [name for name, _ in seen].count("session-teardown") == 2
    assert len({pid for _, pid in seen}) == 2  # the sleep test noted nothing
    bench = json.loads((pytester.path / "out.json").read_text())["benchmarks"]
    assert [b["name"] for b in bench] == ["test_sleep"]
    assert len(bench[0]["stats"]["data"]) == COUNTED_ROUNDS  # a counting child's rounds


AUDITED = """
import json, os, runpy, sys
started = []
sys.addaudithook(lambda event, args: started.append(str(args[0])) if event == "subprocess.Popen"
                 else None)
sys.argv = [sys.argv[0], *sys.argv[2:]]
try:
    runpy.run_module(os.environ["ENTRY"], run_name="__main__")
except SystemExit:
    pass
print("STARTED", json.dumps(started))
"""


def test_a_counting_child_starts_no_process_before_its_tests(pytester):
    """pytest-benchmark starts git and `file` before the first test (the autosave tag, the
    machine id); under valgrind each left the child's heap in one of several states, which
    moved every count after it. The counting child's entry point gives it fixed values."""
    pytester.makepyfile(test_one="def test_one():\n    pass\n")

    def started(entry):
        done = subprocess.run([sys.executable, "-c", AUDITED, "-", "--collect-only", "-q",
                               "-p", "no:cacheprovider"], cwd=pytester.path, check=False,
                              capture_output=True, text=True, env={**os.environ, "ENTRY": entry})
        assert "1 test collected" in done.stdout, done.stdout + done.stderr
        return json.loads(done.stdout.rsplit("STARTED ", 1)[1])

    assert "git" in started("pytest")  # what plain pytest does, with pytest-benchmark
    assert started("bench.plugin.counting_child") == []
