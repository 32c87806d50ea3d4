"""compare and ab on real runs against PostgreSQL: drift is not a regression, a slower ORM
variant is, an N+1 creeping back in fails on its count, and ab judges absolute times.
Verdicts are asserted, never wall-clock limits. A test may share its machine with other
work, which moves even paired ratios (contention slows CPU-bound ORM code more than a
driver waiting on its socket): the tolerance here is 20% and the knob +60%; the +25%
figures of docs/method.md come from a quiet machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.reliability.clihelp import REPO

FIXTURES = str(REPO / "tests" / "fixtures_scenarios")
# 60 blocks: at quick's 15 a same-code pair is flagged about 1 time in 10 on the 2-core
# machine (docs/method.md, "What the machine allows"); at 60, 1 in 29 at a 10% tolerance.
RUN = ["--driver", "asyncpg", "--scenarios-path", FIXTURES, "--scenario", "knob_work",
       "--rounds", "60", "--warmup", "2"]
TOLERANCE = ["--threshold", "20"]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    # COLUMNS: compare's wide table, a case a line, whose cells _verdicts reads.
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=600,
                          env={**os.environ, "COLUMNS": "250", **(env or {})})


def _run(url: str, out: Path, **env: str) -> Path:
    done = _cli("run", *RUN, "--url", url, "--output", str(out), "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    return out


def _verdicts(stdout: str) -> dict[str, str]:
    """variant -> the verdict cell of compare's table (the last column); the cases judged
    the same and the unchanged references are counted under it, not listed."""
    out = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 4 and cells[1] == "knob_work":
            out[cells[3]] = cells[-2]
    return out


def test_the_same_code_twice_is_not_a_regression_and_a_slower_orm_is(postgres_url, tmp_path):
    base = _run(postgres_url, tmp_path / "base.json")
    again = _run(postgres_url, tmp_path / "again.json")
    aa = _cli("compare", str(base), str(again), "--fail-on-regression", *TOLERANCE)
    assert aa.returncode == 0, aa.stdout + aa.stderr  # the gate does not fire on drift
    assert _verdicts(aa.stdout).get("orm") != "SLOWER"
    slowed = _run(postgres_url, tmp_path / "slowed.json", SQLAB_KNOB_WORK="0.6")
    gate = _cli("compare", str(base), str(slowed), "--fail-on-regression", *TOLERANCE)
    assert gate.returncode == 1, gate.stdout
    verdicts = _verdicts(gate.stdout)
    assert verdicts["orm"] == "SLOWER"
    assert "raw_driver" not in verdicts  # the knob is the ORM's: the reference is unchanged
    assert "1 reference(s) with unchanged counts" in " ".join(gate.stdout.split())
    assert "knob_work/orm" in gate.stderr and "raw_driver" not in gate.stderr


def test_a_lazy_load_creeping_in_fails_on_its_statement_count(postgres_url, tmp_path):
    base = _run(postgres_url, tmp_path / "base.json")
    lazy = _run(postgres_url, tmp_path / "lazy.json", SQLAB_KNOB_LAZY="1")
    gate = _cli("compare", str(base), str(lazy), "--fail-on-regression")
    assert gate.returncode == 1
    assert "statements per op 1 → 2" in gate.stderr
    assert "Traceback" not in gate.stderr


def test_ab_judges_absolute_times_of_two_environments(postgres_url, tmp_path):
    out = tmp_path / "ab"
    done = _cli("ab", "--base", sys.executable, "--new", sys.executable,
                "--base-env", "SQLAB_KNOB_WORK=2.0", "--runs", "5", "--output", str(out),
                *TOLERANCE,
                *RUN[:-4], "--rounds", "10", "--warmup", "1", "--url", postgres_url)
    assert done.returncode == 0, done.stderr
    comparison = {c["variant"]: c for c in json.loads((out / "comparison.json").read_text())}
    orm = comparison["orm"]
    # the knob tripled the base side's ORM time: new is faster, absolutely and in ratio
    # (a test may share its machine: the +25% figures are measured on a quiet one). Five
    # runs a side: with three, one run whose reference ran 3x faster than the other two
    # (2026-12-03, a quiet machine) made Welch's interval on the runs' ratios 0.11-2.44
    assert orm["absolute"]["verdict"] == "faster", orm
    assert orm["absolute"]["from"] == "5 vs 5 runs"
    assert orm["ratio"]["verdict"] == "faster", orm
    for side in ("base", "new"):
        merged = json.loads((out / f"{side}.json").read_text())
        assert merged["config"]["runs"] == 5
        assert all(len(c["extra"]["runs"]) == 5 for c in merged["cases"])
    assert len(list((out / "runs").glob("*.json"))) == 10  # five runs a side, alternated
