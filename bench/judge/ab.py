"""`sqla-bench ab --base PYTHON --new PYTHON`: the same cases in two environments, with
absolute times judged in one invocation.

Two virtualenvs (SQLAlchemy 2.1.8 against 2.1.9, one asyncpg against another, or a
flag set in one side's environment) run the same cases in worker processes that
alternate base and new, so both sides share every slow minute. Each side's runs are
merged into one results file (base.json, new.json) and judged with several runs per
side: paired ratios and absolute times alike (bench.judge.compare, bench.judge.verdicts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.judge.compare import Judgement, compare_sides, dump_judgements, environment_differences
from bench.judge.repeat import Side, alternate, merge_runs
from bench.judge.verdicts import MIN_RUNS
from bench.results import file as results

DEFAULT_RUNS = 4


def run_ab(base: Side, new: Side, run_args: list[str], runs: int, directory: Path,
           threshold: float, progress: Callable[[str], None]
           ) -> tuple[Path, Path, list[Judgement], list[str]]:
    """Run both sides alternating; write base.json, new.json and comparison.json into
    `directory`; return their paths, the judgements and the sides' version differences."""
    if runs < MIN_RUNS:
        raise results.ResultsFileError(
            f"--runs must be at least {MIN_RUNS}: absolute times are judged from per-run "
            f"medians, not {runs}")
    versions = {side.label: side.check() for side in (base, new)}
    differences = [f"{name} {versions['base'][name]} (base) vs {versions['new'][name]} (new)"
                   for name in ("python", "sqlalchemy", "sqla_bench")
                   if versions["base"][name] != versions["new"][name]]
    (directory / "runs").mkdir(parents=True, exist_ok=True)
    sides = alternate([base, new], runs, run_args, directory / "runs", progress)
    paths = []
    for side in (base, new):
        merged = merge_runs(sides[side.label], f"{side.label}: {side.python}")
        path = directory / f"{side.label}.json"
        results.write_atomic(path, merged)
        paths.append(path)
    base_doc, new_doc = results.load(paths[0]), results.load(paths[1])
    differences += [d for d in environment_differences(base_doc, new_doc)
                    if not d.startswith(("Python differs", "SQLAlchemy differs"))]
    judgements = compare_sides([base_doc], [new_doc], threshold)
    (directory / "comparison.json").write_text(dump_judgements(judgements), encoding="utf-8")
    return paths[0], paths[1], judgements, differences
