"""Instructions per op counted under callgrind, for real (issue 23): a tiny aiosqlite case
repeats across memory layouts within the gate's tolerance, a fixed +25% of extra work per
query fails the gate while an unchanged run passes, a service is counted with its load,
and the pytest plug-in counts a point in a forked process. Skipped where valgrind is missing."""

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.judge.verdicts import INSTRUCTIONS_DEFAULT_TOLERANCE
from bench.measure.instructions import unavailable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures_scenarios"
pytest_plugins = ["pytester"]

REASON = unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))
# Iterations of knob_instructions' loop per lookup: about a quarter of an ORM lookup's
# instructions on CPython 3.11 (checked below: the test reads the change, not this number).
KNOB_LOOPS = "1500"


def _run(tmp_path: Path, name: str, layouts: int) -> dict:
    out = tmp_path / f"{name}.json"
    status = main(["run", "--driver", "aiosqlite", "--scenarios-path", str(FIXTURES),
                   "--scenario", "knob_instructions", "--measure", "instructions",
                   "--layouts", str(layouts), "--output", str(out), "--quiet"])
    assert status == 0
    return json.loads(out.read_text())


def _orm(doc: dict) -> dict:
    return next(c for c in doc["cases"] if c["variant"] == "orm")


def test_counts_repeat_and_extra_work_fails_the_gate(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SQLAB_KNOB_LOOPS", raising=False)
    base = _run(tmp_path, "base", layouts=2)
    orm = _orm(base)
    counted = orm["instructions"]
    assert orm["instructions_per_op"] > 100_000  # an ORM lookup is far more than a call
    assert len(counted["layouts"]) == 2 and len(counted["rounds"]) == 6
    # repeatable: two layouts and every round within the default tolerance of each other
    assert counted["spread"] < INSTRUCTIONS_DEFAULT_TOLERANCE
    assert counted["round_spread"] < INSTRUCTIONS_DEFAULT_TOLERANCE
    assert counted["valgrind"].startswith("valgrind-") and "CPython" in counted["python_build"]
    assert base["config"]["measure"] == "instructions"

    monkeypatch.setenv("SQLAB_KNOB_LOOPS", KNOB_LOOPS)
    knob = _run(tmp_path, "knob", layouts=1)
    change = _orm(knob)["instructions_per_op"] / orm["instructions_per_op"] - 1
    assert change > 0.20  # the loop is sized to about +25%
    raw_change = (next(c for c in knob["cases"] if c["variant"] == "raw_driver")
                  ["instructions_per_op"] / next(c for c in base["cases"]
                                                 if c["variant"] == "raw_driver")
                  ["instructions_per_op"] - 1)
    assert abs(raw_change) < INSTRUCTIONS_DEFAULT_TOLERANCE  # the knob is the ORM's only
    capsys.readouterr()
    status = main(["gate", str(tmp_path / "knob.json"), "--baseline", str(tmp_path / "base.json")])
    err = capsys.readouterr().err
    assert status == 1
    assert "knob_instructions/orm" in err and "instructions per op (exact count" in err
    assert "statements per op" not in err  # the same statements: only the work changed


def test_a_run_of_several_drivers_is_counted_for_each(tmp_path, monkeypatch):
    # the drivers of one run, counted in two layouts at once: each layout on SQLite files
    # of its own, every driver's cases counted and merged
    monkeypatch.delenv("SQLAB_KNOB_LOOPS", raising=False)
    out = tmp_path / "several.json"
    assert main(["run", "--driver", "aiosqlite,aiosqlite@2", "--scenarios-path",
                 str(FIXTURES), "--scenario", "knob_instructions", "--measure",
                 "instructions", "--layouts", "2", "--output", str(out), "--quiet"]) == 0
    cases = json.loads(out.read_text())["cases"]
    counted = {(c["driver"], c["variant"]): c["instructions"] for c in cases}
    assert set(counted) == {(d, v) for d in ("aiosqlite", "aiosqlite@2")
                            for v in ("raw_driver", "orm")}
    assert all(len(c["layouts"]) == 2 for c in counted.values())
    # the type cache's miss path is left out of the count, and kept beside it
    orm = counted[("aiosqlite", "orm")]
    assert orm["counted"] == "Ir less find_name_in_mro" and orm["excluded_per_op"] > 0


def test_a_service_is_counted_in_process_with_its_load(tmp_path):
    # Callgrind counts one process: a uvicorn server's work would be left out and only
    # the HTTP load counted (lazy loading then counted *less* than selectinload). Served
    # in-process, the service's eleven statements a request cost more than its two.
    out = tmp_path / "service.json"
    assert main(["run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'db'}",
                 "--scenario", "fastapi_service", "--profile", "counted", "--measure",
                 "instructions", "--layouts", "1", "--output", str(out), "--quiet"]) == 0
    cases = {c["variant"]: c for c in json.loads(out.read_text())["cases"]}
    selectin, lazy = cases["selectinload"], cases["lazy_n_plus_1"]
    assert (selectin["statements_per_op"], lazy["statements_per_op"]) == (2, 11)
    assert lazy["instructions_per_op"] > 1.3 * selectin["instructions_per_op"]
    assert "server_port" not in selectin["extra"]  # no server process was started
    # a round's count is the case's own work: no first-round cost of the harness's
    # latency statistics (numpy) inside it
    assert selectin["instructions"]["round_spread"] < INSTRUCTIONS_DEFAULT_TOLERANCE
    assert selectin["extra"]["latency_ns"]["count"] == 3 * 8  # three rounds of 8 requests


def test_runs_of_equal_lengths_count_in_the_same_layout_and_agree(tmp_path, monkeypatch):
    # two runs that differ only in a variable's value, never in a length: the same memory
    # layout key, and the same count to a fraction of a per cent (two layouts: ~1-3%)
    monkeypatch.setenv("SQLAB_KNOB_RAW_LOOPS", "0000")
    runs = {}
    for name, loops in (("aaa1", "0000"), ("aaa2", "0000"), ("knob", "0080")):
        monkeypatch.setenv("SQLAB_KNOB_LOOPS", loops)
        runs[name] = _run(tmp_path, name, layouts=1)
    keys = {c["instructions"]["layout"] for doc in runs.values() for c in doc["cases"]}
    assert len(keys) == 1 and None not in keys
    base, again = (_orm(runs[n])["instructions_per_op"] for n in ("aaa1", "aaa2"))
    assert abs(again / base - 1) < 0.01
    # a few per cent of extra work stands out of that agreement
    assert 1.015 < _orm(runs["knob"])["instructions_per_op"] / base < 1.05


PYTEST_COUNTED = f"""
import pytest
from bench.api.family import load_families

FAMILY = load_families([{str(FIXTURES)!r}])["knob_instructions"]


@pytest.mark.sqla_share_process("point")
@pytest.mark.parametrize("variant", ["raw_driver", "orm"])
def test_lookup(async_benchmark, tmp_path_factory, variant):
    url = f"sqlite:///{{tmp_path_factory.getbasetemp() / 'k.sqlite3'}}"
    data = async_benchmark.variant(FAMILY, variant, "aiosqlite", url, {{"ops": 5}},
                                   rounds=2, warmup_rounds=0)
    assert len(data) == 5
"""


def test_pytest_counts_each_point_in_a_forked_process_under_callgrind(pytester, monkeypatch):
    """`pytest --sqla-measure instructions` for real: a counting child under callgrind
    forks the point's process, which counts both variants' rounds into its own file."""
    monkeypatch.delenv("SQLAB_KNOB_LOOPS", raising=False)
    monkeypatch.delenv("SQLAB_KNOB_RAW_LOOPS", raising=False)
    pytester.makepyfile(test_counted_point=PYTEST_COUNTED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sqla-measure",
                                           "instructions", "--sqla-layouts", "1",
                                           "--sqla-driver", "aiosqlite",
                                           "--benchmark-json=out.json")
    assert result.ret == 0, result.stdout.str()
    found = {b["params"]["variant"]: b["extra_info"]
             for b in json.loads((pytester.path / "out.json").read_text())["benchmarks"]}
    assert set(found) == {"raw_driver", "orm"}
    for info in found.values():
        counted = info["instructions"]
        assert len(counted["rounds"]) == 2 and counted["layout"]
        assert info["statements_per_op"] == 1
    # an ORM lookup is several times the raw driver's work, counted in the same process
    assert found["orm"]["instructions_per_op"] > 3 * found["raw_driver"]["instructions_per_op"]
