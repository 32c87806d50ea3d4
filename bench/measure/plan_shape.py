"""A query plan's shape, and a fingerprint of it that any machine reproduces.

Costs, row estimates and timings in a plan move with the machine and the statistics;
the steps do not: which node types run, on which tables, through which indexes. A
case's scans are the distinct (node type, relation, index) step lists of the plans of the
statements it sent (`run --explain`), sorted, so the order in which concurrent sessions
first sent them does not matter; its fingerprint is a short hash of them. A lost index
(an Index Scan becoming a Seq Scan) or a new full scan changes both on any machine.
- PostgreSQL (EXPLAIN JSON): each node's "Node Type", "Relation Name", "Index Name";
- MySQL/MariaDB (EXPLAIN FORMAT=JSON): each table's access_type, table_name, key;
- SQLite (EXPLAIN QUERY PLAN): each step's text with numbers and literals masked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
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


Scans = list[list[Step]]


def case_scans(plans: Sequence[PlanRecord] | None) -> Scans:
    """The case's distinct statement scans, sorted: what its fingerprint hashes and what
    a results file keeps (`plan_scans`) so a verdict can name the change."""
    return [list(steps) for steps in sorted({tuple(steps) for steps in case_steps(plans or [])})]


def scans_fingerprint(scans: Scans) -> str | None:
    """A stable hash of a case's scans; None when it has none to judge."""
    if not scans:
        return None
    text = json.dumps([[list(step) for step in steps] for steps in scans],
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(plans: Sequence[PlanRecord] | None) -> str | None:
    """A stable hash of a case's plans' scans; None when it has no plan to judge."""
    return scans_fingerprint(case_scans(plans))


def recorded_scans(record: Mapping[str, Any]) -> Scans | None:
    """A case record's scans: kept as `plan_scans` (pytest's extra_info keeps no plans),
    else derived from its plans; None when neither was recorded."""
    if record.get("plan_scans") is not None:
        return [[(str(k), str(r), str(i)) for k, r, i in steps] for steps in record["plan_scans"]]
    if record.get("plans"):
        return case_scans(record["plans"])
    return None


def recorded_fingerprint(record: Mapping[str, Any]) -> str | None:
    """A case record's fingerprint: from its scans where it kept them (so fingerprints
    made before scans were sorted still compare), else as recorded."""
    scans = recorded_scans(record)
    return scans_fingerprint(scans) if scans is not None else record.get("plan_fingerprint")


def steps_text(scans: Scans) -> str:
    """Scans in a line, for a verdict: `Index Scan sqlab_users (sqlab_users_pkey)`."""
    parts = []
    for statement in scans:
        for kind, relation, index in statement:
            if relation == SQLITE:
                parts.append(kind)
            elif relation or index:
                parts.append(f"{kind} {relation}{f' ({index})' if index else ''}".strip())
    return ", ".join(parts) or "no scans"


def change_text(base: Scans | None, new: Scans | None) -> str:
    """What changed between two cases' scans: only the statements whose scans differ, or
    the fingerprints' own words when a side kept no scans (an older results file)."""
    if base is None or new is None:
        return "plan fingerprint differs (scans not recorded)"
    lost = [steps for steps in base if steps not in new]
    gained = [steps for steps in new if steps not in base]
    return f"{steps_text(lost)} → {steps_text(gained)}"


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
