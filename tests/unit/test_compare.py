"""compare's verdicts on constructed block samples, the CLI's exit codes, older files."""

import json
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from bench.judge.compare import compare_sides
from bench.judge.verdicts import (
    FASTER,
    INCONCLUSIVE,
    SAME,
    SLOWER,
    blocks_change,
    calls_changed,
    judge,
    runs_change,
    statements_changed,
)
from bench.measure.rounds import RoundResult
from bench.measure.summary import record_paired, record_rounds
from bench.results import file as results
from bench.results import records, storage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures_results"


# -- the rules ----------------------------------------------------------------------------


def _blocks(ratio, spread=0.01, n=30, seed=0):
    rng = np.random.default_rng(seed)
    return list(ratio * np.exp(rng.normal(0, spread, n)))


def test_the_same_blocks_are_same():
    change = blocks_change(_blocks(2.0), _blocks(2.0, seed=1), delta=0.10)
    assert change.verdict == SAME
    assert change.low <= 1 <= change.high


def test_thirty_percent_more_is_slower_and_less_is_faster():
    assert blocks_change(_blocks(2.0), _blocks(2.6, seed=1), 0.10).verdict == SLOWER
    assert blocks_change(_blocks(2.6), _blocks(2.0, seed=1), 0.10).verdict == FASTER


def test_three_percent_less_within_five_percent_is_same():
    change = blocks_change(_blocks(2.0), _blocks(2.0 * 0.97, seed=1), delta=0.05)
    assert change.verdict == SAME
    assert change.estimate == pytest.approx(0.97, abs=0.01)


def test_wide_noise_is_inconclusive_not_same():
    change = blocks_change(_blocks(2.0, spread=0.4, n=8), _blocks(2.0, spread=0.4, n=8, seed=3),
                           delta=0.10)
    assert change.verdict == INCONCLUSIVE


def test_a_real_change_below_the_tolerance_is_not_slower():
    # 6% slower, and surely so, but smaller than the 10% that matters: not called slower
    change = blocks_change(_blocks(2.0, 0.002), _blocks(2.12, 0.002, seed=1), delta=0.10)
    assert change.low > 1 and change.verdict != SLOWER


def test_judge_rules_at_the_edges():
    assert judge(1.0, 0.95, 1.05, 0.10) == SAME
    assert judge(1.2, 1.15, 1.25, 0.10) == SLOWER
    assert judge(1.2, 0.98, 1.45, 0.10) == INCONCLUSIVE  # the interval includes no change
    assert judge(0.8, 0.75, 0.85, 0.10) == FASTER


def test_counts_are_their_own_verdicts():
    assert statements_changed(2, 101) and not statements_changed(2, 2.0)
    assert not statements_changed(None, 3)
    assert calls_changed(1000, 1060) and not calls_changed(1000, 1040)  # 5% tolerance
    assert not calls_changed(26.6, 28.1) and not calls_changed(0.004, 0.0)  # 2 calls at least
    assert calls_changed(254.6, 527.6)  # an N+1
    # a driver that polls from Python: its polls follow the network, an N+1 still shows
    assert calls_changed(56, 64) and not calls_changed(56, 64, polling=True)
    assert calls_changed(254.6, 527.6, polling=True)


def test_per_run_medians_judge_absolute_changes():
    base = [100.0, 103.0, 98.0, 101.0]
    assert runs_change(base, [v * 1.3 for v in base[::-1]], 0.10).verdict == SLOWER
    assert runs_change(base, [101.0, 99.0, 100.0, 102.0], 0.10).verdict == SAME


# -- documents made by the real summary code -------------------------------------------------


def _doc(ratio=2.0, statements=1.0, calls=100.0, spread=0.02, seed=0, driver="aiosqlite",
         blocks=20, version_label="run"):
    """A run of one point: raw_driver (reference) and orm at `ratio` times its time, with
    drift shared by the two inside each block."""
    rng = np.random.default_rng(seed)
    drift = np.exp(np.cumsum(rng.normal(0, 0.05, blocks)))  # the machine wanders
    cases = []
    for variant, factor in (("raw_driver", 1.0), ("orm", ratio)):
        case = records.new_case("knob_work", variant, {"ops": 10}, unit="lookups",
                                ops_per_round=10, driver=driver)
        noise = np.exp(rng.normal(0, spread, blocks))
        rounds = [RoundResult(int(1e6 * factor * d * e), 900_000, 0, int(10 * statements), 1)
                  for d, e in zip(drift, noise, strict=True)]
        record_rounds(case, rounds, list(range(blocks)))
        case["status"] = "ok"
        case["calls_per_op"] = calls if variant == "orm" else 10.0
        if variant == "raw_driver":
            case["statements_per_op"] = 1.0
        cases.append(case)
    record_paired(cases, "raw_driver")
    return {"schema_version": results.SCHEMA_VERSION, "tool_version": "0.2.0",
            "run_id": f"r{seed}", "label": version_label, "created_at": "2026-11-25T00:00:00",
            "run_status": "complete",
            "environment": {"python": "3.11.7", "sqlalchemy": "2.1.9", "event_loop": "asyncio",
                            "cpu_model": "x", "server": {"product": "SQLite", "version": "3"},
                            "driver_versions": {driver: "1"}},
            "config": {"driver": driver, "profile": "quick", "schedule": "interleaved"},
            "families": {}, "cases": cases}


def _write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_a_drifting_machine_does_not_move_the_verdict(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc(seed=1))
    new = _write(tmp_path, "b.json", _doc(seed=2))  # another run: drift of its own
    assert main(["compare", base, new, "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert "0 slower, 0 faster, 1 same, 0 inconclusive, 0 with changed counts" in out
    assert "absolute changes between separate runs are not judged" in out


def test_a_slower_variant_fails_the_gate_and_says_why(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc(seed=1))
    new = _write(tmp_path, "b.json", _doc(ratio=2.6, seed=2))
    assert main(["compare", base, new, "--fail-on-regression"]) == 1
    captured = capsys.readouterr()
    assert "1 slower" in captured.out and "SLOWER" in captured.out
    assert "the gate fails on 1 case(s):" in captured.err
    assert "knob_work/orm [ops=10] on aiosqlite: paired ratio +29.9% (+27.7% to" in captured.err
    assert "Traceback" not in captured.err
    assert main(["compare", base, new]) == 0  # the same verdict, exit 0 without the gate


def test_a_statement_count_change_fails_the_gate_whatever_the_times(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc(seed=1))
    new = _write(tmp_path, "b.json", _doc(statements=2.0, seed=2))
    assert main(["compare", base, new, "--fail-on-regression"]) == 1
    err = capsys.readouterr().err
    assert "statements per op 1 → 2" in err


def test_a_polling_drivers_calls_may_move_more_its_statements_may_not(tmp_path, capsys):
    for driver, gate in (("aiosqlite", 1), ("aiopg", 0)):  # aiopg's row says it polls
        base = _write(tmp_path, f"{driver}a.json", _doc(seed=1, calls=56.0, driver=driver))
        new = _write(tmp_path, f"{driver}b.json", _doc(seed=2, calls=64.0, driver=driver))
        assert main(["compare", base, new, "--fail-on-regression"]) == gate, driver
    new = _write(tmp_path, "lazy.json", _doc(seed=2, calls=64.0, statements=2.0, driver="aiopg"))
    assert main(["compare", base, new, "--fail-on-regression"]) == 1
    assert "statements per op 1 → 2" in capsys.readouterr().err


def test_the_noise_floor_raises_a_cases_tolerance(tmp_path, capsys):
    base = _write(tmp_path, "a.json", _doc(seed=1, spread=0.005))
    new = _write(tmp_path, "b.json", _doc(ratio=2.0 * 1.14, seed=2, spread=0.005))
    assert main(["compare", base, new, "--fail-on-regression"]) == 1  # 14% > 10%
    case = _doc()["cases"][1]
    noise = {"sqla_bench_noise": 1, "cases": [
        {"scenario": case["scenario"], "variant": "orm", "params": case["params"],
         "driver": case["driver"], "ratio_spread": 0.20, "absolute_spread": 0.3}]}
    noise_file = _write(tmp_path, "noise.json", noise)
    capsys.readouterr()
    assert main(["compare", base, new, "--fail-on-regression", "--noise", noise_file]) == 0
    out = capsys.readouterr().out  # within ±20% the case is the same: counted, not listed
    assert "1 same" in out and "1 case(s) the same within tolerance" in out


def test_one_run_a_side_with_few_blocks_says_how_to_gate(tmp_path, capsys):
    few = [_write(tmp_path, f"f{k}.json", _doc(seed=k, blocks=15)) for k in range(2)]
    many = [_write(tmp_path, f"m{k}.json", _doc(seed=k, blocks=60)) for k in range(2)]
    main(["compare", *few])
    assert "few blocks (15 in some cases)" in capsys.readouterr().out
    main(["compare", *many])
    assert "few blocks" not in capsys.readouterr().out
    runs = [_write(tmp_path, f"r{k}.json", _doc(seed=k, blocks=15)) for k in range(6)]
    main(["compare", *runs[:3], "--", *runs[3:]])
    assert "few blocks" not in capsys.readouterr().out  # the runs are the samples


def test_several_runs_a_side_judge_absolute_times(tmp_path, capsys):
    base = [_write(tmp_path, f"a{k}.json", _doc(seed=k)) for k in range(3)]
    same = [_write(tmp_path, f"b{k}.json", _doc(seed=10 + k)) for k in range(3)]
    assert main(["compare", *base, "--", *same, "--threshold", "30"]) == 0
    out = capsys.readouterr().out
    assert "absolute changes between separate runs are not judged" not in out
    judgements = compare_sides([results.load(p) for p in base],
                               [results.load(p) for p in same], 30)
    assert all(j.absolute is not None and j.absolute.samples == "3 vs 3 runs"
               for j in judgements)


def test_compare_usage_errors_are_one_line(tmp_path, capsys):
    one = _write(tmp_path, "a.json", _doc())
    assert main(["compare", one]) == 2
    assert "compare takes BASE NEW" in capsys.readouterr().err
    assert main(["compare", one, one, "--noise", str(tmp_path / "none.json")]) == 2
    assert "noise file" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["v1_aiosqlite_loading.json", "v1_asyncpg_raw_queries_crud.json",
                                  "v1_pytest_benchmark_loading.json"])
def test_older_files_still_compare(name, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # the wide table: a verdict in one line
    path = str(FIXTURES / name)
    assert main(["compare", path, path, "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert "no paired ratio: not judged" in out  # version 1 measured no paired ratios
    assert "0 with changed counts" in out


def test_the_gate_compares_with_the_saved_run_before_the_new_one(tmp_path, capsys):
    machine = tmp_path / ".benchmarks" / "Linux-CPython-3.11-64bit"
    machine.mkdir(parents=True)
    older = {"datetime": "2026-11-25T10:00:00", "benchmarks": []}
    (machine / "0001_a.json").write_text(json.dumps(older))
    new = {"datetime": "2026-11-25T11:00:00", "benchmarks": []}
    (machine / "0002_b.json").write_text(json.dumps(new))  # autosave's copy of the new run
    new_path = tmp_path / "new.json"
    new_path.write_text(json.dumps(new))
    assert storage.previous_saved_run(tmp_path / ".benchmarks", new_path) == machine / "0001_a.json"
    # autosave stamps its copy a moment apart from --benchmark-json's: the same benchmarks
    # are the same run, and a run saved after the new one is no baseline either
    bench = [{"fullname": "t::x", "stats": {"median": 1.0, "rounds": 5}}]
    stamped = {"datetime": "2026-11-25T11:00:00.35", "benchmarks": bench}
    new_path.write_text(json.dumps(stamped))
    (machine / "0002_b.json").write_text(json.dumps({**stamped,
                                                     "datetime": "2026-11-25T11:00:00.51"}))
    (machine / "0003_c.json").write_text(json.dumps({"datetime": "2026-11-25T12:00:00",
                                                     "benchmarks": []}))
    assert storage.previous_saved_run(tmp_path / ".benchmarks", new_path) == machine / "0001_a.json"
    empty = tmp_path / "nothing"
    assert main(["gate", str(new_path), "--storage", str(empty)]) == 0
    assert "no earlier saved run" in capsys.readouterr().out
    # a mistyped new run is an error, not the first run of a history
    assert main(["gate", str(tmp_path / "nwe.json"), "--storage", str(empty)]) == 2
    captured = capsys.readouterr()
    assert f"results file {tmp_path / 'nwe.json'} does not exist" in captured.err
    assert "no earlier saved run" not in captured.out


def test_compare_lists_changes_first_and_counts_the_same_ones(tmp_path, capsys, monkeypatch):
    """A same case and an unchanged reference are a count under the table, not rows; the
    slower case is listed, in a table that fits 80 columns."""
    monkeypatch.setenv("COLUMNS", "80")
    base = _write(tmp_path, "a.json", _doc(seed=1))
    same = _write(tmp_path, "b.json", _doc(seed=2))
    assert main(["compare", base, same]) == 0
    out = capsys.readouterr().out
    assert "knob_work" not in out  # no row: both cases collapse
    flat = " ".join(out.split())
    assert "1 case(s) the same within tolerance, 1 reference(s) with unchanged counts" in flat
    slower = _write(tmp_path, "c.json", _doc(ratio=2.6, seed=2))
    assert main(["compare", base, slower]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "knob_work" in line]
    assert len(rows) == 1 and "SLOWER" in rows[0] and "orm" in rows[0]
    assert "1 reference(s) with unchanged counts" in " ".join(out.split())
    assert max(len(line) for line in out.splitlines()[:out.count("\n") - 3]) <= 80
