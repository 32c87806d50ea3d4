"""`sqla-bench run --measure instructions|both`: the run again in counting children.

The parent checks that counting works here (valgrind, its header, a compiler), then runs
this same command in K children under callgrind, one memory layout each, in parallel
(bench.measure.instructions.layouts); each child brackets its timed rounds and records
their counts. The parent merges the layouts' counts into each case (median over layouts,
with their spread). With `both`, the timed run is this process's own, measured natively
first; with `instructions`, layout 0's results file is the run's (its round times were
taken under valgrind: config.measure says so, and nothing judges them).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.cli.common import UsageError, progress_line
from bench.db.drivers import parse_driver_list
from bench.db.namespace import backend_of
from bench.measure.instructions import counting, unavailable
from bench.measure.instructions.counting import COUNTED_ROUNDS
from bench.measure.instructions.identity import valgrind_version
from bench.measure.instructions.layouts import DEFAULT_LAYOUTS, run_layouts
from bench.measure.instructions.merge import merge_into
from bench.results import file as results
from bench.results.records import RunRecord

# Options of the parent that the children must not repeat: they get their own.
_OWN = {"--output": True, "--measure": True, "--layouts": True, "--quiet": False}
_OWN_SQLITE = {**_OWN, "--url": True}


def in_counting_child() -> bool:
    return counting.in_child()


def child_argv(argv: list[str], output: Path, rounds: int | None,
               sqlite_file: Path | None = None, first: bool = True) -> list[str]:
    """The run's own arguments for a child: its output, instructions only, quiet; on
    SQLite a database file of its own. Python calls and query plans are the same in every
    layout: only the first measures them."""
    own = _OWN_SQLITE if sqlite_file is not None else _OWN
    if not first:
        own = {**own, "--explain": False, "--no-count-calls": False}
    out = counting.without_options(argv, own)
    out += ["--measure", "instructions", "--output", str(output), "--quiet"]
    if not first:
        out.append("--no-count-calls")
    if sqlite_file is not None:
        out += ["--url", f"sqlite:///{sqlite_file}"]
    if rounds is None:
        out += ["--rounds", str(COUNTED_ROUNDS)]
    return out


def counted_run(args: argparse.Namespace, output: Path,
                timed_run: Callable[[], int] | None) -> int:
    """Count the run's cases in K layouts; with `timed_run` (--measure both) time them
    natively first. Returns the run's exit status."""
    reason = unavailable()
    if reason is not None:
        raise UsageError(reason)
    status = 0
    if timed_run is not None:
        status = timed_run()
        if not output.exists():
            return status
    layouts = args.layouts or DEFAULT_LAYOUTS
    workdir = output.parent / f".{output.name}.layouts"
    shutil.rmtree(workdir, ignore_errors=True)
    files = [workdir / f"layout-{k}.json" for k in range(layouts)]
    argv = list(args.argv[1:])  # without the command name
    began = time.perf_counter()
    progress_line(f"counting instructions under callgrind in {layouts} memory layouts "
                  f"({valgrind_version()}); valgrind's start-up takes a while")
    sqlite_file, parallel = _layouts_apart(args)
    runs = run_layouts(lambda k: [sys.executable, "-m", "bench.cli", "run",
                                  *child_argv(argv, files[k], args.rounds,
                                              workdir / f"layout-{k}.sqlite3" if sqlite_file
                                              else None, first=k == 0)], workdir,
                       layouts=layouts, processes=None if parallel else 1)
    docs: list[RunRecord] = []
    for run, path in zip(runs, files, strict=True):
        if run.returncode not in (0, 1) or not path.exists():
            tail = run.stderr_tail[-1] if run.stderr_tail else f"exit {run.returncode}"
            raise UsageError(f"a counting child (layout pad {run.pad}) failed: {tail}")
        docs.append(results.load(path))
    doc = results.load(output) if timed_run is not None else docs[0]
    cases: list[Any] = list(doc["cases"])
    counted = merge_into(cases, [_plain(d) for d in docs],
                         key=lambda c: results.case_key(c),  # type: ignore[arg-type]
                         read=lambda c: c.get("instructions"), write=_write)
    doc["config"]["measure"] = "both" if timed_run is not None else "instructions"
    doc["config"]["layouts"] = layouts
    if timed_run is None:
        status = max(status, max(run.returncode for run in runs))
    results.write_atomic(output, doc)  # the layouts' own files stay in workdir, to inspect
    print(f"instructions per op: {counted} cases counted in {layouts} layouts "
          f"({time.perf_counter() - began:.0f} s under callgrind)")
    print(f"results: {output}")
    return status


def _layouts_apart(args: argparse.Namespace) -> tuple[bool, bool]:
    """Whether each layout gets an SQLite file of its own (the run's SQLite drivers use
    it), and whether the layouts can run in parallel: only when no two share a database,
    SQLite on files of their own, servers each in a namespace of its own (not when the run
    was given one, --namespace, that they would share). A run of several drivers (drivers
    of several backends) takes one --url: a server's leaves SQLite on its default file."""
    backends = {named.driver.backend for named in parse_driver_list(args.driver)}
    url = getattr(args, "url", None)  # checked by the run before it gets here
    sqlite_file = "sqlite" in backends and (url is None
                                            or backend_of(sa.make_url(url)) == "sqlite")
    apart = (("sqlite" not in backends or sqlite_file)
             and (backends == {"sqlite"} or getattr(args, "namespace", None) is None))
    return sqlite_file, apart


def _write(case: dict[str, Any], merged: dict[str, Any]) -> None:
    case["instructions"] = merged
    case["instructions_per_op"] = merged["per_op"]


def _plain(doc: RunRecord) -> list[dict[str, Any]]:
    return list(doc["cases"])  # type: ignore[arg-type]
