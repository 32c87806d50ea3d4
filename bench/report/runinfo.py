"""What each run was measured on, as the page lists it: only what the file knows.

A file converted from pytest-benchmark JSON knows no URL, warmup or memory, say: those
rows are left out rather than shown as `None` or `?`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.measure.machine import speed_of_runs
from bench.report.environment_table import environment_rows
from bench.report.model import Run
from bench.results.units import fmt_bytes


def _known(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p not in (None, "", "?")).strip()


def _profile(config: dict[str, Any]) -> str:
    profile = config.get("profile")
    warmup, rounds = config.get("warmup"), config.get("rounds")
    if warmup is None or rounds is None:
        return _known(profile)
    return f"{_known(profile)}: {warmup} warmup + {rounds} timed rounds per case".lstrip(": ")


def _driver(name: str | None, versions: dict[str, str | None]) -> str:
    """The run's driver with its version; every driver's version when it ran several."""
    if name in versions:
        return _known(name, versions[name])
    return _known(*(f"{k} {v}" for k, v in versions.items() if v)) or _known(name)


def _machine_speed(run: Run) -> str | None:
    """The speed probe over the run's blocks (bench.measure.machine), where the file has it."""
    speed = speed_of_runs([run.doc])
    if speed is None:
        return None
    return (f"Python probe {speed.median / 1e6:.2f} ms per block (p10–p90 "
            f"{speed.low / 1e6:.2f}–{speed.high / 1e6:.2f} ms, {speed.swing:.2f}× apart)")


def rows(run: Run) -> list[tuple[str, str]]:
    env: dict[str, Any] = dict(run.doc.get("environment") or {})
    config: dict[str, Any] = dict(run.doc.get("config") or {})
    server = env.get("server") or {}
    versions = env.get("driver_versions") or {}
    cpu = _known(env.get("cpu_model"))
    if env.get("cpu_count"):
        cpu = _known(cpu + ",", f"{env['cpu_count']} cores") if cpu else f"{env['cpu_count']} cores"
    python = _known(env.get("python"))
    if python and env.get("implementation"):
        python += f" ({env['implementation']})"
    candidates = [
        ("results file", run.path.name),
        ("date", run.doc.get("created_at")),
        ("driver", _driver(config.get("driver"), versions)),
        ("database", _known(server.get("product"), server.get("version"))),
        ("URL", config.get("url")),
        ("profile", _profile(config)),
        ("schedule", config.get("schedule")),
        ("machine speed", _machine_speed(run)),
        ("Python", python),
        ("SQLAlchemy", env.get("sqlalchemy")),
        ("event loop", env.get("event_loop")),
        ("CPU", cpu),
        ("memory", fmt_bytes(env["memory_total"]) if env.get("memory_total") else None),
        ("platform", env.get("platform")),
        ("git commit", env.get("git_commit")),
        ("status", run.doc.get("run_status")),
        *environment_rows(dict(run.doc)),  # server settings, machine load, the --rtt proxy
    ]
    return [(name, str(value)) for name, value in candidates if value not in (None, "", "?")]


def context(run: Run) -> dict[str, Any]:
    counts = Counter(case["status"] for case in run.doc["cases"])
    return {"label": run.label, "rows": rows(run), "counts": dict(counts),
            "total": len(run.doc["cases"]), "warnings": run.doc.get("warnings") or []}
