"""Run one command K times under callgrind, one memory layout each, in parallel.

A layout is an environment padding: the environment sits at the top of the initial
stack, so its size moves every stack address and, through them, alignment-dependent work
(the bias Mytkowicz et al., ASPLOS 2009, showed can move a measurement by several per
cent; a checkout's path does the same); and, from the second layout on, an allocation
part-way through the child's imports, as a change of code makes (import_pad). The child's
environment is the caller's with the counting settings fixed: PYTHONHASHSEED=0 (a random
seed moved an ORM lookup by 0.9%), PYTHONMALLOC=malloc (glibc's allocator: half the layout
effect of pymalloc's arenas), and the variables that tell bench.measure.instructions.counting
to bracket timed rounds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.measure.instructions.build import built_extension
from bench.measure.instructions.counting import (
    EXTENSION_VARIABLE,
    NAMESPACE_VARIABLE,
    OUT_VARIABLE,
    PAD_VARIABLE,
)
from bench.measure.instructions.import_pad import IMPORT_PAD_VARIABLE

# Paddings in bytes: not multiples of 16, spanning more than a page, so both cache-line
# alignment and page offsets of the stack differ between layouts.
LAYOUT_PADS = (0, 1031, 2063, 3079, 4111, 5147, 6163, 7187)
DEFAULT_LAYOUTS = 3
COUNTING_ENV = {"PYTHONHASHSEED": "0", "PYTHONMALLOC": "malloc"}
# Bookkeeping of the shell, of make and of a workflow's step that says how the command was
# started, not what it runs: `make -C ../base` and `cd head && make` differ here, and every
# byte of the environment moves the child's layout (identity.layout_key). A counting child
# gets none of them, and PWD is its own working directory.
INVOCATION_VARIABLES = ("_", "OLDPWD", "SHLVL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL",
                        "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR",
                        "GITHUB_ACTION")  # a workflow's step: __run_9, then __run_10


@dataclass
class LayoutRun:
    """One child: its layout's padding, exit status, stderr's last lines, wall time."""

    pad: int
    returncode: int
    stderr_tail: list[str]
    wall_s: float


def valgrind_command(out_file: Path) -> list[str]:
    """valgrind with instrumentation off until the first round, every dump in one file,
    totals only; under `setarch -R` where the kernel allows (no address randomization)."""
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--combine-dumps=yes",
               "--dump-instr=no", "--dump-line=no", "--compress-strings=yes",
               f"--callgrind-out-file={out_file}", "-q"]
    setarch = shutil.which("setarch")
    if setarch and subprocess.run([setarch, os.uname().machine, "-R", "true"],
                                  capture_output=True, check=False).returncode == 0:
        command = [setarch, os.uname().machine, "-R", *command]
    return command


def child_env(k: int, out_file: Path, base: Mapping[str, str] | None = None,
              cwd: Path | None = None, extra: Mapping[str, str] | None = None
              ) -> dict[str, str]:
    """The environment of a counting child in layout k: the caller's, less its bookkeeping,
    with the counting settings, layout k's padding and its import allocation's number."""
    env = dict(os.environ if base is None else base)
    for name in (PAD_VARIABLE, IMPORT_PAD_VARIABLE, NAMESPACE_VARIABLE, *INVOCATION_VARIABLES):
        env.pop(name, None)
    env["PWD"] = str(cwd or Path.cwd())
    env.update(COUNTING_ENV)
    env[OUT_VARIABLE] = str(out_file)
    env[EXTENSION_VARIABLE] = str(built_extension())
    env[PAD_VARIABLE] = "x" * LAYOUT_PADS[k]
    env[IMPORT_PAD_VARIABLE] = str(k)  # one digit whatever k: its length moves no layout
    env.update(extra or {})
    return env


def run_child(command: Sequence[str], k: int, out_file: Path, *, cwd: Path | None = None,
              log: Path | None = None, extra: Mapping[str, str] | None = None) -> LayoutRun:
    """`command` under valgrind in layout k, its callgrind files `out_file` (with `%p`, the
    PID of each process: forked ones count too), `extra` variables in its environment. Its
    output goes to `log`, or is kept for the tail of stderr."""
    pad = LAYOUT_PADS[k]
    full = [*valgrind_command(out_file), *command]
    env = child_env(k, out_file, cwd=cwd, extra=extra)
    began = time.perf_counter()
    if log is not None:
        with log.open("w") as handle:
            logged = subprocess.run(full, env=env, cwd=cwd, check=False, stdout=handle,
                                    stderr=subprocess.STDOUT)
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        return LayoutRun(pad, logged.returncode, tail, time.perf_counter() - began)
    done = subprocess.run(full, env=env, cwd=cwd, check=False, capture_output=True, text=True)
    tail = str(done.stderr).strip().splitlines()[-3:]
    return LayoutRun(pad, done.returncode, tail, time.perf_counter() - began)


def check_layouts(layouts: int) -> None:
    if not 1 <= layouts <= len(LAYOUT_PADS):
        raise ValueError(f"layouts must be between 1 and {len(LAYOUT_PADS)}, not {layouts}")


def run_layouts(command_for: Callable[[int], Sequence[str]], workdir: Path, *,
                layouts: int = DEFAULT_LAYOUTS, processes: int | None = None,
                cwd: Path | None = None) -> list[LayoutRun]:
    """`command_for(k)` under valgrind for layouts k = 0..layouts-1, `processes` at a time
    (default: one per core)."""
    check_layouts(layouts)
    workdir.mkdir(parents=True, exist_ok=True)
    processes = processes or max(1, os.cpu_count() or 1)

    def one(k: int) -> LayoutRun:
        return run_child(command_for(k), k, workdir / f"callgrind-{k}.%p.out", cwd=cwd)

    with ThreadPoolExecutor(max_workers=processes) as pool:
        return list(pool.map(one, range(layouts)))
