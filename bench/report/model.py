"""What the report shows, computed from results documents (never from a database)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.judge import decisions
from bench.results import file as results
from bench.results.records import (
    CaseRecord,
    ComparisonRecord,
    RunRecord,
    params_text,
    rtt_of,
    rtt_text,
)


@dataclass
class Run:
    """One results file, with the names the page gives it."""

    path: Path
    doc: RunRecord
    label: str = ""  # unique among the page's runs: the file's label, numbered if repeated
    column: str = ""  # short name for table columns and legends: the driver, when unique
    # One driver's part of a run of several (its cases measured in the same blocks as the
    # other drivers' of that file): the file's run_id; None: a run of one driver.
    paired_in: str | None = None

    @property
    def driver(self) -> str:
        return str(self.doc["config"].get("driver", "?"))

    @property
    def sync(self) -> bool:
        """A synchronous baseline driver (psycopg-sync, pymysql, sqlite3)."""
        return bool(self.doc["config"].get("sync"))

    @property
    def short_name(self) -> str:
        """The driver, plus the event loop when it is not asyncio."""
        loop = self.doc["config"].get("event_loop") or "asyncio"
        return self.driver if loop == "asyncio" else f"{self.driver} ({loop})"

    def comparisons(self, family: str) -> list[ComparisonRecord]:
        """The decisions the family declared when this run was made."""
        meta = self.doc["families"].get(family)
        return list(meta.get("comparisons") or []) if meta else []

    def sweeps(self, family: str) -> list[str]:
        """The parameters the family's question needs several values of."""
        meta = self.doc["families"].get(family)
        return list(meta.get("sweeps") or []) if meta else []


@dataclass
class Group:
    """The cases of one family at one parameter point (and RTT, with --rtt), on one run.
    Cases at two RTTs are never one group: the RTT is part of a case's identity."""

    family: str
    params: dict[str, Any]
    run: Run
    cases: list[CaseRecord] = field(default_factory=list)
    rtt_ms: float | None = None  # the --rtt pass the cases were measured in; None: direct

    @property
    def params_text(self) -> str:
        """The point as the page names it, its RTT included: `parents=100 rtt=1ms`."""
        text = params_text(self.params)
        return text if self.rtt_ms is None else f"{text} {rtt_text(self.rtt_ms)}"

    def ok_cases(self) -> list[CaseRecord]:
        return [c for c in self.cases if c["status"] == "ok" and c["stats"]]

    def case(self, variant: str) -> CaseRecord | None:
        return next((c for c in self.cases if c["variant"] == variant), None)


@dataclass
class FamilyView:
    name: str
    question: str
    unit: str
    # the parameter that counts processes (the family declares it): not a sweep axis
    processes_param: str | None = None
    groups: list[Group] = field(default_factory=list)

    def groups_of(self, run: Run) -> list[Group]:
        return [g for g in self.groups if g.run is run]

    def variants(self) -> list[str]:
        """Every variant name of the family, in the order first seen."""
        return list(dict.fromkeys(c["variant"] for g in self.groups for c in g.cases))

    def rtts(self) -> list[float | None]:
        """The RTTs the family was measured at, in the order first seen (None: direct)."""
        return list(dict.fromkeys(g.rtt_ms for g in self.groups))


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def varying_params(groups: list[Group]) -> set[str]:
    """The parameters that take two values or more among the groups: only these tell
    two lines of a chart apart (a constant pool_timeout=5.0 in every legend says nothing)."""
    return decisions.varying_params(groups)


def load_runs(paths: Sequence[Path]) -> list[Run]:
    """A Run per results file, and per driver of a file of several drivers (each such
    Run reads as a run of one driver, so every section shows it as one)."""
    runs = [run for p in paths for run in split_drivers(Run(Path(p), results.load_any(p)))]
    name_runs(runs)
    return runs


def split_drivers(run: Run) -> list[Run]:
    """A run of several drivers as one Run per driver (its cases, its driver in config);
    a run of one driver as itself."""
    drivers = run.doc["config"].get("drivers") or []
    if not drivers:
        return [run]
    out = []
    for entry in drivers:
        label = entry["label"]
        cases = [c for c in run.doc["cases"] if c.get("driver") == label]
        if not cases:
            continue
        doc = dict(run.doc)
        doc["config"] = {**run.doc["config"], "driver": label,
                         "backend": entry.get("backend", ""), "sync": bool(entry.get("sync"))}
        doc["label"] = f"{label} · {run.doc.get('label', '')}".strip(" ·")
        doc["cases"] = cases
        out.append(Run(run.path, doc, paired_in=run.doc["run_id"]))  # type: ignore[arg-type]
    return out


def name_runs(runs: list[Run]) -> None:
    """Give every run a unique label (two runs of one driver are two columns, never one)
    and a short column name: the driver when no other run has it, else the label."""
    seen: Counter[str] = Counter()
    for run in runs:
        base = run.doc.get("label") or f"{run.driver} {run.doc.get('created_at', '')}".strip()
        seen[base] += 1
        run.label = base if seen[base] == 1 else f"{base} ({seen[base]})"
    shorts = Counter(run.short_name for run in runs)
    for run in runs:
        run.column = run.short_name if shorts[run.short_name] == 1 else run.label


def family_views(runs: list[Run]) -> list[FamilyView]:
    """Families in the order first seen, each with its parameter groups per run."""
    views: dict[str, FamilyView] = {}
    for run in runs:
        families_meta = run.doc["families"]
        groups: dict[tuple[str, str, float | None], Group] = {}
        for case in run.doc["cases"]:
            name = case["scenario"]
            meta = families_meta.get(name)
            question = meta.get("question", "") if meta else ""
            view = views.setdefault(
                name, FamilyView(name=name, question=question, unit=case.get("unit") or "",
                                 processes_param=meta.get("processes_param") if meta else None)
            )
            view.question = view.question or question
            key = (name, params_key(case["params"]), rtt_of(case))
            if key not in groups:
                groups[key] = Group(name, case["params"], run, rtt_ms=rtt_of(case))
                view.groups.append(groups[key])
            groups[key].cases.append(case)
    return list(views.values())
