"""How numbers are shown to people: durations, rates and sizes, three significant digits.

One place for it, so the terminal table, the progress lines, compare and the report
print the same figure the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MISSING = "–"


def duration_unit(ns: float) -> tuple[float, str]:
    """The divisor and label (s, ms, µs or ns) that keep `ns` readable."""
    for limit, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= limit:
            return limit, unit
    return 1.0, "ns"


def fmt_duration(ns: float | None) -> str:
    """Nanoseconds as ns, µs, ms or s."""
    if ns is None:
        return MISSING
    divisor, unit = duration_unit(ns)
    return f"{ns / divisor:.3g} {unit}"


def fmt_rate(per_s: float | None) -> str:
    if per_s is None:
        return MISSING
    if per_s >= 1e6:
        return f"{per_s / 1e6:.3g}M/s"
    if per_s >= 1e3:
        return f"{per_s / 1e3:.3g}k/s"
    return f"{per_s:.3g}/s"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return MISSING
    for limit, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= limit:
            return f"{value / limit:.3g} {unit}"
    return f"{value:.0f} B"


def fmt_count(value: float | None) -> str:
    """A count per operation: whole when it is (101, 1,461), else three significant
    digits (0.333, 0.0002)."""
    if value is None:
        return MISSING
    if float(value).is_integer() or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_paired(paired: Mapping[str, Any] | None) -> str:
    """A paired ratio with its 95% interval: `5.32× (5.16–5.55)`."""
    if not paired:
        return MISSING
    return f"{paired['median']:.2f}× ({paired['ci95_low']:.2f}–{paired['ci95_high']:.2f})"


def ratio_cell(case: Mapping[str, Any], reference: str = "reference") -> str:
    """A case's ratio column: its paired ratio, `reference` for the point's reference."""
    if case.get("paired"):
        return fmt_paired(case["paired"])
    if case.get("reference") == case.get("variant") and case.get("status") == "ok":
        return reference
    return MISSING
