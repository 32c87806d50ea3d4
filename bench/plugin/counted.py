"""`pytest --sqla-measure instructions`: the session again in counting children.

The parent pytest process runs no test itself. It starts the same session in child
processes under callgrind (bench.measure.instructions.layouts): for each memory layout,
one child per core, the selected drivers dealt out among them, longest first, so the cores
finish together and valgrind's start-up is paid once per child, not per driver. Children
share the servers but not their tables (each process works in a namespace of its own) nor
SQLite files (each test has its own). In every child the timed rounds of each
`async_benchmark` (scenario variants and users' own functions alike) are bracketed by
callgrind client requests and counted; each child runs every group of tests (a scenario
point's variants, or a test alone) in a process forked from one prepared state
(bench.plugin.forked), so a test's count does not carry what earlier tests left behind.
The parent then writes one pytest-benchmark JSON:
the first layout's benchmarks, each with `instructions_per_op` (the median over layouts)
and its `instructions` record in extra_info, beside the statements and Python calls per op
the children recorded.

pytest's assertion rewriting, a few native seconds that emulation makes a minute, is off
in the children (--assert=plain). Before they start, this process compiles the rootdir's
Python files that lack bytecode, and takes a work directory (for the children's files and
temporary directories) whose path is the same in every run; each child's namespaces are
named after it: a child that compiled modules itself, or held paths and names of random
contents, counted differently from run to run.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.measure.instructions.counting import NAMESPACE_VARIABLE, without_options
from bench.measure.instructions.layouts import LayoutRun, run_child
from bench.measure.instructions.merge import merge_into

# Options of the parent that a child must not repeat (True: the option takes a value).
_PARENT_ONLY = {"--sqla-measure": True, "--sqla-layouts": True, "--benchmark-json": True,
                "--benchmark-autosave": False, "--benchmark-save": True,
                "--benchmark-compare": False, "--benchmark-compare-fail": True,
                "--sqla-driver": True}


def child_args(args: Sequence[str], drivers: list[str], json_path: Path,
               basetemp: Path | None = None) -> list[str]:
    out = without_options(args, _PARENT_ONLY)
    if not any(a == "--assert" or a.startswith("--assert=") for a in out):
        out.append("--assert=plain")  # rewriting costs a minute under emulation
    if not any(a.startswith("--durations") for a in out):
        out.append("--durations=15")  # the log says which tests emulation made slow
    if basetemp is not None and not any(a.startswith("--basetemp") for a in out):
        # pytest's own numbers its sessions' directories (pytest-9, pytest-10, ...): a
        # path one character longer moves the child's memory layout, and with it counts
        out += ["--basetemp", str(basetemp)]
    return [*out, "--sqla-driver", ",".join(drivers), "--benchmark-json", str(json_path),
            "-p", "no:cacheprovider"]


# Paths under the rootdir that are not compiled ahead (a virtual environment, hidden
# directories such as .git or .tox, node_modules): what an installer put there carries its
# own bytecode.
_NOT_COMPILED = re.compile(r"/(\.[^/]+|site-packages|node_modules)(/|$)")
MAX_SLOTS = 64


def compile_sources(root: Path) -> None:
    """Write the bytecode of every Python file under `root` (the session's rootdir) that
    lacks it, natively, before the children start. Otherwise the first run after a
    checkout or an edit compiles modules in the children, which race to write the same
    bytecode (one child compiles a module, another may load what the first wrote), and a
    compiled module leaves the heap unlike a loaded one: the children's first tests would
    start from states that later runs do not share. Where bytecode is not written
    (PYTHONDONTWRITEBYTECODE), every run compiles alike."""
    if sys.dont_write_bytecode:
        return
    compileall.compile_dir(root, quiet=2, rx=_NOT_COMPILED, workers=1)


@contextlib.contextmanager
def work_slot(base: Path | None = None) -> Iterator[tuple[Path, int]]:
    """The run's work directory, at a path that is the same in every run: slot 0 under
    this user's counting directory, or the first slot no live run holds (an flock, freed
    when this process ends), emptied. A child's temporary directory, the paths of its
    SQLite files and its namespace's name follow it: their contents are hashed into dicts,
    and random ones moved counts by up to 1.5% from run to run (docs/ci-gate.md)."""
    import fcntl  # POSIX, as valgrind is

    base = base or Path(tempfile.gettempdir()) / f"sqla-bench-counted-{os.getuid()}"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    for slot in range(MAX_SLOTS):
        with (base / f"slot-{slot:02d}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another run's
            directory = base / f"slot-{slot:02d}"
            shutil.rmtree(directory, ignore_errors=True)  # the last run's logs
            directory.mkdir()
            yield directory, slot
            return
    raise OSError(f"all {MAX_SLOTS} counting work directories in {base} are in use")


def namespace_label(slot: int, hand: int, layout: int) -> str:
    """The label of a child's namespace on each server (bench.db.namespace.named): the
    same in every run that gets the same slot."""
    return f"counted_{slot:02d}_{hand:02d}_{layout}"


def deal(drivers: list[str], hands: int) -> list[list[str]]:
    """The drivers dealt out to `hands` children: async drivers (every family) first, sync
    baselines (sync variants only) last, so each child gets a like share of the work."""
    from bench.db.drivers import get_driver

    ordered = sorted(drivers, key=lambda name: get_driver(name).is_sync)
    dealt = [ordered[i::hands] for i in range(min(hands, len(ordered)))]
    return [hand for hand in dealt if hand]


def run_counted(args: Sequence[str], drivers: list[str], output: Path | None, layouts: int,
                rootdir: Path, write: Any = print) -> int:
    """Run the children, merge their counts into `output`; returns pytest's exit status."""
    compile_sources(rootdir)
    with work_slot() as (workdir, slot):
        return _run_children(args, drivers, output, layouts, workdir, slot, write)


def _run_children(args: Sequence[str], drivers: list[str], output: Path | None, layouts: int,
                  workdir: Path, slot: int, write: Any) -> int:
    cores = max(1, os.cpu_count() or 1)
    hands = deal(drivers, cores)
    began = time.perf_counter()
    write(f"sqla-bench: counting instructions under callgrind: {layouts} layout(s) x "
          f"{len(hands)} child(ren) ({' | '.join(','.join(h) for h in hands)}), {cores} at "
          f"a time; their logs in {workdir}")

    def child(job: tuple[int, int]) -> LayoutRun:
        h, k = job
        command = [sys.executable, "-m", "bench.plugin.counting_child",
                   *child_args(args, hands[h], workdir / f"child{h}-{k}.json",
                               workdir / f"child{h}-{k}.tmp")]
        return run_child(command, k, workdir / f"child{h}-{k}.%p.callgrind",
                         log=workdir / f"child{h}-{k}.log",
                         extra={NAMESPACE_VARIABLE: namespace_label(slot, h, k)})

    jobs = [(h, k) for k in range(layouts) for h in range(len(hands))]
    with ThreadPoolExecutor(max_workers=cores) as pool:
        done = dict(zip(jobs, pool.map(child, jobs), strict=True))
    status = _status([run.returncode for run in done.values()])
    benchmarks: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    for h, hand in enumerate(hands):
        docs = [_read(workdir / f"child{h}-{k}.json") for k in range(layouts)]
        if docs[0] is None:
            write(f"sqla-bench: the children of {','.join(hand)} wrote no results: see "
                  f"{workdir}/child{h}-*.log")
            continue
        first = first or docs[0]
        merge_into(docs[0]["benchmarks"], [d["benchmarks"] for d in docs if d is not None],
                   key=lambda b: b.get("fullname"),
                   read=lambda b: (b.get("extra_info") or {}).get("instructions"),
                   write=_write)
        benchmarks.extend(docs[0]["benchmarks"])
        runs = [done[(h, k)] for k in range(layouts)]
        write(f"sqla-bench: {','.join(hand)}: exit "
              f"{'/'.join(str(r.returncode) for r in runs)}, "
              f"{', '.join(f'{r.wall_s:.0f} s' for r in runs)}")
    for counted_file in workdir.glob("child*.callgrind"):
        counted_file.unlink()  # read by the children already: a few hundred kB a case
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

