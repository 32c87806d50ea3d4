"""How big the report is and how long it takes to build, on synthetic quick runs of every
driver: each driver's real plan (its points, variants and skips) with made-up rounds.
`make bench-ci` times it; the page's size is a fact, so it is also checked here."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bench.api.family import RUN_PROFILES, load_families
from bench.db.drivers import DRIVERS, get_driver
from bench.measure.plan import plan
from bench.measure.point import new_records
from bench.measure.summary import record_paired
from bench.report import write_report
from bench.results import stats

NINE_DRIVER_LIMIT = 1_500_000  # bytes: the nine-driver quick report (issue 15)


def synthetic_run(driver_name: str, seed: int) -> dict:
    """A quick-profile results document of `driver_name`, with random rounds."""
    driver = get_driver(driver_name)
    families = list(load_families().values())
    rounds = RUN_PROFILES["quick"].rounds
    rng = random.Random(seed)
    cases = []
    for point in plan(families, driver, "quick"):
        records = new_records(point, driver.name)
        for variant in point.variants:
            record = records[variant.name]
            level = rng.lognormvariate(13, 1.5) * record["ops_per_round"]
            samples = [int(level * rng.uniform(0.9, 1.3)) for _ in range(rounds)]
            record.update(status="ok", samples_ns=samples, blocks=list(range(rounds)),
                          cpu_ns=[s // 2 for s in samples], stats=stats.summarize(samples),
                          statements_per_op=float(rng.randint(1, 3)), calls_per_op=500.0,
                          throughput_per_s=record["ops_per_round"] / (level / 1e9))
        record_paired(list(records.values()), point.reference)
        cases += records.values()
    return {
        "schema_version": 2, "tool_version": "0.2.0", "run_id": f"synthetic-{seed}",
        "label": f"{driver.name} synthetic", "created_at": f"2026-11-25T00:00:{seed:02d}+00:00",
        "run_status": "complete",
        "environment": {"python": "3.11.7", "sqlalchemy": "2.1.9", "cpu_count": 2,
                        "driver_versions": {driver.name: driver.version()}},
        "config": {"driver": driver.name, "sync": driver.is_sync, "profile": "quick",
                   "warmup": 2, "rounds": rounds},
        "families": {f.name: {"question": f.question, "unit": f.unit, "reference": ["raw_driver"],
                              "comparisons": [c.record() for c in f.comparisons]}
                     for f in families},
        "cases": cases,
    }


@pytest.fixture(scope="module")
def nine_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("nine")
    paths = []
    for seed, name in enumerate(DRIVERS):
        path = directory / f"{name}.json"
        path.write_text(json.dumps(synthetic_run(name, seed)))
        paths.append(path)
    return paths


@pytest.mark.parametrize("runs", [1, 9], ids=["one_file", "nine_drivers"])
def test_report_build(benchmark, nine_runs, tmp_path, runs):
    paths = [p for p in nine_runs if p.stem == "aiosqlite"] if runs == 1 else nine_runs
    benchmark.group = "report"
    index = benchmark.pedantic(write_report, args=(paths, tmp_path / "out"), rounds=3,
                               iterations=1, warmup_rounds=1)
    size = index.stat().st_size
    benchmark.extra_info["page_bytes"] = size
    if runs == 9:
        assert size < NINE_DRIVER_LIMIT, f"the nine-driver report is {size:,} bytes"
