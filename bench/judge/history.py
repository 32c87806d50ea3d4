"""`sqla-bench history RESULTS_DIR`: every case across the results files of a directory.

Files are put in time order (their created_at) and a case (scenario, variant,
parameters, driver) is followed through them: its paired ratio to the point's reference
with the 95% interval, its median per operation, its statements per operation, and
the git commit each run was made at. Steps are found (bench.judge.steps) on the paired ratio
when every run of the case has one, the number that stays put on a drifting machine,
else on the median; a change in statements per op is a step of its own (deterministic:
no noise can make one). This is how a team sees that a change three weeks ago made
loading slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.judge.steps import Step, detect_steps
from bench.results import file as results
from bench.results import storage
from bench.results.records import CaseRecord, RunRecord, case_point_text, per_op


@dataclass
class RunInfo:
    path: Path
    label: str
    created_at: str
    commit: str | None

    @property
    def short(self) -> str:
        """How the run is named under a chart: its commit, else its date."""
        if self.commit:
            return self.commit[:7] + ("+" if self.commit.endswith("+dirty") else "")
        return self.created_at[:10]


@dataclass
class Entry:
    """One case in one run."""

    run: int  # index into History.runs
    median: float  # ns per op
    ratio: tuple[float, float, float] | None  # paired: median, 95% low, high
    statements: float | None


@dataclass
class Series:
    scenario: str
    variant: str
    params: str
    driver: str
    reference: str | None
    entries: list[Entry] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    metric: str = "paired ratio"  # what the steps were found on
    count_changes: list[tuple[int, float | None, float | None]] = field(default_factory=list)

    @property
    def point(self) -> tuple[str, str, str]:
        return (self.scenario, self.driver, self.params)


@dataclass
class History:
    runs: list[RunInfo]
    series: list[Series]
    skipped: list[str]  # files that could not be read, with why


def collect(paths: Sequence[Path]) -> History:
    loaded: list[tuple[RunRecord, Path]] = []
    skipped = []
    for path in paths:
        try:
            loaded.append((results.load_any(path), path))
        except results.ResultsFileError as exc:
            skipped.append(str(exc))
    loaded.sort(key=lambda item: (item[0]["created_at"], item[1].name))
    runs = [RunInfo(path, doc["label"], doc["created_at"], doc["environment"].get("git_commit"))
            for doc, path in loaded]
    series: dict[tuple[Any, ...], Series] = {}
    for index, (doc, _path) in enumerate(loaded):
        for case in doc["cases"]:
            if case["status"] != "ok" or case["stats"] is None:
                continue
            driver = case.get("driver") or doc["config"].get("driver", "?")
            key = results.case_key(case, driver)  # cases at another RTT are another series
            if key not in series:
                series[key] = Series(case["scenario"], case["variant"],
                                     case_point_text(case), driver, case["reference"])
            series[key].entries.append(_entry(index, case))
    for one in series.values():
        _find_steps(one)
    return History(runs, list(series.values()), skipped)


def _entry(run: int, case: CaseRecord) -> Entry:
    paired = case["paired"]
    ratio = None if paired is None else (paired["median"], paired["ci95_low"], paired["ci95_high"])
    return Entry(run, per_op(case), ratio, case["statements_per_op"])


def _find_steps(series: Series) -> None:
    entries = series.entries
    ratios = [e.ratio for e in entries]
    if all(r is not None for r in ratios):
        series.steps = detect_steps([r[0] for r in ratios if r], [r[1] for r in ratios if r],
                                    [r[2] for r in ratios if r])
    else:
        series.metric = "median per op"
        series.steps = detect_steps([e.median for e in entries])
    series.steps = [Step(entries[s.index].run, s.before, s.after) for s in series.steps]
    series.count_changes = [(b.run, a.statements, b.statements)
                            for a, b in zip(entries, entries[1:], strict=False)
                            if a.statements != b.statements]


def collect_directory(directory: Path) -> History:
    """Every finished results file of `directory`, in time order, as one history."""
    if not directory.is_dir():
        raise results.ResultsFileError(f"{directory} is not a directory of results files")
    paths = [p for p in storage.run_files(directory) if not storage.being_written(p)]
    if not paths:
        raise results.ResultsFileError(f"no results files in {directory}: run sqla-bench run")
    return collect(paths)
