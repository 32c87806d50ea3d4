"""`sqla-bench calibrate`: measure how much each case moves when nothing changes.

The chosen cases run K times, each in a fresh process (A/A). For every case, each pair
of runs gives a change of its paired ratio (and of its absolute median); the 99th
percentile of those changes is the case's noise floor. `compare --noise FILE` uses it
as that case's tolerance when it is larger than --threshold, so a case that wanders by
8% on this machine is not called slower for moving 8%.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.judge.repeat import Side, alternate
from bench.results import file as results
from bench.results.records import CaseRecord, RunRecord, per_op

NOISE_VERSION = 1
DEFAULT_RUNS = 5


def spread(values: Sequence[float]) -> float | None:
    """The 99th percentile of |change| between any two of the values, as a fraction."""
    changes = [abs(math.log(b / a)) for a, b in itertools.combinations(values, 2) if a > 0 < b]
    if not changes:
        return None
    return math.expm1(float(np.percentile(changes, 99)))


def noise_of(runs: list[RunRecord]) -> list[dict[str, Any]]:
    """Per case (ok in every run): its per-run figures and their spreads."""
    by_key: dict[tuple[Any, ...], list[Any]] = {}
    for doc in runs:
        for case in doc["cases"]:
            if case["status"] == "ok" and case["stats"] is not None:
                by_key.setdefault(results.case_key(case), []).append(case)
    out = []
    for cases in by_key.values():
        if len(cases) != len(runs):
            continue  # failed in some run: no spread to speak of
        first = cases[0]
        medians = [per_op(c) for c in cases]
        ratios = [c["paired"]["median"] for c in cases if c["paired"]]
        counted = instruction_values(cases)
        out.append({
            "scenario": first["scenario"], "variant": first["variant"],
            "params": first["params"], "driver": first["driver"],
            "absolute_medians_ns": medians, "absolute_spread": spread(medians),
            "ratio_medians": ratios,
            "ratio_spread": spread(ratios) if len(ratios) == len(cases) else None,
            "instructions_values": counted,
            "instructions_spread": relative_range(counted) if len(counted) > 1 else None,
            "instructions_layouts": layouts_seen(cases) if counted else None,
            "instructions_build": instructions_build(first),
        })
    return out


def layouts_seen(cases: Sequence[CaseRecord]) -> int:
    """How many distinct memory layouts a case's counts came from: a range over one layout
    (however many runs) says nothing of what another layout, or a code change, counts."""
    records = [case.get("instructions") for case in cases]
    keys = [record.get("layout") if record else None for record in records]
    if all(keys):
        return len({key for joined in keys if joined for key in joined.split(",")})
    # runs that kept no layout keys may all have shared theirs: the most of any one run
    return max(len(record.get("layouts") or [None]) if record else 1 for record in records)


def instructions_build(case: CaseRecord) -> str | None:
    """The Python build and valgrind version a case was counted with: a calibration is
    this build's spread, and says nothing of counts made with another."""
    counted = case.get("instructions")
    if not counted or not counted.get("python_build"):
        return None
    build = f"{counted['python_build']} / {counted.get('valgrind')}"
    # a calibration of another counting rule spreads otherwise (callgrind_out.COUNTED)
    return f"{build} / {counted['counted']}" if counted.get("counted") else build


def instruction_values(cases: Sequence[CaseRecord]) -> list[float]:
    """Every layout's instructions per op of a case over the A/A runs (a run's merged
    median where it kept no layouts). Their range is what the median of another
    counted run can land anywhere in: the case's instructions tolerance."""
    values: list[float] = []
    for case in cases:
        counted = case.get("instructions")
        if counted is not None and counted.get("layouts"):
            values.extend(float(v) for v in counted["layouts"])
        elif case.get("instructions_per_op") is not None:
            values.append(float(case["instructions_per_op"]))  # type: ignore[arg-type]
    return values


def relative_range(values: Sequence[float]) -> float:
    """(max - min) / min: the largest change from one value to another."""
    low = min(values)
    return (max(values) - low) / low if low > 0 else 0.0


def noise_from_files(docs: list[RunRecord], output: Path) -> dict[str, Any]:
    """The noise file of A/A runs already made (counted runs of unchanged code, say), or of
    one counted run over several layouts (`--sqla-layouts 8`: the calibration the gate
    narrows its tolerance from)."""
    if len(docs) < 2 and not _several_layouts(docs):
        raise results.ResultsFileError("calibrate --from needs at least 2 results files of "
                                       "the same cases on unchanged code, or one counted "
                                       "with --sqla-layouts 2 or more")
    noise = {
        "sqla_bench_noise": NOISE_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": len(docs),
        "config": docs[0]["config"],
        "environment": docs[0]["environment"],
        "cases": noise_of(docs),
    }
    results.write_atomic(output, noise)
    return noise


def _several_layouts(docs: list[RunRecord]) -> bool:
    return any(len(counted.get("layouts") or []) > 1
               for doc in docs for case in doc["cases"]
               if (counted := case.get("instructions")))


def calibrate(side: Side, run_args: list[str], runs: int, directory: Path, output: Path,
              progress: Callable[[str], None]) -> dict[str, Any]:
    """Run the cases `runs` times and write the noise file; returns its document."""
    if runs < 3:
        raise results.ResultsFileError(f"--runs must be at least 3 for a spread, not {runs}")
    side.check()
    docs = alternate([side], runs, run_args, directory, progress)[side.label]
    noise = {
        "sqla_bench_noise": NOISE_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "config": docs[0]["config"],
        "environment": docs[0]["environment"],
        "cases": noise_of(docs),
    }
    results.write_atomic(output, noise)
    return noise


# A case's entry of a noise file: its spreads (fractions), and for counted cases how many
# layouts the instructions spread covers and the build it was counted with.
CaseNoise = dict[str, Any]
SPREADS = ("ratio_spread", "absolute_spread", "instructions_spread")


def read_noise(path: Path) -> dict[tuple[Any, ...], CaseNoise]:
    """A noise file as {case key: {"ratio_spread": x, "absolute_spread": y, ...}}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise results.ResultsFileError(f"noise file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError):
        raise results.ResultsFileError(
            f"{path} is not a noise file of sqla-bench calibrate (not JSON)") from None
    if not isinstance(data, dict) or data.get("sqla_bench_noise") != NOISE_VERSION \
            or not isinstance(data.get("cases"), list):
        raise results.ResultsFileError(f"{path} is not a noise file of sqla-bench calibrate")
    out: dict[tuple[Any, ...], CaseNoise] = {}
    for entry in data["cases"]:
        try:
            key = results.case_key(entry)
        except (KeyError, TypeError, AttributeError):
            raise results.ResultsFileError(f"{path} is malformed: a case lacks its keys") from None
        noise: CaseNoise = {name: float(entry[name]) for name in SPREADS
                            if _is_number(entry.get(name))}
        if _is_number(entry.get("instructions_layouts")):
            noise["instructions_layouts"] = int(entry["instructions_layouts"])
        if isinstance(entry.get("instructions_build"), str):
            noise["instructions_build"] = entry["instructions_build"]
        out[key] = noise
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def summary(noise: dict[str, Any]) -> str:
    """Median and 90th percentile of the cases' noise floors, for the terminal."""
    lines = []
    for name in SPREADS:
        values = [c[name] for c in noise["cases"] if c.get(name) is not None]
        if values:
            median, p90 = np.percentile(values, [50, 90])
            lines.append(f"{name.replace('_', ' ')}: median {median:.1%}, p90 {p90:.1%} "
                         f"over {len(values)} cases")
    return "; ".join(lines) or "no case ran in every run"
