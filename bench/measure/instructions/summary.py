"""From per-round counts under several layouts to one number per case, with its spread.

A layout's value is the median of its rounds (the rounds of one process normally agree
exactly; the median keeps one odd round, say a network wake-up, from moving it). The
case's value is the median over layouts, because the layout (environment size, paths)
shifts counts by up to a few per cent and no single layout is the "right" one. The spread
over layouts is what an A/A comparison between two checkouts can differ by, so it is what
a gate's tolerance for the case should be calibrated from.
"""

from __future__ import annotations

import statistics
from typing import TypedDict


class LayoutCounts(TypedDict):
    pad: int  # bytes of environment padding
    instructions_per_op: float | None
    per_round: list[float]  # per op
    error: str | None


class CaseResult(TypedDict):
    instructions_per_op: float | None  # median over layouts
    spread: float | None  # (max - min) / median over layouts, relative
    round_spread: float | None  # largest (max - min) / median of one layout's rounds
    rounds_agree: bool  # every layout's rounds within round_tolerance of each other
    per_round: list[float]  # every counted round, per op, layouts in order
    layouts: list[LayoutCounts]
    valgrind: str | None
    python_build: str
    error: str | None


def relative_range(values: list[float]) -> float | None:
    """(max - min) / median, or None for no values."""
    if not values:
        return None
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


def summarize(layouts: list[LayoutCounts], *, valgrind: str | None, python_build: str,
              round_tolerance: float = 0.005) -> CaseResult:
    """The case's result; an error when no layout produced counts."""
    good = [layout for layout in layouts if layout["instructions_per_op"] is not None]
    values = [layout["instructions_per_op"] for layout in good]
    values_f = [v for v in values if v is not None]
    round_spreads = [relative_range(layout["per_round"]) or 0.0 for layout in good]
    errors = sorted({layout["error"] for layout in layouts if layout["error"]})
    return CaseResult(
        instructions_per_op=statistics.median(values_f) if values_f else None,
        spread=relative_range(values_f),
        round_spread=max(round_spreads) if round_spreads else None,
        rounds_agree=bool(good) and all(s <= round_tolerance for s in round_spreads),
        per_round=[v for layout in layouts for v in layout["per_round"]],
        layouts=layouts,
        valgrind=valgrind,
        python_build=python_build,
        error="; ".join(errors) if errors and not values_f else (errors[0] if errors else None),
    )


def layout_counts(pad: int, per_round: list[int], ops_per_round: int,
                  error: str | None) -> LayoutCounts:
    """One layout's rounds, per op."""
    per_op = [count / ops_per_round for count in per_round]
    return LayoutCounts(pad=pad, per_round=per_op, error=error,
                        instructions_per_op=statistics.median(per_op) if per_op else None)
