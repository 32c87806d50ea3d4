"""Progress of a run on stderr: a bar on a terminal, plain lines in a pipe or CI.

The run reports rounds as they finish and cases as their point finishes (with
interleaving, a point's cases all finish together). Lines name each case's result;
the bar names the point in flight, with elapsed time and an estimate of what is left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from bench.results import quality
from bench.results.records import CaseRecord, case_point_text, per_op
from bench.results.units import fmt_duration, fmt_paired


class Progress:
    """Silent progress: the base of the others, and what a quiet run uses."""

    several_drivers = False  # a run of several drivers: lines name each case's driver

    def start(self, banner: str, total_rounds: int, total_cases: int) -> None:
        self.total_rounds, self.total_cases = max(1, total_rounds), total_cases
        self.rounds_done = self.cases_done = 0
        self.started = time.monotonic()

    def point_started(self, text: str) -> None:
        pass

    def round_done(self) -> None:
        self.rounds_done += 1

    def case_finished(self, case: CaseRecord) -> None:
        self.cases_done += 1

    def note(self, line: str) -> None:
        pass

    def close(self) -> None:
        pass

    def elapsed_and_eta(self) -> tuple[float, float]:
        elapsed = time.monotonic() - self.started
        done = max(1, self.rounds_done)
        return elapsed, elapsed / done * max(0, self.total_rounds - self.rounds_done)


def case_outcome(case: CaseRecord) -> str:
    """A case's result in a few words: time per op and ratio to the reference, or its error."""
    if case["status"] == "skipped":
        return f"skipped ({(case['error'] or '').removeprefix('skipped: ')})"
    if case["status"] not in ("ok",) or case["stats"] is None:
        return f"{case['status'].upper()}: {case['error']}"
    text = f"{fmt_duration(per_op(case))}/op"
    paired = case["paired"]
    if paired is not None:
        text += (f", {paired['median']:.2f}× {paired['reference']} "
                 f"({paired['ci95_low']:.2f}–{paired['ci95_high']:.2f})")
    driver = case.get("paired_driver")
    if driver is not None:
        text += f", {fmt_paired(driver)} {driver['reference']}"
    wide = quality.flag(case)
    if wide:
        text += f" ({wide}: too wide)"
    return text


def case_name(case: CaseRecord, with_driver: bool) -> str:
    """The variant, and the driver too in a run of several."""
    return f"{case['variant']} on {case['driver']}" if with_driver else case["variant"]


class LineProgress(Progress):
    """One line per finished case, for pipes and CI logs."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def start(self, banner: str, total_rounds: int, total_cases: int) -> None:
        super().start(banner, total_rounds, total_cases)
        self.write(banner)

    def case_finished(self, case: CaseRecord) -> None:
        super().case_finished(case)  # a planned case skipped at run time is shown too
        elapsed, eta = self.elapsed_and_eta()
        width = len(str(self.total_cases))
        self.write(f"[{self.cases_done:>{width}}/{self.total_cases}] {case['scenario']} "
                   f"{case_point_text(case)} · {case_name(case, self.several_drivers)}: "
                   f"{case_outcome(case)}  "
                   f"(elapsed {_clock(elapsed)}, eta {_clock(eta)})")

    def note(self, line: str) -> None:
        self.write(line)


class BarProgress(Progress):
    """A rich progress bar on a terminal: the point in flight, elapsed, time left."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self.console = Console(stderr=True)
        self.bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TextColumn("rounds"),
                                TimeElapsedColumn(), TimeRemainingColumn(),
                                console=self.console, transient=True)
        self.task: Any = None

    def start(self, banner: str, total_rounds: int, total_cases: int) -> None:
        super().start(banner, total_rounds, total_cases)
        self.console.print(banner)
        self.bar.start()
        self.task = self.bar.add_task("starting", total=self.total_rounds)

    def point_started(self, text: str) -> None:
        self.bar.update(self.task, description=text[:60])

    def round_done(self) -> None:
        super().round_done()
        self.bar.advance(self.task)

    def case_finished(self, case: CaseRecord) -> None:
        super().case_finished(case)
        if case["status"] in ("error", "wrong"):
            self.bar.console.print(f"{case['scenario']} {case_point_text(case)} · "
                                   f"{case_name(case, self.several_drivers)}: "
                                   f"{case_outcome(case)}", markup=False)

    def note(self, line: str) -> None:
        self.bar.console.print(line, markup=False)

    def close(self) -> None:
        self.bar.stop()


def for_stream(quiet: bool, stream: Any = None) -> Progress:
    """What the CLI shows: nothing, a bar on a terminal, or lines elsewhere."""
    stream = stream or sys.stderr
    if quiet:
        return Progress()
    if stream.isatty():
        return BarProgress()
    return LineProgress(lambda line: print(line, file=stream, flush=True))


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
