"""The runner on the embedded SQLite database (no server needed)."""

import asyncio
import json
from pathlib import Path

from bench.database import resolve_url
from bench.drivers import get_driver
from bench.runner import RunConfig, Runner
from bench.scenario import load_families

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures_scenarios"


def _run(tmp_path, rounds=4, warmup=1):
    driver = get_driver("aiosqlite")
    family = load_families([FIXTURES])["runner_probe"]
    output = tmp_path / "run.json"
    seen_files = []
    runner = Runner(RunConfig(driver=driver, url=resolve_url(driver, f"sqlite:///{tmp_path}/db"),
                              families=[family], warmup=warmup, rounds=rounds, output=output),
                    progress=lambda line: seen_files.append(json.loads(output.read_text())))
    doc = asyncio.run(runner.run())
    return doc, seen_files


def test_every_round_is_kept_and_statements_are_counted_per_op(tmp_path):
    doc, _ = _run(tmp_path)
    cases = {c["variant"]: c for c in doc["cases"]}
    assert len(cases["raw_driver"]["samples_ns"]) == 4
    assert cases["raw_driver"]["statements_per_op"] == 1
    assert cases["text_twice_per_op"]["statements_per_op"] == 2
    assert cases["text_twice_per_op"]["status"] == "ok"
    ops = cases["raw_driver"]["ops_per_round"]
    median_s = cases["raw_driver"]["stats"]["median"] / 1e9
    assert cases["raw_driver"]["throughput_per_s"] == ops / median_s


def test_different_data_is_wrong_and_an_exception_is_an_error_and_the_run_goes_on(tmp_path):
    doc, _ = _run(tmp_path)
    cases = {c["variant"]: c for c in doc["cases"]}
    assert cases["off_by_one"]["status"] == "wrong"
    assert "different data from raw_driver" in cases["off_by_one"]["error"]
    assert cases["raises"]["status"] == "error"
    assert cases["raises"]["error"] == "RuntimeError: deliberate failure in a variant"
    assert cases["after_failure"]["status"] == "ok"  # the run went on
    assert doc["run_status"] == "complete"


def test_ratio_to_raw_is_recorded(tmp_path):
    doc, _ = _run(tmp_path)
    cases = {c["variant"]: c for c in doc["cases"]}
    assert cases["raw_driver"]["extra"]["ratio_to_raw"] == 1.0
    raw = cases["raw_driver"]["stats"]["median"]
    text = cases["text_twice_per_op"]["stats"]["median"]
    assert abs(cases["text_twice_per_op"]["extra"]["ratio_to_raw"] - text / raw) < 1e-9


def test_the_file_holds_each_case_as_soon_as_it_finishes(tmp_path):
    _, snapshots = _run(tmp_path, rounds=2, warmup=0)
    # progress is reported after the case is written: the file already holds it then
    # (the first line, the run's banner, comes after the header is written)
    assert [len(s["cases"]) for s in snapshots] == [0, 1, 2, 3, 4, 5]
    assert all(s["run_status"] == "running" for s in snapshots)


def test_warmup_rounds_are_not_recorded(tmp_path):
    doc, _ = _run(tmp_path, rounds=3, warmup=5)
    assert all(len(c["samples_ns"]) == 3 for c in doc["cases"] if c["status"] != "error")
