"""pytest-benchmark JSON → a sqla-bench results document, so CI output gets the same report.

One benchmark becomes one case: its group is the scenario, and for the suite in
tests/benchmarks the extra_info names the variant, parameters and driver. Several
drivers in one file are told apart by a `driver` parameter, so each driver is its
own parameter point within a scenario (and raw_driver ratios stay per driver).
The rounds themselves are needed (stats.data): `--benchmark-json` always writes
them; saved runs (.benchmarks/) only with `--benchmark-save-data`.
"""

from __future__ import annotations

from typing import Any

from bench.results import stats
from bench.results.records import CaseRecord, new_case
from bench.results.schema import SCHEMA_VERSION, ResultsFileError

UNGROUPED = "pytest-benchmark"


def convert(data: dict[str, Any], source: str = "the pytest-benchmark file") -> dict[str, Any]:
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, list) or not benchmarks:
        raise ResultsFileError(f"{source} holds no benchmarks")
    if not all(isinstance(b, dict) for b in benchmarks):
        raise ResultsFileError(f"{source} is malformed: a benchmark is not an object")
    drivers = {_info(b).get("driver") for b in benchmarks}
    cases = [_case(b, several_drivers=len(drivers) > 1, source=source) for b in benchmarks]
    machine = data.get("machine_info") or {}
    commit = data.get("commit_info") or {}
    only_driver = next(iter(drivers)) if len(drivers) == 1 else None
    return {
        "schema_version": SCHEMA_VERSION,
        "tool_version": f"pytest-benchmark {data.get('version', '?')}",
        "run_id": f"pytest-benchmark-{data.get('datetime', '')}",
        "label": f"pytest-benchmark {data.get('datetime', '')}".strip(),
        "created_at": str(data.get("datetime", "")),
        "run_status": "complete",
        "environment": {
            "python": machine.get("python_version"),
            "implementation": machine.get("python_implementation"),
            "platform": machine.get("system"),
            "cpu_model": (machine.get("cpu") or {}).get("brand_raw"),
            "cpu_count": (machine.get("cpu") or {}).get("count"),
            "memory_total": None,
            "sqlalchemy": machine.get("sqlalchemy"),
            "driver_versions": machine.get("sqla_bench_drivers") or {},
            "server": _server(machine, only_driver, benchmarks),
            "event_loop": machine.get("sqla_bench_loop"),
            "git_commit": commit.get("id"),
        },
        "config": {
            "driver": only_driver or "several",
            "url": None,
            "profile": "pytest-benchmark",
            "warmup": None,
            "rounds": None,
            "seed": None,
            "schedule": "interleaved",
            "scenario_filter": sorted({c["scenario"] for c in cases}),
        },
        "families": {},
        "cases": cases,
    }


def _info(bench: dict[str, Any]) -> dict[str, Any]:
    info = bench.get("extra_info")
    return info if isinstance(info, dict) else {}


def _case(bench: dict[str, Any], several_drivers: bool, source: str) -> CaseRecord:
    info = _info(bench)
    raw = (bench.get("stats") or {}).get("data")
    if not raw:
        raise ResultsFileError(
            f"benchmark {bench.get('name')!r} in {source} was saved without its rounds: use "
            "the --benchmark-json output, or save with --benchmark-save-data"
        )
    if not all(isinstance(s, (int, float)) and not isinstance(s, bool) and s >= 0 for s in raw):
        raise ResultsFileError(f"benchmark {bench.get('name')!r} in {source} has "
                                       "rounds that are not durations")
    params = dict(info.get("params") or bench.get("params") or {})
    if several_drivers and info.get("driver"):
        params["driver"] = info["driver"]
    ops = int(info.get("ops_per_round") or 1)
    case = new_case(
        str(info.get("scenario") or bench.get("group") or UNGROUPED),
        str(info.get("variant") or bench.get("name", "?")),
        params,
        unit=str(info.get("unit") or "calls"),
        ops_per_round=max(1, ops),
        driver=str(info.get("driver") or "?"),
    )
    samples = [round(seconds * 1e9) for seconds in raw]
    summary = stats.summarize(samples)
    case["status"] = "ok"
    case["samples_ns"] = samples
    case["stats"] = summary
    case["unstable"] = stats.is_unstable(summary["cv"])
    if summary["median"] > 0:
        case["throughput_per_s"] = case["ops_per_round"] / (summary["median"] / 1e9)
    # What sqla-bench's plug-in recorded beside the rounds: counts, blocks, paired ratio.
    for key in ("statements_per_op", "calls_per_op", "cpu_share", "reference", "paired",
                "instructions_per_op", "instructions", "plan_fingerprint"):
        if info.get(key) is not None:
            case[key] = info[key]
    for key in ("blocks", "machine_ns"):  # per-sample lists, kept when they match the rounds
        values = info.get(key)
        if isinstance(values, list) and len(values) == len(samples):
            case[key] = values  # type: ignore[literal-required]
    case["extra"].update(info.get("extra") or {})
    case["extra"]["pytest_name"] = bench.get("fullname") or bench.get("name")
    return case


def _server(machine: dict[str, Any], driver: str | None,
            benchmarks: list[dict[str, Any]]) -> dict[str, Any]:
    """The server, when every benchmark of the one driver met the same one."""
    if driver is None:
        return {}
    servers = [_info(b).get("server") for b in benchmarks]
    first = servers[0] if servers and isinstance(servers[0], dict) else {}
    return first if all(s == first for s in servers) else {}
