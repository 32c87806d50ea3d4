"""How a change between two sides is judged: the rules, as pure functions.

A change is a ratio new / base. Its 95% interval decides, against a tolerance δ (the
smallest change that matters, raised per case by a measured noise floor):
- same: the whole interval lies within [1/(1+δ), 1+δ]: an equivalence finding, not an
  absence of evidence;
- slower: the interval lies above 1 and the change is at least 1+δ (real, and large
  enough to matter; asv's continuous judges the same way);
- faster: the mirror image;
- inconclusive: neither (too noisy to say, at this many blocks or runs).
Exact counts are judged on their own: any change in statements per operation, or a
change in Python calls per operation beyond CALLS_TOLERANCE (POLLING_CALLS_TOLERANCE for
a driver that polls), is a verdict that fails the gate whatever the times say: an N+1
that creeps back in shows on any machine.

Where the samples come from:
- one run per side: the case's per-block paired ratios (a block is one round of every
  variant, so drift cancels within it): bootstrap of the ratio of medians over blocks;
- several runs per side (at least MIN_RUNS, e.g. from `ab`): per-run medians, the run
  being the unit of noise; Welch's interval on their logs. Only then are absolute times
  judged: rounds of separate runs on a drifting machine are not independent samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SLOWER, FASTER, SAME, INCONCLUSIVE = "slower", "faster", "same", "inconclusive"
# Python calls per op may move this much before it counts: 5% and at least 2 calls. The
# count is exact for a given interleaving of tasks, but tasks that share a pool (and a
# polling driver, which has its own tolerance below) take a few more or fewer turns from
# run to run: on the project's machine, an A/A of the whole pytest suite moved such
# cases by up to 4% (259.9 -> 266.1, 285.4 -> 273.3). An N+1 creeping back in doubles them.
CALLS_TOLERANCE = 0.05
CALLS_FLOOR = 2.0
# A driver that polls from Python (its row says `polls`) adds calls per poll, and the
# number of polls follows the network: an A/A moved one such count by 14% (56 -> 64).
POLLING_CALLS_TOLERANCE = 0.25
BOOTSTRAP_RESAMPLES = 2000  # blocks_change: the ratio of two unpaired runs' medians
BOOTSTRAP_SEED = 20261124  # fixed: the same samples always give the same interval
MIN_RUNS = 3  # runs per side before per-run medians are judged


@dataclass(frozen=True)
class Change:
    """A measured change new / base with its 95% interval, judged against δ."""

    estimate: float
    low: float
    high: float
    delta: float
    verdict: str
    samples: str  # what the interval was computed from, for the reader


def judge(estimate: float, low: float, high: float, delta: float) -> str:
    """The verdict of a change whose 95% interval is [low, high]."""
    upper, lower = 1 + delta, 1 / (1 + delta)
    if lower <= low and high <= upper:
        return SAME
    if low > 1 and estimate >= upper:
        return SLOWER
    if high < 1 and estimate <= lower:
        return FASTER
    return INCONCLUSIVE


def blocks_change(base: Sequence[float], new: Sequence[float], delta: float) -> Change:
    """Ratio of the medians of two sets of per-block values, bootstrap interval over blocks
    (each side resampled on its own: the two runs' blocks are not paired with each other)."""
    b, n = np.asarray(base, dtype=float), np.asarray(new, dtype=float)
    estimate = float(np.median(n) / np.median(b))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    b_medians = np.median(rng.choice(b, size=(BOOTSTRAP_RESAMPLES, b.size)), axis=1)
    n_medians = np.median(rng.choice(n, size=(BOOTSTRAP_RESAMPLES, n.size)), axis=1)
    low, high = np.percentile(n_medians / b_medians, [2.5, 97.5])
    return Change(estimate, float(low), float(high), delta,
                  judge(estimate, float(low), float(high), delta),
                  f"{b.size} vs {n.size} blocks")


def runs_change(base: Sequence[float], new: Sequence[float], delta: float) -> Change:
    """Ratio of the geometric means of per-run values, Welch's 95% interval on their logs."""
    b, n = np.log(np.asarray(base, dtype=float)), np.log(np.asarray(new, dtype=float))
    diff = float(n.mean() - b.mean())
    vb, vn = b.var(ddof=1) / b.size, n.var(ddof=1) / n.size
    se = math.sqrt(vb + vn)
    if se == 0:
        low = high = math.exp(diff)
    else:
        df = (vb + vn) ** 2 / ((vb ** 2) / (b.size - 1) + (vn ** 2) / (n.size - 1))
        from scipy import stats as scipy_stats  # a second to import: multi-run compare only

        margin = float(scipy_stats.t.ppf(0.975, df)) * se
        low, high = math.exp(diff - margin), math.exp(diff + margin)
    estimate = math.exp(diff)
    return Change(estimate, low, high, delta, judge(estimate, low, high, delta),
                  f"{b.size} vs {n.size} runs")


def statements_changed(base: float | None, new: float | None) -> bool:
    """Statements per op are exact: any change is a change (beyond float rounding)."""
    if base is None or new is None:
        return False
    return not math.isclose(base, new, rel_tol=1e-9, abs_tol=1e-9)


def calls_tolerance_text() -> str:
    """The calls-per-op tolerance as people read it, both of its values."""
    return (f"{CALLS_TOLERANCE:.0%} and {CALLS_FLOOR:g} calls; {POLLING_CALLS_TOLERANCE:.0%} "
            "for a driver that polls from Python")


def calls_changed(base: float | None, new: float | None, *, polling: bool = False) -> bool:
    """Calls per op moved beyond the tolerance (wider for a driver that polls)."""
    if base is None or new is None:
        return False
    tolerance = POLLING_CALLS_TOLERANCE if polling else CALLS_TOLERANCE
    return abs(new - base) > max(tolerance * max(base, new), CALLS_FLOOR)


# -- machine-independent evidence (issue 23) -----------------------------------------------
# Instructions per op are counted, not timed: the same code under the same Python build and
# valgrind version repeats them to a fraction of a per cent within one process, but the
# process's memory layout (the environment's size, the checkout's path, what ran before
# and how long it took) moves them by a few per cent. The default below covers what one
# count of unchanged code moved by between two checkouts at different paths across the
# whole counted suite outside the polling drivers: at most 3.8% over three pairs
# (2026-12-03, 331 cases), so 5%.
INSTRUCTIONS_DEFAULT_TOLERANCE = 0.05
# A calibration widens a case's tolerance to its range times this margin where that is
# wider than the default. A calibration over fewer than NARROWING_LAYOUTS layouts (A/A runs
# of one layout, or `--sqla-layouts 3`) never narrows it: six processes' range understates
# the spread of the next two (held out two at a time, the pair moved beyond 1.5x the other
# four's range in 10.7% of 4,995 trials), and a range over one layout says nothing of
# another, which is what a change of code gives: an unused 30-line class moved 4-6 of 40
# small cases by more than 1.5%, up to 2.9% (2026-12-04).
INSTRUCTIONS_CALIBRATION_MARGIN = 1.5
# A calibration over NARROWING_LAYOUTS layouts or more (`make calibrate-counted`: one run
# counted in eight layouts, each an environment padding and an allocation part-way through
# the imports, bench.measure.instructions.import_pad) has seen how far an unrelated change
# of code can move the case, so it sets the tolerance both ways: its range times
# LAYOUTS_MARGIN, never less than INSTRUCTIONS_FLOOR, which covers what the same code in
# the same layout moved between two runs outside the polling drivers on cases whose layouts
# agree (a case whose rounds or layouts spread more moved more: aiosqlite's pool_sizing
# raw lookup 2.65%, over a layout range of 3.4%). The margin: over ten pairs of whole-suite
# runs (unchanged code, and three unrelated changes), tolerances of 1.5x a case's range
# failed up to 3 of 223 cases a pair, 2x one (2.21% against 2.22%), 2.5x none (2026-12-04,
# docs/ci-gate.md).
NARROWING_LAYOUTS = 8
LAYOUTS_MARGIN = 2.5
INSTRUCTIONS_FLOOR = 0.015
# A driver that polls from Python (aiopg, psycopg) runs its wait loop once per piece of the
# server's reply, so its counts follow the network: three whole-suite counted A/As
# (2026-12-03) moved aiopg's raw lookup by up to 15.0% and psycopg's executemany by 7.1%.
# Its default covers that; a calibration only widens it (the network of the calibration
# run is not the next run's).
POLLING_INSTRUCTIONS_DEFAULT_TOLERANCE = 0.20


def instructions_tolerance(calibrated: float | None, *, layouts: int = 0,
                           polling: bool = False) -> tuple[float, str]:
    """The tolerance of a case's instructions per op, and where it came from: the default;
    widened where a calibration saw the case move more; set from the calibration, both
    ways, where it covered NARROWING_LAYOUTS layouts (never for a polling driver)."""
    default = POLLING_INSTRUCTIONS_DEFAULT_TOLERANCE if polling else INSTRUCTIONS_DEFAULT_TOLERANCE
    if calibrated is None:
        return default, ("default for a polling driver" if polling else "default: not calibrated")
    if layouts >= NARROWING_LAYOUTS and not polling:
        return (max(INSTRUCTIONS_FLOOR, calibrated * LAYOUTS_MARGIN),
                f"calibrated over {layouts} layouts")
    widened = calibrated * INSTRUCTIONS_CALIBRATION_MARGIN
    if widened <= default:
        return default, "default; calibrated narrower"
    return widened, "calibrated"


def instructions_changed(base: float, new: float, tolerance: float) -> bool:
    """Instructions per op moved beyond the case's tolerance (either way: a drop the size
    of a regression is as much a change of the code, and a new baseline to record)."""
    return base > 0 and abs(new / base - 1) > tolerance


def plan_changed(base: str | None, new: str | None) -> bool:
    """Query-plan fingerprints differ (a case without plans on one side is not judged)."""
    return base is not None and new is not None and base != new
