"""One sentence per scenario family: what the numbers say, at one parameter point."""

from __future__ import annotations

from typing import Any

from bench.report.model import FamilyView, Group, Run, per_op

# The comparison each family exists to make: (baseline, contender).
PREFERRED_PAIRS = {
    "loading": ("lazy_n_plus_1", "selectinload"),
    "bulk_insert": ("orm_add_all", "core_executemany"),
    "raw_queries": ("raw_driver", "orm_select"),
    "crud": ("add_commit_refresh", "insert_returning"),
    "caches": ("cache_off", "cache_on"),
    "fastapi_service": ("lazy_n_plus_1", "selectinload"),
    "concurrent_sessions": ("sequential", "gather_N"),
}

# The parameter point a family's headline is read at, when the run has it.
PREFERRED_POINTS: dict[str, dict[str, Any]] = {
    "loading": {"parents": 100, "children": 10},
    "raw_queries": {"query": "pk_lookup"},
}


def representative_group(view: FamilyView, run: Run) -> Group | None:
    groups = [g for g in view.groups if g.run is run and len(g.ok_cases()) >= 2]
    if not groups:
        return None
    wanted = PREFERRED_POINTS.get(view.name, {})
    for group in groups:
        if wanted and all(group.params.get(k) == v for k, v in wanted.items()):
            return group
    return groups[0]


def _statements(case: dict[str, Any]) -> str:
    value = case.get("statements_per_op")
    return "?" if value is None else f"{value:g}"


def finding(view: FamilyView, run: Run) -> str:
    failed = [
        c for g in view.groups if g.run is run for c in g.cases if c["status"] in ("error", "wrong")
    ]
    tail = f" — {len(failed)} case(s) failed or returned wrong data" if failed else ""
    group = representative_group(view, run)
    if group is None:
        return f"{view.name}: no two variants completed at one parameter point{tail}."
    cases = {c["variant"]: c for c in group.ok_cases()}
    pair = PREFERRED_PAIRS.get(view.name)
    if pair and pair[0] in cases and pair[1] in cases:
        first, second = cases[pair[0]], cases[pair[1]]
    else:
        ordered = sorted(cases.values(), key=per_op)
        first, second = ordered[-1], ordered[0]  # slowest, fastest
    a, b = per_op(first), per_op(second)
    if a >= b:
        faster, slower, ratio = second, first, a / b if b else float("inf")
    else:
        faster, slower, ratio = first, second, b / a if a else float("inf")
    statements = ""
    if faster.get("statements_per_op") != slower.get("statements_per_op"):
        statements = f" ({_statements(faster)} vs {_statements(slower)} statements per op)"
    return (
        f"{faster['variant']} is {ratio:.1f}× faster than {slower['variant']} at "
        f"{group.params_text}{statements}{tail}."
    )
