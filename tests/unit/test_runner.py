"""The runner on the embedded SQLite database (no server needed)."""

import asyncio
import itertools
import json
import statistics
from pathlib import Path

import pytest

from bench.api.family import load_families
from bench.db.database import resolve_url
from bench.db.drivers import get_driver
from bench.run.runner import RunConfig, Runner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures_scenarios"
_RUNS = itertools.count()


def _config(tmp_path, family="runner_probe", **kw):
    """A run of a test family on its own SQLite file (a fresh directory per run)."""
    driver = get_driver("aiosqlite")
    kw.setdefault("rounds", 4)
    kw.setdefault("warmup", 1)
    directory = tmp_path / f"run{next(_RUNS)}"
    directory.mkdir()
    return RunConfig(driver=driver, url=resolve_url(driver, f"sqlite:///{directory}/db"),
                     families=[load_families([FIXTURES])[family]],
                     output=directory / "run.json", **kw)


def _run(tmp_path, **kw):
    config = _config(tmp_path, **kw)
    seen_files = []
    runner = Runner(config,
                    progress=lambda line: seen_files.append(json.loads(config.output.read_text())))
    doc = asyncio.run(runner.run())
    return doc, seen_files


def _by_variant(doc):
    return {c["variant"]: c for c in doc["cases"]}


def test_every_round_is_kept_and_statements_are_counted_per_op(tmp_path):
    cases = _by_variant(_run(tmp_path)[0])
    assert len(cases["raw_driver"]["samples_ns"]) == 4
    assert cases["raw_driver"]["statements_per_op"] == 1
    assert cases["text_twice_per_op"]["statements_per_op"] == 2
    assert cases["text_twice_per_op"]["status"] == "ok"
    ops = cases["raw_driver"]["ops_per_round"]
    median_s = cases["raw_driver"]["stats"]["median"] / 1e9
    assert cases["raw_driver"]["throughput_per_s"] == ops / median_s
    for case in (cases["raw_driver"], cases["text_twice_per_op"]):
        assert len(case["cpu_ns"]) == len(case["samples_ns"]) == len(case["blocks"])
        assert all(cpu > 0 for cpu in case["cpu_ns"])
        assert 0 < case["cpu_share"]


def test_different_data_is_wrong_and_an_exception_is_an_error_and_the_run_goes_on(tmp_path):
    doc, _ = _run(tmp_path)
    cases = _by_variant(doc)
    assert cases["off_by_one"]["status"] == "wrong"
    assert "different data from raw_driver" in cases["off_by_one"]["error"]
    assert cases["raises"]["status"] == "error"
    assert cases["raises"]["error"] == "RuntimeError: deliberate failure in a variant"
    assert cases["raises"]["samples_ns"] == []  # it failed in its first round
    assert cases["after_failure"]["status"] == "ok"  # the run went on
    assert doc["run_status"] == "complete"


def test_the_paired_ratio_is_the_median_of_per_block_ratios_to_the_reference(tmp_path):
    cases = _by_variant(_run(tmp_path, rounds=6)[0])
    raw, text = cases["raw_driver"], cases["text_twice_per_op"]
    assert raw["reference"] == text["reference"] == "raw_driver"
    assert raw["paired"] is None  # the reference itself
    per_block_raw = dict(zip(raw["blocks"], raw["samples_ns"], strict=True))
    expected = [s / per_block_raw[b] for s, b in zip(text["samples_ns"], text["blocks"],
                                                     strict=True)]
    paired = text["paired"]
    assert paired["ratios"] == pytest.approx(expected)
    assert paired["median"] == pytest.approx(statistics.median(expected))
    assert paired["ci95_low"] <= paired["median"] <= paired["ci95_high"]
    assert cases["off_by_one"]["paired"] is None  # a wrong case gets no ratio


def test_interleaved_blocks_hold_one_round_of_each_variant_in_a_seeded_shuffled_order(tmp_path):
    first, _ = _run(tmp_path, rounds=8, seed=7)
    again, _ = _run(tmp_path, rounds=8, seed=7)
    ok = [c for c in first["cases"] if c["status"] in ("ok", "wrong")]
    for case in ok:
        assert case["blocks"] == list(range(8))
    # The probe logs the variant of every timed round as it runs it.
    log_first = _by_variant(first)["raw_driver"]["extra"]["order"]
    log_again = _by_variant(again)["raw_driver"]["extra"]["order"]
    assert log_first == log_again  # same seed, same order
    names = {c["variant"] for c in ok}
    blocks = [log_first[i:i + len(names)] for i in range(0, len(log_first), len(names))]
    assert all(set(block) == names for block in blocks)  # one round of each per block
    assert len({tuple(block) for block in blocks}) > 1  # and not the same order every time


def test_every_sample_keeps_the_machine_speed_probe_of_its_block(tmp_path):
    interleaved = [c for c in _run(tmp_path, rounds=5)[0]["cases"] if c["status"] == "ok"]
    for case in interleaved:
        assert len(case["machine_ns"]) == len(case["samples_ns"]) == 5
        assert all(probe > 0 for probe in case["machine_ns"])
    # one probe per block, before its rounds: every case of the point shares it
    assert len({tuple(c["machine_ns"]) for c in interleaved}) == 1
    blocked = [c for c in _run(tmp_path, rounds=5, schedule="blocked")[0]["cases"]
               if c["status"] == "ok"]
    assert all(len(c["machine_ns"]) == 5 for c in blocked)
    # blocked: a probe before each round, so each case has its own
    assert len({tuple(c["machine_ns"]) for c in blocked}) == len(blocked)


def test_blocked_schedule_runs_each_variant_to_the_end_before_the_next(tmp_path):
    doc, _ = _run(tmp_path, rounds=3, warmup=1, schedule="blocked")
    order = _by_variant(doc)["raw_driver"]["extra"]["order"]
    runs = [name for i, name in enumerate(order) if i == 0 or order[i - 1] != name]
    assert len(runs) == len(set(runs))  # every variant's rounds in one stretch


def test_each_point_is_in_the_file_as_soon_as_it_finishes(tmp_path):
    _, snapshots = _run(tmp_path, rounds=2, warmup=0,
                        overrides={"runner_probe": {"ops": [2, 3]}})
    # progress names each case after its point was written: the file already holds it
    # (the first line, the run's banner, comes after the header is written)
    assert [len(s["cases"]) for s in snapshots] == [0] + [5] * 5 + [10] * 5
    assert all(s["run_status"] == "running" for s in snapshots)


def test_warmup_rounds_are_not_recorded(tmp_path):
    doc, _ = _run(tmp_path, rounds=3, warmup=5)
    assert all(len(c["samples_ns"]) == 3 for c in doc["cases"] if c["status"] != "error")


def test_python_calls_per_op_are_the_same_on_two_runs(tmp_path):
    first, _ = _run(tmp_path, rounds=3)
    second, _ = _run(tmp_path, rounds=3)
    calls = {c["variant"]: c["calls_per_op"] for c in first["cases"] if c["status"] == "ok"}
    assert calls == {c["variant"]: c["calls_per_op"] for c in second["cases"]
                     if c["status"] == "ok"}
    assert calls["text_twice_per_op"] > calls["raw_driver"] > 0  # SQLAlchemy's layers count


def test_on_a_drifting_machine_interleaving_keeps_the_true_ratio_and_blocking_does_not(
        tmp_path):
    rounds = 20  # 2 variants x (2 warmup + 20 timed) = 44 rounds: the family's drift span
    interleaved, _ = _run(tmp_path, family="drift", rounds=rounds, warmup=2,
                          count_calls=False)
    blocked, _ = _run(tmp_path, family="drift", rounds=rounds, warmup=2,
                      schedule="blocked", count_calls=False)
    true_ratio = 2.0
    good = _by_variant(interleaved)["twice_the_work"]["paired"]["median"]
    bad = _by_variant(blocked)["twice_the_work"]["paired"]["median"]
    assert abs(good / true_ratio - 1) < 0.08, good
    # blocked: the reference ran while the factor went 1 -> 2, the other while it went
    # 2 -> 3, so the ratio reads about 2 x 2.5 / 1.5 = 3.3 instead of 2
    assert bad / true_ratio > 1.3, bad


def test_merging_runs_keeps_each_sample_with_its_machine_probe(tmp_path):
    from bench.judge.repeat import merge_runs

    first, _ = _run(tmp_path, rounds=3)
    second, _ = _run(tmp_path, rounds=3)
    merged = _by_variant(merge_runs([first, second], "both"))["raw_driver"]
    assert merged["machine_ns"] == (_by_variant(first)["raw_driver"]["machine_ns"]
                                    + _by_variant(second)["raw_driver"]["machine_ns"])
    assert len(merged["machine_ns"]) == len(merged["samples_ns"]) == 6


def test_a_case_with_room_for_every_variants_connections_keeps_them_between_rounds(tmp_path):
    """release_between_rounds warms a case's connections again before every timed round;
    a case whose hook found room for them all (ctx.hold_connections) runs no such round."""
    doc, _ = _run(tmp_path, family="release_probe", rounds=4, warmup=1)
    calls = {(c["variant"], c["params"]["hold"]): c["extra"]["calls"] for c in doc["cases"]}
    released, held = calls[("engine", 0)], calls[("engine", 1)]
    # held: 1 warm-up, 4 timed rounds and the calls-counting round; released: a warm
    # round again before each of the 4 timed rounds and before the counting round
    assert (held, released) == (6, 11)
    assert all(c["status"] == "ok" for c in doc["cases"])
