"""Is a result precise enough to decide on? The one quality signal the report and the
terminal show.

A comparison is read from a paired ratio to the reference and its 95% interval
(bench.results.stats). The interval is what says whether the run can support a decision:
when it reaches further than WIDE_INTERVAL from the ratio (±15%), a 15% difference
cannot be told from the machine's noise, so the case is flagged and the advice says how
to narrow it. The spread of absolute round times (CV) is not the signal: on a machine
whose speed drifts it is large for nearly every case while the paired ratio stays tight.
It stays in the results file and the report's detail rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.results.records import CaseRecord

WIDE_INTERVAL = 0.15  # a ratio's 95% interval reaching further than ±15% of it is too wide

ADVICE = ("to narrow them, run more rounds (--rounds 30), use --profile standard, or run on a "
          "quieter machine (nothing else busy, on mains power)")


def spread(median: float, low: float, high: float) -> float:
    """How far the interval reaches from the ratio, as a share of it: the wider side."""
    if median <= 0:
        return float("inf")
    return max(high / median - 1, 1 - low / median)


def ratio_too_wide(ratio: tuple[float, float, float] | None) -> bool:
    """(median, low, high) whose interval is too wide to decide on."""
    return ratio is not None and spread(*ratio) > WIDE_INTERVAL


def case_ratio(case: CaseRecord) -> tuple[float, float, float] | None:
    paired = case["paired"]
    if paired is None:
        return None
    return paired["median"], paired["ci95_low"], paired["ci95_high"]


def too_wide(case: CaseRecord) -> bool:
    """The case's paired ratio to its reference is too imprecise to decide on."""
    return case["status"] == "ok" and ratio_too_wide(case_ratio(case))


def flag(case: CaseRecord) -> str | None:
    """The case's flag in a few words, or None: `interval ±22%`."""
    ratio = case_ratio(case)
    if ratio is None or not too_wide(case):
        return None
    return f"interval ±{spread(*ratio):.0%}"


def advice(cases: Iterable[CaseRecord]) -> str | None:
    """One paragraph for the end of a run or the top of a report: how many comparisons are
    too imprecise to decide on, and what to do about it. None when every one is precise."""
    paired = [c for c in cases if c["status"] == "ok" and case_ratio(c) is not None]
    wide = [c for c in paired if too_wide(c)]
    if not wide:
        return None
    return (f"{len(wide)} of {len(paired)} ratios to the reference have a 95% interval wider "
            f"than ±{WIDE_INTERVAL:.0%}, too wide to decide on (marked in the tables); "
            f"{ADVICE}.")
