"""The plug-in's table at the end of a pytest session: per driver, each function benchmark's
statements and Python calls per round and its paired ratio to its reference.

pytest-benchmark's own table shows times; these are the figures the compare gate judges
(counts are the same on a busy machine and a quiet one; the ratio pairs rounds of the same
block), so they are shown beside it rather than only in the JSON.
"""

from __future__ import annotations

from typing import Any

from bench.results.units import MISSING, fmt_count, fmt_paired

HEADERS = ("benchmark", "statements/round", "Python calls/round", "vs reference")


def _ratio(row: dict[str, Any]) -> str:
    paired = row.get("paired")
    return f"{fmt_paired(paired)} of {paired['reference']}" if paired else MISSING


def _title(driver: str, rows: list[dict[str, Any]]) -> str:
    server = rows[0].get("server") or {}
    if not server:
        return driver
    return f"{driver} on {server.get('product', '?')} {server.get('version', '?')}"


def counts_table(rows: list[dict[str, Any]]) -> list[str]:
    """Lines of the table: a block per driver, in the order the benchmarks ran."""
    by_driver: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_driver.setdefault(row.get("driver") or "(no engine watched)", []).append(row)
    lines: list[str] = []
    for driver, group in by_driver.items():
        cells = [HEADERS] + [
            (row["name"], fmt_count((row.get("extra") or {}).get("statements_per_round")),
             fmt_count(row.get("calls_per_op")), _ratio(row))
            for row in group
        ]
        widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
        lines.append(_title(driver, group))
        for c in cells:
            lines.append("  " + "  ".join([c[0].ljust(widths[0]), c[1].rjust(widths[1]),
                                           c[2].rjust(widths[2]), c[3]]).rstrip())
    return lines
