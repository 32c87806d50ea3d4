"""Running the same cases again in fresh processes: calibrate's A/A runs, ab's two sides.

A run in its own process is the unit of run-to-run noise (memory layout, hash seeds,
the machine's mood that minute), so repeated runs are worker processes of
`PYTHON -m bench.cli run ...`, each writing its own results file. `ab` alternates the
two sides' workers (base, new, new, base, base, new, ...: every pair shares its minute,
and a steady drift favours neither side), then merges each side's runs into one results
file whose cases keep every run's median (extra.runs) for compare to judge.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.db.masking import mask_text
from bench.measure.rounds import RoundResult
from bench.measure.summary import record_paired, record_rounds
from bench.results import file as results
from bench.results.records import CaseRecord, RunRecord, per_op


class WorkerError(Exception):
    """A worker process could not run; the message is one line for the user."""


@dataclass(frozen=True)
class Side:
    """An environment to run in: a Python interpreter with sqla-bench installed, extra
    environment variables, and scenario directories of its own."""

    label: str
    python: str
    env: dict[str, str] = field(default_factory=dict)
    scenarios_path: tuple[str, ...] = ()

    def check(self) -> dict[str, str]:
        """The versions the side runs (sqla-bench, SQLAlchemy), or a one-line error."""
        probe = ("import bench, sqlalchemy, sys; "
                 "print(bench.__version__, sqlalchemy.__version__, sys.version.split()[0])")
        try:
            done = subprocess.run([self.python, "-c", probe], env=self._environ(),
                                  capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise WorkerError(f"{self.label}: cannot run {self.python}: {exc}") from None
        if done.returncode != 0:
            raise WorkerError(f"{self.label}: {self.python} cannot import sqla-bench and "
                              "SQLAlchemy; install sqla-bench into that environment "
                              "(pip install -e /path/to/sqla-bench)")
        tool, sqlalchemy, python = done.stdout.split()
        return {"sqla_bench": tool, "sqlalchemy": sqlalchemy, "python": python}

    def _environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def run(self, run_args: list[str], output: Path) -> RunRecord:
        """One worker run; its results file, or a one-line error when it could not run."""
        command = [self.python, "-m", "bench.cli", "run", *run_args, "--quiet",
                   "--output", str(output)]
        for directory in self.scenarios_path:
            command += ["--scenarios-path", directory]
        done = subprocess.run(command, env=self._environ(), capture_output=True, text=True)
        if done.returncode not in (0, 1) or not output.exists():  # 1: some cases failed
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise WorkerError(f"{self.label} run failed (exit {done.returncode}): "
                              f"{mask_text(last)}")
        return results.load(output)


def alternate(sides: list[Side], runs: int, run_args: list[str], directory: Path,
              progress: Callable[[str], None]) -> dict[str, list[RunRecord]]:
    """`runs` runs of every side, alternating: A B, B A, A B, ..."""
    done: dict[str, list[RunRecord]] = {side.label: [] for side in sides}
    for k in range(runs):
        order = sides if k % 2 == 0 else list(reversed(sides))
        for side in order:
            progress(f"{side.label}: run {k + 1} of {runs}")
            output = directory / f"{side.label}_{k + 1}.json"
            done[side.label].append(side.run(run_args, output))
    return done


def merge_runs(docs: list[RunRecord], label: str) -> RunRecord:
    """The runs of one side as one results file: every round kept (blocks renumbered so
    runs do not share a block), statistics and paired ratios over all of them, and each
    run's median and paired median in the case's extra.runs."""
    merged = copy.deepcopy(docs[0])
    merged["label"] = label
    merged["config"]["runs"] = len(docs)
    stride = 1 + max((b for d in docs for c in d["cases"] for b in c["blocks"]), default=0)
    by_key: dict[tuple[object, ...], list[CaseRecord]] = {}
    for doc in docs:
        for case in doc["cases"]:
            by_key.setdefault(results.case_key(case), []).append(case)
    cases = [_merge_case(runs, stride) for runs in by_key.values()]
    points: dict[tuple[object, ...], list[CaseRecord]] = {}
    for case in cases:
        points.setdefault(results.case_key(case)[:1] + results.case_key(case)[2:], []
                          ).append(case)
    for point in points.values():
        record_paired(point, point[0]["reference"])
    merged["cases"] = cases
    return merged


def _merge_case(runs: list[CaseRecord], stride: int) -> CaseRecord:
    case = copy.deepcopy(runs[0])
    failed = next((c for c in runs if c["status"] != "ok"), None)
    if failed is not None:
        case["status"], case["error"] = failed["status"], failed["error"]
        return case
    rounds, blocks, machine = [], [], []
    for k, run in enumerate(runs):
        machine += run.get("machine_ns") or []
        per_round = (run["statements_per_op"] or 0) * run["ops_per_round"]
        waits: list[int | None] = [None] * len(run["samples_ns"])
        if run["wait_ns"] is not None:
            waits = list(run["wait_ns"])
        for wall, cpu, wait, block in zip(run["samples_ns"], run["cpu_ns"], waits,
                                          run["blocks"], strict=True):
            rounds.append(RoundResult(wall, cpu, wait, round(per_round), None))
            blocks.append(block + k * stride)
    case["paired"] = None
    case.pop("machine_ns", None)
    record_rounds(case, rounds, blocks, machine if len(machine) == len(rounds) else ())
    case["statements_per_op"] = runs[0]["statements_per_op"]
    calls = [r["calls_per_op"] for r in runs if r["calls_per_op"] is not None]
    case["calls_per_op"] = sum(calls) / len(calls) if calls else None
    case["extra"]["runs"] = [
        {"median_ns": per_op(r),
         "ratio": r["paired"]["median"] if r["paired"] else None} for r in runs]
    return case
