"""`sqla-bench compare BASE NEW` (or `BASE... -- NEW...`): did this change make it slower?

Each case of the base side is paired with the new side's case of the same scenario,
variant, parameters and driver, and judged on what stays put on a drifting machine
(the rules are in bench.judge.verdicts):
- its exact counts: statements per op, Python calls per op;
- its paired ratio to its point's reference variant, base against new;
- its absolute time only when each side has at least three runs (`ab` writes such
  files; or several results files per side): across two separate runs, rounds are not
  independent samples of the machine's noise, so one run per side judges no absolute.
`--noise FILE` (from `sqla-bench calibrate`) raises each case's tolerance to its
measured A/A spread. The gate (`--fail-on-regression`) fails on a count change or a
`slower` verdict, naming the cases and why.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import JustifyMethod
from rich.table import Table

from bench.db.drivers import DRIVERS
from bench.judge.calibrate import CaseNoise, instructions_build
from bench.judge.verdicts import (
    FASTER,
    INCONCLUSIVE,
    MIN_RUNS,
    SAME,
    SLOWER,
    Change,
    blocks_change,
    calls_changed,
    instructions_changed,
    instructions_tolerance,
    plan_changed,
    runs_change,
    statements_changed,
)
from bench.measure import plan_shape
from bench.measure.machine import compare_speed_line, speed_of_runs
from bench.results import file as results
from bench.results.records import CaseRecord, RunRecord, params_text, per_op
from bench.results.units import fmt_duration
from bench.run import environment

NOT_JUDGED = ("absolute changes between separate runs are not judged: use `sqla-bench ab`, "
              f"or give at least {MIN_RUNS} runs per side (compare A1 A2 A3 -- B1 B2 B3)")
# Below this many blocks a one-run-a-side verdict is fragile: on the project's 2-core VM,
# same-code quick runs (15 blocks) minutes apart were flagged about 1 case in 10; at 60
# blocks, 1 in 29 (docs/method.md, "What the machine allows").
ADVISED_BLOCKS = 50


def fewest_blocks(docs: Sequence[RunRecord]) -> int | None:
    """The fewest timed blocks of any measured case in these runs (None: none measured)."""
    counts = [len(set(case["blocks"])) for doc in docs for case in doc["cases"]
              if case["status"] == "ok" and case["blocks"]]
    return min(counts) if counts else None


def few_blocks_advice(base: Sequence[RunRecord], new: Sequence[RunRecord]) -> str | None:
    """A line for a one-run-a-side compare of runs with few blocks, else None."""
    sides = [*base, *new]
    merged = any(isinstance(doc["config"].get("runs"), int) and doc["config"]["runs"] > 1
                 for doc in sides)  # a side `ab` or calibrate merged from several runs
    if len(base) > 1 or len(new) > 1 or merged:
        return None  # several runs a side: the runs are the samples
    fewest = fewest_blocks(sides)
    if fewest is None or fewest >= ADVISED_BLOCKS:
        return None
    return (f"few blocks ({fewest} in some cases): between runs taken minutes apart a "
            "drifting machine moves ratios more than one run's interval shows; to gate, "
            f"measure at least {ADVISED_BLOCKS} blocks (--rounds {ADVISED_BLOCKS} or "
            "--profile standard), give several runs a side, or use `sqla-bench ab`")


def machine_speed_line(base: Sequence[RunRecord], new: Sequence[RunRecord]) -> str | None:
    """How fast the machine ran on each side (bench.measure.machine), for the reader."""
    return compare_speed_line(speed_of_runs(base), speed_of_runs(new))


@dataclass(frozen=True)
class RunFigure:
    """One run's figures of a case: its median per op (ns) and its paired-ratio median."""

    median_ns: float
    ratio: float | None


@dataclass
class SideCase:
    """One side's measurements of one case: a case record per run (or a merged `ab` file
    whose case keeps its per-run figures in extra.runs)."""

    cases: list[CaseRecord]

    @property
    def first(self) -> CaseRecord:
        return self.cases[0]

    @property
    def ok(self) -> bool:
        return all(c["status"] == "ok" and c["stats"] is not None for c in self.cases)

    def run_figures(self) -> list[RunFigure]:
        """Per run: its median per op and paired-ratio median (a merged `ab` file keeps
        them in its case's extra.runs)."""
        merged = self.first["extra"].get("runs")
        if len(self.cases) == 1 and isinstance(merged, list) and merged:
            return [RunFigure(float(r["median_ns"]), r.get("ratio")) for r in merged]
        return [RunFigure(per_op(c), c["paired"]["median"] if c["paired"] else None)
                for c in self.cases]

    def block_ratios(self) -> list[float] | None:
        """Every block's paired ratio, over the side's runs; None if any run has none."""
        out: list[float] = []
        for case in self.cases:
            if case["paired"] is None:
                return None
            out.extend(case["paired"]["ratios"])
        return out

    def driver_ratios(self) -> tuple[str, list[float], list[float]] | None:
        """Runs of several drivers: (reference driver, every block's paired driver ratio,
        each run's median) over the side's runs; None if any run has none."""
        reference, ratios, medians = None, [], []
        for case in self.cases:
            paired = case.get("paired_driver")
            if paired is None or reference not in (None, paired["reference"]):
                return None
            reference = paired["reference"]
            ratios.extend(paired["ratios"])
            medians.append(paired["median"])
        return (reference, ratios, medians) if reference is not None else None

    def median_ns(self) -> float:
        return statistics.median(r.median_ns for r in self.run_figures())


@dataclass
class Judgement:
    scenario: str
    variant: str
    params: dict[str, Any]
    driver: str
    status: str = "compared"  # or: only in base / only in new / not comparable (...)
    base_ns: float | None = None  # median per op
    new_ns: float | None = None
    reference: str | None = None
    base_ratio: float | None = None  # paired ratio to the reference, each side
    new_ratio: float | None = None
    ratio: Change | None = None  # the paired ratio's change, judged
    absolute: Change | None = None  # judged only with enough runs per side
    noise: float | None = None  # the case's A/A spread from a noise file
    counts: list[str] = field(default_factory=list)  # count changes, as sentences
    # Runs of several drivers: the case's paired ratio to the reference driver, each side,
    # and its change, judged as the variant ratio is
    driver_reference: str | None = None
    base_driver_ratio: float | None = None
    new_driver_ratio: float | None = None
    driver_ratio: Change | None = None
    # Instructions per op (counted runs), each side, and the tolerance they were judged by.
    base_instructions: float | None = None
    new_instructions: float | None = None
    instructions_tolerance: float | None = None
    instructions_note: str | None = None  # why they were not compared, or the tolerance's source
    # False for the gate against a stored run: times are shown, never failing (issue 23).
    time_fails: bool = True

    @property
    def verdict(self) -> str:
        """The headline: a count change, else the ratio's verdict, else the absolute one."""
        if self.status != "compared":
            return self.status
        if self.counts:
            return "counts changed"
        if self.ratio is not None:
            return self.ratio.verdict
        if self.driver_ratio is not None:
            return self.driver_ratio.verdict
        if self.absolute is not None:
            return self.absolute.verdict
        if self.reference == self.variant:
            return "reference: times not judged"
        return "no paired ratio: not judged"

    @property
    def fails(self) -> bool:
        return bool(self.counts) or self.time_fails and SLOWER in (
            getattr(self.ratio, "verdict", None), getattr(self.absolute, "verdict", None),
            getattr(self.driver_ratio, "verdict", None))

    @property
    def instructions_change(self) -> float | None:
        """new / base instructions per op, when both sides were counted comparably."""
        if not self.base_instructions or self.new_instructions is None:
            return None
        return self.new_instructions / self.base_instructions

    def instructions_text(self) -> str:
        """`+3.1% instructions per op (exact count; tolerance ±0.8%, calibrated)`."""
        change = self.instructions_change
        if change is None:
            return self.instructions_note or "–"
        tolerance = self.instructions_tolerance or 0.0
        return (f"{_pct(change)} instructions per op (exact count; tolerance "
                f"±{tolerance:.1%}, {self.instructions_note})")

    def why(self) -> str:
        """Why the gate fails on this case, in a few words."""
        reasons = list(self.counts)
        if not self.time_fails:
            return "; ".join(reasons)
        for name, change in (("paired ratio", self.ratio), ("absolute time", self.absolute),
                             (f"ratio to {self.driver_reference}", self.driver_ratio)):
            if change is not None and change.verdict == SLOWER:
                reasons.append(f"{name} {_pct(change.estimate)} "
                               f"({_pct(change.low)} to {_pct(change.high)}, "
                               f"tolerance ±{change.delta:.0%})")
        return "; ".join(reasons)

    @property
    def name(self) -> str:
        return f"{self.scenario}/{self.variant} [{params_text(self.params)}] on {self.driver}"


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f}%"


# -- pairing ----------------------------------------------------------------------------


Key = tuple[Any, ...]


def _keyed(side: Sequence[RunRecord], by_driver: bool) -> dict[Key, SideCase]:
    out: dict[Key, SideCase] = {}
    for doc in side:
        driver = doc["config"].get("driver")
        for case in doc["cases"]:
            if case["status"] == "skipped":
                continue
            key = results.case_key(case, case.get("driver") or driver)
            key = key if by_driver else key[:3]
            out.setdefault(key, SideCase([])).cases.append(case)
    return out


def compare_sides(base: Sequence[RunRecord], new: Sequence[RunRecord], threshold: float,
                  noise: dict[Key, CaseNoise] | None = None, *,
                  time_fails: bool = True) -> list[Judgement]:
    """Pair every case of both sides and judge it. `time_fails=False` (the gate against a
    stored run): time verdicts are shown but never fail."""
    drivers = {d["config"].get("driver") for d in [*base, *new]}
    by_driver = len(drivers) == 1  # different drivers: pair on the case, to compare them
    base_cases, new_cases = _keyed(base, by_driver), _keyed(new, by_driver)
    judgements = []
    for key in [*base_cases, *(k for k in new_cases if k not in base_cases)]:
        b, n = base_cases.get(key), new_cases.get(key)
        ref = (b or n)
        assert ref is not None
        first = ref.first
        judgement = Judgement(first["scenario"], first["variant"], first["params"],
                              str(first.get("driver") or "?"), reference=first.get("reference"),
                              time_fails=time_fails)
        if b is None or n is None:
            judgement.status = "only in new" if b is None else "only in base"
        elif not (b.ok and n.ok):
            judgement.status = (f"not comparable (base {b.first['status']}, "
                                f"new {n.first['status']})")
        else:
            case_noise: CaseNoise = (noise or {}).get(results.case_key(first, judgement.driver), {})
            _judge(judgement, b, n, threshold / 100, case_noise)
        judgements.append(judgement)
    return judgements


def _polls(driver: str | None) -> bool:
    """The driver's row says it polls (a driver sqla-bench does not know does not)."""
    row = DRIVERS.get(driver or "")
    return row is not None and row.polls


def _judge(judgement: Judgement, base: SideCase, new: SideCase, threshold: float,
           noise: CaseNoise) -> None:
    b, n = base.first, new.first
    judgement.base_ns, judgement.new_ns = base.median_ns(), new.median_ns()
    if statements_changed(b["statements_per_op"], n["statements_per_op"]):
        judgement.counts.append(f"statements per op {b['statements_per_op']:g} → "
                                f"{n['statements_per_op']:g}")
    if calls_changed(b["calls_per_op"], n["calls_per_op"], polling=_polls(judgement.driver)):
        assert b["calls_per_op"] is not None and n["calls_per_op"] is not None
        judgement.counts.append(f"Python calls per op {b['calls_per_op']:,.1f} → "
                                f"{n['calls_per_op']:,.1f}")
    _judge_instructions(judgement, b, n, noise)
    _judge_plans(judgement, b, n)
    ratio_delta = max(threshold, noise.get("ratio_spread", 0.0))
    absolute_delta = max(threshold, noise.get("absolute_spread", 0.0))
    judgement.noise = noise.get("ratio_spread")
    base_runs, new_runs = base.run_figures(), new.run_figures()
    if len(base_runs) >= MIN_RUNS and len(new_runs) >= MIN_RUNS:
        base_ratios = [r.ratio for r in base_runs if r.ratio is not None]
        new_ratios = [r.ratio for r in new_runs if r.ratio is not None]
        if len(base_ratios) == len(base_runs) and len(new_ratios) == len(new_runs):
            judgement.ratio = runs_change(base_ratios, new_ratios, ratio_delta)
        judgement.absolute = runs_change([r.median_ns for r in base_runs],
                                         [r.median_ns for r in new_runs], absolute_delta)
    else:
        base_blocks, new_blocks = base.block_ratios(), new.block_ratios()
        if base_blocks and new_blocks:
            judgement.ratio = blocks_change(base_blocks, new_blocks, ratio_delta)
    if judgement.ratio is not None:
        judgement.base_ratio = _median([r.ratio for r in base_runs])
        judgement.new_ratio = _median([r.ratio for r in new_runs])
    _judge_driver_ratio(judgement, base, new, ratio_delta)


def _judge_driver_ratio(judgement: Judgement, base: SideCase, new: SideCase,
                        delta: float) -> None:
    """Runs of several drivers: the change of the case's paired ratio to the same reference
    driver, from every block of each side (bench.judge.verdicts.blocks_change)."""
    base_side, new_side = base.driver_ratios(), new.driver_ratios()
    if base_side is None or new_side is None:
        return
    (base_ref, base_ratios, base_medians), (new_ref, new_ratios, new_medians) = (base_side,
                                                                                new_side)
    if base_ref != new_ref or not base_ratios or not new_ratios:
        return
    judgement.driver_reference = base_ref
    judgement.driver_ratio = blocks_change(base_ratios, new_ratios, delta)
    judgement.base_driver_ratio = _median(base_medians)
    judgement.new_driver_ratio = _median(new_medians)


def _judge_instructions(judgement: Judgement, b: CaseRecord, n: CaseRecord,
                        noise: CaseNoise) -> None:
    """Instructions per op, compared only between counts of the same Python build,
    valgrind version and counting rule (another build runs other machine code, another
    rule counts other work: not a change of ours)."""
    base, new = b.get("instructions_per_op"), n.get("instructions_per_op")
    if base is None or new is None:
        if base is not None or new is not None:
            judgement.instructions_note = "counted on one side only"
        return
    b_id: dict[str, Any] = dict(b.get("instructions") or {})
    n_id: dict[str, Any] = dict(n.get("instructions") or {})
    for name, what in (("python_build", "Python build"), ("valgrind", "valgrind"),
                       ("counted", "what was counted")):
        if b_id.get(name) != n_id.get(name):
            judgement.instructions_note = (f"not compared: {what} differs "
                                           f"({b_id.get(name)} vs {n_id.get(name)})")
            return
    # a calibration of another build knows nothing of this one's layouts: it only widens
    same_build = noise.get("instructions_build") == instructions_build(b)
    tolerance, source = instructions_tolerance(
        noise.get("instructions_spread"),
        layouts=noise.get("instructions_layouts", 0) if same_build else 0,
        polling=_polls(judgement.driver))
    judgement.base_instructions, judgement.new_instructions = float(base), float(new)
    judgement.instructions_tolerance, judgement.instructions_note = tolerance, source
    if instructions_changed(float(base), float(new), tolerance):
        judgement.counts.append(judgement.instructions_text())


def _judge_plans(judgement: Judgement, b: CaseRecord, n: CaseRecord) -> None:
    """The query plans' steps (`--explain`): a changed fingerprint fails on any machine."""
    if plan_changed(plan_shape.recorded_fingerprint(b), plan_shape.recorded_fingerprint(n)):
        judgement.counts.append("query plan changed: " + plan_shape.change_text(
            plan_shape.recorded_scans(b), plan_shape.recorded_scans(n)))


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# -- what the two sides ran on -------------------------------------------------------------


def environment_differences(base: RunRecord, new: RunRecord) -> list[str]:
    """What differs between the two runs' setups, worth a warning before reading numbers."""
    differences = []
    b_env, n_env = base["environment"], new["environment"]
    checks = [
        ("driver", base["config"].get("driver"), new["config"].get("driver")),
        ("profile", base["config"].get("profile"), new["config"].get("profile")),
        ("schedule", base["config"].get("schedule"), new["config"].get("schedule")),
        ("event loop", b_env.get("event_loop"), n_env.get("event_loop")),
        ("Python", b_env.get("python"), n_env.get("python")),
        ("SQLAlchemy", b_env.get("sqlalchemy"), n_env.get("sqlalchemy")),
        ("CPU", b_env.get("cpu_model"), n_env.get("cpu_model")),
        ("server", _server(base), _server(new)),
        ("driver version", b_env.get("driver_versions"), n_env.get("driver_versions")),
    ]
    for name, a, b in checks:
        if a != b:
            differences.append(f"{name} differs: {a} vs {b}")
    # server settings that change results, and how busy the machine was
    differences += environment.differences(dict(b_env), dict(n_env))
    return differences


def _server(doc: RunRecord) -> str:
    server = doc["environment"].get("server") or {}
    return f"{server.get('product', '?')} {server.get('version', '')}".strip()


# -- showing it --------------------------------------------------------------------------------


def _change_text(change: Change | None, short: bool = False) -> str:
    if change is None:
        return "–"
    if short:
        return (f"{(change.estimate - 1) * 100:+.0f}% "
                f"({(change.low - 1) * 100:+.0f}…{(change.high - 1) * 100:+.0f}%)")
    return f"{_pct(change.estimate)} ({_pct(change.low)} to {_pct(change.high)})"


def is_same(judgement: Judgement) -> bool:
    """Nothing to read: compared, counts unchanged, and its time the same within its
    tolerance or not judged at all (the reference of paired ratios)."""
    if judgement.status != "compared" or judgement.counts:
        return False
    verdict = _time_verdict(judgement)
    return verdict == SAME or (verdict is None and judgement.reference == judgement.variant)


def _order(judgement: Judgement) -> int:
    """Changes first: what fails, then faster, inconclusive, then the unpaired ones."""
    if judgement.fails:
        return 0
    if judgement.status != "compared":
        return 3
    return 1 if _time_verdict(judgement) == FASTER else 2


def comparison_table(judgements: list[Judgement], title: str, collapse_same: bool = True,
                     narrow: bool = False) -> Table:
    """The changes first (failing ones on top); the cases judged the same are counted in
    the caption rather than listed, unless `collapse_same` is False. `narrow` (for a
    terminal the wide table does not fit): a case is one cell (scenario and variant, its
    point under them) and only the ratio columns and the verdict remain."""
    same = [j for j in judgements if is_same(j)] if collapse_same else []
    shown = sorted((j for j in judgements if not any(j is s for s in same)), key=_order)
    table = Table(title=title, title_justify="left", caption_justify="left")
    if same:
        references = sum(1 for j in same if _time_verdict(j) is None)
        table.caption = (f"and {len(same) - references} case(s) the same within tolerance"
                         + (f", {references} reference(s) with unchanged counts (their times "
                            "are not judged)" if references else "") + ": not listed")
    if narrow:
        table.box, table.pad_edge, table.collapse_padding = box.SIMPLE_HEAD, False, True
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        (("case", "left"),) if narrow else
        (("scenario", "left"), ("params", "left"), ("variant", "left"),
         ("base/op", "right"), ("new/op", "right"))
    ) + (("vs ref: base → new", "right"), ("ratio change (95% CI)", "right")) + (
        () if narrow else (("absolute change (95% CI)", "right"), ("tolerance", "right"))
    ) + (("verdict", "left"),)
    several = any(j.driver_ratio is not None for j in judgements)  # runs of several drivers
    if several and not narrow:
        columns = (columns[:3] + (("driver", "left"),) + columns[3:-2]
                   + (("vs ref driver: base → new", "right"), ("driver ratio change", "right"))
                   + columns[-2:])
    counted = any(j.instructions_note for j in judgements)  # the column only when counted
    for column, justify in columns:
        if column == "verdict" and counted:
            table.add_column("instructions/op: base → new" if not narrow else "instr./op",
                             justify="right")
        if narrow and column == "case":
            table.add_column(column, min_width=24, ratio=1, overflow="fold")
        elif narrow and column.startswith("vs ref"):
            table.add_column("vs ref", justify=justify, no_wrap=True)
        elif narrow and column.startswith("ratio change"):
            table.add_column("change (95% CI)", justify=justify, no_wrap=True)
        elif narrow and column == "verdict":
            table.add_column(column, min_width=14, max_width=16)
        else:
            table.add_column(column, justify=justify, no_wrap=narrow and column != "verdict")
    for j in shown:
        verdict = j.verdict
        if j.counts:
            verdict = "COUNTS: " + "; ".join(j.counts)
        elif verdict == SLOWER:
            verdict = "SLOWER"
        style = "red" if j.fails else "green" if verdict in (FASTER, SAME) else None
        ratios = ("–" if j.base_ratio is None or j.new_ratio is None
                  else f"{j.base_ratio:.2f}× → {j.new_ratio:.2f}×")
        judged = j.ratio or j.driver_ratio or j.absolute
        tolerance = "–" if judged is None else f"±{judged.delta:.0%}"
        driver_ratios = ("–" if j.base_driver_ratio is None or j.new_driver_ratio is None
                         else f"{j.base_driver_ratio:.2f}× → {j.new_driver_ratio:.2f}× "
                              f"{j.driver_reference}")
        if narrow:
            name = f"{j.scenario} · {j.variant}" + (f" · {j.driver}" if several else "")
            change = (_change_text(j.ratio, short=True) if j.ratio is not None or not several
                      else _change_text(j.driver_ratio, short=True))
            counts = [_instructions_cell(j)] if counted else []
            table.add_row(f"{name}\n{params_text(j.params)}",
                          ratios.replace(" → ", "→"), change, *counts,
                          verdict if judged is None else f"{verdict}\ntolerance {tolerance}",
                          style=style, end_section=True)
        else:
            cells = [j.scenario, params_text(j.params), j.variant, fmt_duration(j.base_ns),
                     fmt_duration(j.new_ns), ratios, _change_text(j.ratio),
                     _change_text(j.absolute)]
            if several:
                cells[3:3] = [j.driver or "?"]
                cells += [driver_ratios, _change_text(j.driver_ratio)]
            cells.append(tolerance)
            if counted:
                cells.append(_instructions_cell(j))
            table.add_row(*cells, verdict, style=style)
    return table


def _instructions_cell(j: Judgement) -> str:
    if j.instructions_change is None:
        return j.instructions_note or "–"
    return (f"{j.base_instructions:,.0f} → {j.new_instructions:,.0f} "
            f"({_pct(j.instructions_change)}, ±{j.instructions_tolerance or 0:.1%})")


def _time_verdict(judgement: Judgement) -> str | None:
    judged = judgement.ratio or judgement.driver_ratio or judgement.absolute
    return None if judged is None else judged.verdict


def instruction_notes(judgements: list[Judgement]) -> list[str]:
    """Why some cases' instructions were not compared, one line per reason."""
    reasons: dict[str, int] = {}
    for j in judgements:
        if j.instructions_change is None and j.instructions_note:
            reasons[j.instructions_note] = reasons.get(j.instructions_note, 0) + 1
    lines = [f"instructions per op {note} ({count} case(s))" for note, count in reasons.items()]
    return lines + tolerance_lines(judgements)


def tolerance_lines(judgements: list[Judgement]) -> list[str]:
    """Where the compared cases' instruction tolerances came from, and their range: what the
    gate could see, case by case, said once."""
    by_source: dict[str, list[float]] = {}
    for j in judgements:
        if j.instructions_change is not None and j.instructions_tolerance is not None:
            by_source.setdefault(j.instructions_note or "?", []).append(j.instructions_tolerance)
    lines = []
    for source, tolerances in sorted(by_source.items(), key=lambda item: -len(item[1])):
        low, high = min(tolerances), max(tolerances)
        spread = (f"±{low:.1%}" if high - low < 5e-4 else
                  f"±{low:.1%} to ±{high:.1%}, median ±{statistics.median(tolerances):.1%}")
        lines.append(f"instructions tolerance {spread}: {source} ({len(tolerances)} case(s))")
    return lines


def summary_line(judgements: list[Judgement]) -> str:
    compared = [j for j in judgements if j.status == "compared"]
    timed = [_time_verdict(j) for j in compared]
    counts = sum(1 for j in compared if j.counts)
    parts = [f"{timed.count(v)} {v}" for v in (SLOWER, FASTER, SAME, INCONCLUSIVE)]
    counted = [j.instructions_change for j in compared if j.instructions_change is not None]
    largest = max(counted, key=lambda c: abs(c - 1), default=None)
    instructions = ("" if largest is None else
                    f"; instructions per op compared in {len(counted)}, largest change "
                    f"{_pct(largest)}")
    return (f"{', '.join(parts)}, {counts} with changed counts "
            f"({len(compared)} cases compared{instructions})")


# -- the command ----------------------------------------------------------------------------


def dump_judgements(judgements: list[Judgement]) -> str:
    """The verdicts as JSON, for scripts and for `ab`'s comparison file."""
    def change(c: Change | None) -> dict[str, Any] | None:
        return None if c is None else {"estimate": c.estimate, "low": c.low, "high": c.high,
                                       "tolerance": c.delta, "verdict": c.verdict,
                                       "from": c.samples}

    return json.dumps([{
        "scenario": j.scenario, "variant": j.variant, "params": j.params, "driver": j.driver,
        "verdict": j.verdict, "fails": j.fails, "counts": j.counts, "base_ns": j.base_ns,
        "new_ns": j.new_ns, "ratio": change(j.ratio), "absolute": change(j.absolute),
        "noise": j.noise, "base_instructions": j.base_instructions,
        "new_instructions": j.new_instructions,
        "instructions_tolerance": j.instructions_tolerance,
        "instructions_note": j.instructions_note, "time_fails": j.time_fails,
        **({"driver_ratio": change(j.driver_ratio), "driver_reference": j.driver_reference}
           if j.driver_ratio is not None else {}),
    } for j in judgements], indent=1)
