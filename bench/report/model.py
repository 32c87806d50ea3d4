"""What the report shows, computed from results documents (never from a database)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bench import results
from bench.records import rtt_of, rtt_text

RAW = "raw_driver"


@dataclass
class Run:
    """One results file."""

    path: Path
    doc: dict[str, Any]

    @property
    def driver(self) -> str:
        return str(self.doc["config"].get("driver", "?"))

    @property
    def label(self) -> str:
        """How this run is named in comparisons: driver, plus the loop when it is not asyncio."""
        loop = self.doc["config"].get("event_loop", "asyncio")
        return self.driver if loop == "asyncio" else f"{self.driver} ({loop})"


@dataclass
class Group:
    """The cases of one family at one parameter point (and RTT, with --rtt), on one run."""

    family: str
    params: dict[str, Any]
    run: Run
    cases: list[dict[str, Any]] = field(default_factory=list)
    rtt_ms: float | None = None  # the --rtt pass the cases were measured in; None: direct

    @property
    def params_text(self) -> str:
        text = params_text(self.params)
        return text if self.rtt_ms is None else f"{text} {rtt_text(self.rtt_ms)}"

    def ok_cases(self) -> list[dict[str, Any]]:
        return [c for c in self.cases if c["status"] == "ok" and c.get("stats")]


@dataclass
class FamilyView:
    name: str
    question: str
    unit: str
    groups: list[Group] = field(default_factory=list)

    def cases(self) -> list[dict[str, Any]]:
        return [c for g in self.groups for c in g.cases]


def params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "(no parameters)"


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def per_op(case: dict[str, Any], field_name: str = "median") -> float:
    return case["stats"][field_name] / max(1, case["ops_per_round"])


def load_runs(paths: list[Path]) -> list[Run]:
    return [Run(Path(p), cast(dict[str, Any], results.load_any(p))) for p in paths]


def family_views(runs: list[Run]) -> list[FamilyView]:
    """Families in the order first seen, each with its parameter groups per run."""
    views: dict[str, FamilyView] = {}
    for run in runs:
        families_meta = run.doc.get("families", {})
        groups: dict[tuple[str, str, float | None], Group] = {}
        for case in run.doc["cases"]:
            name = case["scenario"]
            meta = families_meta.get(name, {})
            view = views.setdefault(
                name,
                FamilyView(
                    name=name, question=meta.get("question", ""), unit=case.get("unit") or ""
                ),
            )
            key = (name, params_key(case["params"]), rtt_of(case))
            if key not in groups:
                groups[key] = Group(name, case["params"], run, rtt_ms=rtt_of(case))
                view.groups.append(groups[key])
            groups[key].cases.append(case)
    return list(views.values())
