"""Query plans (`run --explain`) as the report shows them: compact text, scans called out."""

from __future__ import annotations

import json
from typing import Any

from bench.results.records import PlanRecord, ScanRecord

MAX_PLAN_CHARS = 6_000  # a plan longer than this is cut: the results file has all of it


def scan_text(scan: ScanRecord) -> str:
    rows = "" if scan.get("rows") is None else f": {scan['rows']:,} rows read"
    kept = scan.get("kept")
    return f"full scan of {scan['table']}{rows}" + ("" if kept is None else f", {kept:,} kept")


def plan_text(record: PlanRecord) -> str:
    plan = record["plan"]
    if plan is None:
        return ""
    if isinstance(plan, list) and all(isinstance(line, str) for line in plan):
        text = "\n".join(plan)  # SQLite: the steps, indented
    elif isinstance(plan, list) and plan and isinstance(plan[0], dict) and "Plan" in plan[0]:
        text = "\n".join(_postgres(plan[0]))
    else:
        text = json.dumps(plan, indent=1)  # MySQL/MariaDB: its JSON as is
    return text if len(text) <= MAX_PLAN_CHARS else text[:MAX_PLAN_CHARS] + "\n…"


def _postgres(top: dict[str, Any]) -> list[str]:
    """PostgreSQL's JSON plan as a tree of one line per node, as EXPLAIN ANALYZE prints."""
    lines: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        head = node.get("Node Type", "?")
        if node.get("Relation Name"):
            head += f" on {node['Relation Name']}"
        if node.get("Index Name"):
            head += f" using {node['Index Name']}"
        facts = [f"{label} {node[key]:,}" if isinstance(node[key], int) else
                 f"{label} {node[key]}"
                 for key, label in (("Actual Rows", "rows"), ("Actual Loops", "loops"),
                                    ("Rows Removed by Filter", "removed by filter"),
                                    ("Plan Rows", "planned rows"))
                 if key in node and not (key == "Plan Rows" and "Actual Rows" in node)]
        lines.append("  " * depth + ("-> " if depth else "") + head
                     + (f"  ({', '.join(facts)})" if facts else ""))
        for key in ("Index Cond", "Filter", "Hash Cond", "Sort Key"):
            if key in node:
                lines.append("  " * depth + f"     {key}: {node[key]}")
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(top["Plan"], 0)
    for key in ("Planning Time", "Execution Time"):
        if key in top:
            lines.append(f"{key}: {top[key]:.3f} ms")
    return lines
