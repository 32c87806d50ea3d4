"""A query plan's shape, and a fingerprint of it that any machine reproduces.

Costs, row estimates and timings in a plan move with the machine and the statistics;
the steps do not: which node types run, on which tables, through which indexes. A
case's fingerprint is a short hash of the ordered (node type, relation, index) steps of
the plans of every statement it sent (`run --explain`), so a lost index (an Index Scan
becoming a Seq Scan) or a new full scan changes it on any machine.
- PostgreSQL (EXPLAIN JSON): each node's "Node Type", "Relation Name", "Index Name";
- MySQL/MariaDB (EXPLAIN FORMAT=JSON): each table's access_type, table_name, key;
- SQLite (EXPLAIN QUERY PLAN): each step's text with numbers and literals masked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bench.results.records import PlanRecord

Step = tuple[str, str, str]
SQLITE = "(sqlite)"  # the relation of a SQLite step: its text names the table itself


def plan_steps(plan: Any) -> list[Step]:
    """The ordered (node type, relation, index) steps of one statement's plan."""
    if isinstance(plan, list) and all(isinstance(line, str) for line in plan):
        return [(_masked(line.strip()), SQLITE, "") for line in plan]  # SQLite's lines
    steps: list[Step] = []
    for node in plan_nodes(plan):
        if "Node Type" in node:  # PostgreSQL
            steps.append((str(node["Node Type"]), str(node.get("Relation Name") or ""),
                          str(node.get("Index Name") or "")))
        elif "access_type" in node:  # MySQL / MariaDB
            steps.append((str(node["access_type"]), str(node.get("table_name") or ""),
                          str(node.get("key") or "")))
    return steps


def case_steps(plans: Sequence[PlanRecord]) -> list[list[Step]]:
    """Each planned statement's scans (the steps that read a table or an index), in the
    order the case first sent them. Steps on no table (a join's node type, MariaDB's
    table-less entries) are left out: on the small tables of a counted run the optimizer
    picks between them from run to run, and a verdict must name what changed."""
    scans = ([step for step in plan_steps(p.get("plan")) if step[1] or step[2]]
             for p in plans if p.get("plan") is not None)
    return [steps for steps in scans if steps]  # a statement that reads no table: no scan


def fingerprint(plans: Sequence[PlanRecord] | None) -> str | None:
    """A stable hash of a case's plans' steps; None when it has no plan to judge."""
    if not plans:
        return None
    steps = case_steps(plans)
    if not any(steps):
        return None
    text = json.dumps(steps, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def steps_text(plans: Sequence[PlanRecord] | None) -> str:
    """The steps in a line, for a verdict: `Index Scan sqlab_users (sqlab_users_pkey)`."""
    parts = []
    for statement in case_steps(plans or []):
        for kind, relation, index in statement:
            if relation == SQLITE:
                parts.append(kind)
            elif relation or index:
                parts.append(f"{kind} {relation}{f' ({index})' if index else ''}".strip())
    return ", ".join(parts) or "no scans"


def _masked(line: str) -> str:
    return re.sub(r"\d+", "N", line)


def plan_nodes(tree: Any, children: str | None = None) -> Iterable[dict[str, Any]]:
    """Every mapping in a JSON plan, depth first in document order: with `children`, only
    down PostgreSQL's node tree ("Plan", then `children`: "Plans"); without, every mapping
    (MySQL's tables sit at any depth)."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield item
            if children is None:
                stack.extend(reversed(list(item.values())))
            else:
                stack.extend(reversed([item[k] for k in ("Plan", children) if k in item]))
