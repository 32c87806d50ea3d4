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

from bench import results, stats

UNGROUPED = "pytest-benchmark"


def convert(data: dict[str, Any]) -> dict[str, Any]:
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, list) or not benchmarks:
        raise results.ResultsFileError("the pytest-benchmark file holds no benchmarks")
    drivers = {(b.get("extra_info") or {}).get("driver") for b in benchmarks}
    cases = [_case(b, several_drivers=len(drivers) > 1) for b in benchmarks]
    machine = data.get("machine_info") or {}
    commit = data.get("commit_info") or {}
    only_driver = next(iter(drivers)) if len(drivers) == 1 else None
    return {
        "schema_version": results.SCHEMA_VERSION,
        "tool_version": f"pytest-benchmark {data.get('version', '?')}",
        "run_id": f"pytest-benchmark-{data.get('datetime', '')}",
        "created_at": data.get("datetime", ""),
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
            "scenario_filter": sorted({c["scenario"] for c in cases}),
        },
        "families": {},
        "cases": cases,
    }


def _case(bench: dict[str, Any], several_drivers: bool) -> dict[str, Any]:
    info = bench.get("extra_info") or {}
    raw = (bench.get("stats") or {}).get("data")
    if not raw:
        raise results.ResultsFileError(
            f"benchmark {bench.get('name')!r} was saved without its rounds: use the "
            "--benchmark-json output, or save with --benchmark-save-data"
        )
    params = dict(info.get("params") or bench.get("params") or {})
    if several_drivers and info.get("driver"):
        params["driver"] = info["driver"]
    ops = int(info.get("ops_per_round") or 1)
    case = results.new_case(
        info.get("scenario") or bench.get("group") or UNGROUPED,
        info.get("variant") or bench.get("name", "?"),
        params,
        unit=info.get("unit") or "calls",
        ops_per_round=ops,
        driver=info.get("driver") or "?",
    )
    samples = [round(seconds * 1e9) for seconds in raw]
    case.update(
        status="ok",
        samples_ns=samples,
        stats=stats.summarize(samples),
        statements_per_op=info.get("statements_per_op"),
    )
    case["unstable"] = stats.is_unstable(case["stats"])
    case["throughput_per_s"] = ops / (case["stats"]["median"] / 1e9)
    case["extra"]["pytest_name"] = bench.get("fullname") or bench.get("name")
    return case


def _server(machine: dict[str, Any], driver: str | None,
            benchmarks: list[dict[str, Any]]) -> dict[str, Any]:
    servers = machine.get("sqla_bench_servers") or {}
    if driver is None or not servers:
        return {}
    backend = next(((b.get("extra_info") or {}).get("backend") for b in benchmarks), None)
    return servers.get(backend) or {}
