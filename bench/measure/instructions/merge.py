"""From each layout's counts to one number per case: the median over layouts.

Each counting child records, per case, its rounds' instructions per op (their median is
the layout's value: the rounds of one process normally agree exactly, and the median
keeps one odd round, a network wake-up say, from moving it). The case's value is the
median over layouts, because the layout shifts counts by up to a few per cent and no
single layout is the right one; the spread over layouts is recorded beside it, and is
what an A/A calibration turns into the case's tolerance (bench.judge.calibrate).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from bench.measure.instructions.summary import relative_range

# A layout's rounds that disagree by more than this are flagged: counts that do not repeat
# within a process measure something else (a timer, the network) besides the code.
ROUNDS_AGREE = 0.005


def merged_record(layouts: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One case's `instructions` record from its per-layout records (None: not counted)."""
    counted = [c for c in layouts if c is not None and c.get("rounds")]
    if not counted:
        return None
    values = [statistics.median(c["rounds"]) for c in counted]
    round_spreads = [relative_range(c["rounds"]) or 0.0 for c in counted]
    first = counted[0]
    return {
        "per_op": statistics.median(values),
        "rounds": [v for c in counted for v in c["rounds"]],
        "layouts": values,
        "spread": relative_range(values) if len(values) > 1 else None,
        "round_spread": max(round_spreads),
        "rounds_agree": all(s <= ROUNDS_AGREE for s in round_spreads),
        "valgrind": first.get("valgrind"),
        "python_build": first.get("python_build"),
        "counted": first.get("counted"),
        "excluded_per_op": (statistics.median(c["excluded_per_op"] for c in counted)
                            if all(c.get("excluded_per_op") is not None for c in counted)
                            else None),
        # the layouts' keys, in order: equal on two runs only when each layout was counted
        # in the same memory layout (checkouts at paths of equal length, say)
        "layout": (",".join(c["layout"] for c in counted)
                   if all(c.get("layout") for c in counted) else None),
    }


def merge_into(target: Sequence[dict[str, Any]], layouts: Sequence[Sequence[dict[str, Any]]],
               key: Callable[[dict[str, Any]], Hashable],
               read: Callable[[dict[str, Any]], dict[str, Any] | None],
               write: Callable[[dict[str, Any], dict[str, Any]], None]) -> int:
    """Give each of `target`'s cases the merged counts of its layouts' cases (paired by
    `key`; `read` takes a case's per-layout record, `write` stores the merged one).
    Returns how many cases were counted."""
    by_layout = [{key(c): c for c in cases} for cases in layouts]
    counted = 0
    for case in target:
        k = key(case)
        merged = merged_record([read(found[k]) if k in found else None
                                for found in by_layout])
        if merged is not None:
            write(case, merged)
            counted += 1
    return counted
