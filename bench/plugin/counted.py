"""`pytest --sqla-measure instructions`: the session again in counting children.

The parent pytest process runs no test itself. It starts the same session in child
processes under callgrind (bench.measure.instructions.layouts), K memory layouts for each
backend the selected drivers use; children of one server backend run one after another
(they would share the harness's tables), different backends (and SQLite, whose tests
each have their own file) at the same time, one per core. In every child the timed rounds
of each `async_benchmark` (scenario variants and users' own functions alike) are
bracketed by callgrind client requests and counted. The parent then writes one
pytest-benchmark JSON: the first layout's benchmarks, each with `instructions_per_op`
(the median over layouts) and its `instructions` record in extra_info, beside the
statements and Python calls per op the children recorded.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.measure.instructions.counting import without_options
from bench.measure.instructions.layouts import DEFAULT_LAYOUTS, LayoutRun, run_layouts
from bench.measure.instructions.merge import merge_into

# Options of the parent that a child must not repeat (True: the option takes a value).
_PARENT_ONLY = {"--sqla-measure": True, "--sqla-layouts": True, "--benchmark-json": True,
                "--benchmark-autosave": False, "--benchmark-save": True,
                "--benchmark-compare": False, "--benchmark-compare-fail": True,
                "--sqla-driver": True}


def child_args(args: Sequence[str], drivers: list[str], json_path: Path) -> list[str]:
    out = without_options(args, _PARENT_ONLY)
    return [*out, "--sqla-driver", ",".join(drivers), "--benchmark-json", str(json_path),
            "-p", "no:cacheprovider"]


def groups_of(drivers: list[str]) -> dict[str, list[str]]:
    """The selected drivers by backend: each group's children share one server."""
    from bench.db.drivers import get_driver

    groups: dict[str, list[str]] = {}
    for name in drivers:
        groups.setdefault(get_driver(name).backend, []).append(name)
    return groups


def run_counted(args: Sequence[str], drivers: list[str], output: Path | None, layouts: int,
                workdir: Path, write: Any = print) -> int:
    """Run the children, merge their counts into `output`; returns pytest's exit status."""
    workdir.mkdir(parents=True, exist_ok=True)
    groups = groups_of(drivers)
    began = time.perf_counter()
    write(f"sqla-bench: counting instructions under callgrind: {layouts} layouts x "
          f"{len(groups)} backend(s) ({', '.join(groups)}), children in {workdir}")

    def group_run(item: tuple[str, list[str]]) -> tuple[str, list[LayoutRun]]:
        backend, names = item
        parallel = backend == "sqlite"  # each test has its own file: layouts in parallel
        runs = run_layouts(
            lambda k: [sys.executable, "-m", "pytest",
                       *child_args(args, names, workdir / f"{backend}-{k}.json")],
            workdir / backend, layouts=layouts, processes=None if parallel else 1,
            log_dir=workdir)
        return backend, runs

    cores = max(1, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=min(cores, len(groups))) as pool:
        done = dict(pool.map(group_run, groups.items()))
    status = _status([run.returncode for runs in done.values() for run in runs])
    benchmarks: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    for backend, runs in done.items():
        docs = [_read(workdir / f"{backend}-{k}.json") for k in range(len(runs))]
        if docs[0] is None:
            write(f"sqla-bench: the {backend} children wrote no results: see "
                  f"{workdir}/*.log")
            continue
        first = first or docs[0]
        merge_into(docs[0]["benchmarks"], [d["benchmarks"] for d in docs if d is not None],
                   key=lambda b: b.get("fullname"),
                   read=lambda b: (b.get("extra_info") or {}).get("instructions"),
                   write=_write)
        benchmarks.extend(docs[0]["benchmarks"])
        for k, run in enumerate(runs):
            write(f"sqla-bench: {backend} layout {k}: exit {run.returncode}, "
                  f"{run.wall_s:.0f} s")
    if first is not None and output is not None:
        merged = {**first, "benchmarks": benchmarks}
        output.write_text(json.dumps(merged, indent=1))
    counted = [b for b in benchmarks if (b.get("extra_info") or {}).get("instructions_per_op")]
    spreads = [b["extra_info"]["instructions"].get("spread") or 0.0 for b in counted]
    write(f"sqla-bench: {len(counted)} of {len(benchmarks)} benchmarks counted in "
          f"{time.perf_counter() - began:.0f} s; layout spread median "
          f"{statistics.median(spreads) if spreads else 0:.2%}, largest "
          f"{max(spreads, default=0):.2%}" + (f"; results: {output}" if output else ""))
    return status


def _write(bench: dict[str, Any], merged: dict[str, Any]) -> None:
    info = bench.setdefault("extra_info", {})
    info["instructions"] = merged
    info["instructions_per_op"] = merged["per_op"]


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list) else None


def _status(codes: list[int]) -> int:
    """pytest's status of the whole: a failure anywhere fails; 5 only if nothing ran."""
    failing = [c for c in codes if c not in (0, 5)]
    if failing:
        return max(failing)
    return 0 if 0 in codes else 5


DEFAULT = DEFAULT_LAYOUTS
