"""Families measured at several RTTs in one run (`--rtt 0,1ms,2ms`): what the report
draws and says about them.

A sweep is one parameter point of a family measured in each RTT pass. Across a sweep
the report reads: each variant's time (or throughput) against RTT, the ratio the family
exists to show against RTT (lazy_n_plus_1 over selectinload, paired block by block),
which variant is fastest at each RTT, and, for a family with a pool_size parameter, the
pool size that served most at each RTT. Every sentence names the RTT it holds at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench import stats
from bench.netdelay import LATE_EDGES_US
from bench.records import rtt_text
from bench.report.findings import PREFERRED_PAIRS, PREFERRED_POINTS
from bench.report.model import RAW, FamilyView, Group, Run, params_key, params_text, per_op

# Ratio with its 95% interval; the interval is the point itself when blocks are missing.
Ratio = tuple[float, float, float]
BEST_OF = "pool_size"  # the parameter whose best value per RTT is worth a chart


@dataclass
class RttSweep:
    """One parameter point of a family on one run, measured at two RTTs or more."""

    params: dict[str, Any]
    groups: list[Group]  # one per RTT, in RTT order

    @property
    def params_text(self) -> str:
        return params_text(self.params)

    def rtts(self) -> list[float]:
        return [float(g.rtt_ms or 0) for g in self.groups]


def rtt_sweeps(view: FamilyView, run: Run) -> list[RttSweep]:
    """The family's points measured at several RTTs, the preferred point first."""
    by_point: dict[str, list[Group]] = defaultdict(list)
    for group in view.groups:
        if group.run is run and group.rtt_ms is not None and group.ok_cases():
            by_point[params_key(group.params)].append(group)
    sweeps = [RttSweep(groups[0].params, sorted(groups, key=lambda g: g.rtt_ms or 0.0))
              for groups in by_point.values() if len(groups) >= 2]
    wanted = PREFERRED_POINTS.get(view.name, {})
    sweeps.sort(key=lambda s: not (wanted and all(s.params.get(k) == v
                                                  for k, v in wanted.items())))
    return sweeps


def ratio_pair(view: FamilyView, sweep: RttSweep) -> tuple[str, str] | None:
    """The family's headline pair (slower-expected first), when every RTT has both."""
    pair = PREFERRED_PAIRS.get(view.name)
    if pair is None:
        return None
    for group in sweep.groups:
        names = {c["variant"] for c in group.ok_cases()}
        if not set(pair) <= names:
            return None
    return pair


def pair_ratio(group: Group, first: str, second: str) -> Ratio | None:
    """`first`'s time per op over `second`'s: the median of per-block ratios and its
    bootstrap interval (both ran in the same blocks), else the ratio of medians."""
    cases = {c["variant"]: c for c in group.ok_cases()}
    a, b = cases.get(first), cases.get(second)
    if a is None or b is None:
        return None
    ratios = []
    if a.get("blocks") and b.get("blocks"):
        ratios = stats.block_ratios(a["samples_ns"], a["blocks"], a["ops_per_round"],
                                    b["samples_ns"], b["blocks"], b["ops_per_round"])
    if not ratios:
        plain = per_op(a) / per_op(b)
        return plain, plain, plain
    summary = stats.ratio_summary(ratios)
    return summary["median"], summary["ci95_low"], summary["ci95_high"]


def fastest(group: Group) -> str | None:
    """The fastest variant other than the bare driver (the floor, not a recommendation),
    when there is a choice."""
    cases = [c for c in group.ok_cases() if c["variant"] != RAW]
    return min(cases, key=per_op)["variant"] if len(cases) >= 2 else None


def best_values(view: FamilyView, run: Run, param: str = BEST_OF
                ) -> dict[str, list[tuple[float, Any]]]:
    """Per variant (and the other parameters), the value of `param` with the highest
    throughput at each RTT: {label: [(rtt, best value), ...]}, two RTTs or more."""
    candidates: dict[tuple[str, str, float], list[tuple[float, Any]]] = defaultdict(list)
    for group in view.groups:
        if group.run is not run or group.rtt_ms is None or param not in group.params:
            continue
        rest = params_text({k: v for k, v in group.params.items() if k != param})
        for case in group.ok_cases():
            if case.get("throughput_per_s"):
                candidates[(case["variant"], rest, group.rtt_ms)].append(
                    (case["throughput_per_s"], group.params[param]))
    best: dict[str, list[tuple[float, Any]]] = defaultdict(list)
    for (variant, rest, rtt), found in sorted(candidates.items(), key=lambda item: item[0][2]):
        if len(found) >= 2:  # a best needs a choice
            best[f"{variant} · {rest}"].append((rtt, max(found, key=lambda f: f[0])[1]))
    return {label: points for label, points in best.items() if len(points) >= 2}


def rtt_finding(view: FamilyView, run: Run) -> str | None:
    """One sentence on how the family's answer moves with RTT, naming each RTT."""
    sweeps = rtt_sweeps(view, run)
    if not sweeps:
        return None
    sweep = sweeps[0]
    parts = []
    pair = ratio_pair(view, sweep)
    if pair is not None:
        ratios = [(g.rtt_ms, pair_ratio(g, *pair)) for g in sweep.groups]
        parts.append(f"{pair[0]} / {pair[1]} " + ", ".join(
            f"{r[0]:.1f}× at {rtt_text(rtt)}" for rtt, r in ratios if r is not None))
    winners = _by_value([(g.rtt_ms, fastest(g)) for g in sweep.groups])
    if len(winners) == 1:
        parts.append(f"fastest at every RTT: {winners[0][0]}")
    elif winners:
        parts.append("fastest: " + _listed(winners))
    best = best_values(view, run)
    best_parts = [f"best {BEST_OF} for {label}: {_listed(_by_value(best[label]))}"
                  for label in sorted(best, key=lambda label: label.startswith(RAW))[:2]]
    if not parts and not best_parts:
        return None
    head = f"Across RTT at {sweep.params_text}: " if parts else "Across RTT: "
    return head + "; ".join([*parts, *best_parts]) + "."


def _by_value(items: Sequence[tuple[float | None, Any]]) -> list[tuple[Any, list[str]]]:
    """Consecutive RTTs with the same value together: [(value, ["rtt=0", "rtt=1ms"])]."""
    runs: list[tuple[Any, list[str]]] = []
    for rtt, value in items:
        if value is None:
            continue
        if runs and runs[-1][0] == value:
            runs[-1][1].append(rtt_text(rtt))
        else:
            runs.append((value, [rtt_text(rtt)]))
    return runs


def _listed(runs: list[tuple[Any, list[str]]]) -> str:
    """`selectinload at rtt=0, rtt=0.5ms; joinedload at rtt=1ms`."""
    return "; ".join(f"{value} at {', '.join(where)}" for value, where in runs)


def proxy_note(extra: dict[str, Any]) -> str | None:
    """What the --rtt proxy cost during the case's point, for the case table."""
    proxy = extra.get("proxy")
    if not isinstance(proxy, dict) or proxy.get("cpu_share") is None:
        return None
    late = proxy.get("late_p99_us")
    if not proxy.get("releases"):
        return f"proxy: {proxy['cpu_share']:.0%} CPU"
    precision = f"< {late:g}" if late is not None else f"> {LATE_EDGES_US[-1]}"
    return f"proxy: {proxy['cpu_share']:.0%} CPU, p99 release {precision} µs late"
