"""The plan of a run: which parameter points, and which variants at each.

A point is one family at one parameter combination of the profile (with `--param`
overrides). At a point, a variant is planned when it is written for that point's
parameter values (`only=`); points it is not written for do not mention it. A variant
the point wants but the driver cannot run (a missing capability, `needs=`) is planned
as skipped, with the reason, so the results say why it is absent. So is a point that
asks for more processes (pool_sizing's app_processes) than the run has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.api.family import Family, Variant
from bench.db.drivers import Driver


@dataclass
class Point:
    family: Family
    params: dict[str, Any]
    variants: list[Variant]  # to run, in the family's declaration order
    skipped: list[tuple[Variant, str]] = field(default_factory=list)  # (variant, why)

    @property
    def reference(self) -> str | None:
        return self.family.reference_among(v.name for v in self.variants)


def plan(families: list[Family], driver: Driver, profile: str,
         overrides: Mapping[str, Mapping[str, list[Any]]] | None = None,
         variant_filter: list[str] | None = None, processes: int = 1) -> list[Point]:
    """`processes`: the load processes the run has (its Dask workers; 1 in-process)."""
    points = []
    for family in families:
        for params in family.grid(profile, (overrides or {}).get(family.name)):
            point = point_for(family, driver, params, variant_filter, processes)
            if point.variants or point.skipped:
                points.append(point)
    return points


def point_for(family: Family, driver: Driver, params: dict[str, Any],
              variant_filter: list[str] | None = None, processes: int = 1) -> Point:
    """The variants of one family the driver runs at these parameter values. With a
    filter, the point's reference runs too: a variant is read through its paired ratio."""
    point = Point(family, dict(params), [])
    runnable = [name for name, v in family.variants_for(driver).items()
                if v.takes(params) and v.lacking(driver) is None]
    wanted = None if variant_filter is None else set(variant_filter)
    reference = family.reference_among(runnable)
    if wanted is not None and reference is not None and wanted & set(runnable):
        wanted.add(reference)
    needed = family.processes_at(params)
    too_few = None
    if needed is not None and needed > processes:
        too_few = (f"{family.processes_param}={needed} needs {needed} load processes and the "
                   f"run has {processes}: run with --processes {needed} or a --cluster of "
                   f"{needed} workers")
    for name, variant in family.variants_for(driver).items():
        if (wanted is not None and name not in wanted) or not variant.takes(params):
            continue
        reason = too_few or variant.lacking(driver)
        if reason is None:
            point.variants.append(variant)
        else:
            point.skipped.append((variant, reason))
    return point


def case_count(points: list[Point]) -> int:
    return sum(len(p.variants) for p in points)


def refusal(points: Sequence[Point], flags: str, families: Iterable[Family]) -> str | None:
    """Why the chosen points cannot run with `flags` (--processes/--cluster/--rate), or
    None: only families that measure what a service sustains spread their load (the
    `families` known to the run are named as the ones to choose)."""
    fixed = sorted({p.family.name for p in points if not p.family.scales_at(p.params)})
    if not fixed:
        return None
    scaling = sorted({p.family.name for p in points if p.family.scales_at(p.params)})
    return (f"{', '.join(fixed)} measure{'s' if len(fixed) == 1 else ''} a cost per operation: "
            f"it runs in one quiet process (more load processes only add noise), so {flags} "
            "does not apply; choose scenarios that measure throughput with --scenario "
            f"({_scaling_names(families)})"
            + (f"; chosen here: {', '.join(scaling)}" if scaling else ""))


def _scaling_names(families: Iterable[Family]) -> str:
    """`concurrent_sessions, pool_sizing; raw_queries at some parameters`."""
    always = [f.name for f in families if f.scales is True]
    sometimes = [f"{f.name} with --param {f.scales_when}" if f.scales_when
                 else f"{f.name} at some parameters" for f in families if callable(f.scales)]
    return "; ".join([", ".join(always), *sometimes])
