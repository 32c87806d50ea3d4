"""What a run was measured on: enough to tell two results files apart later.

Besides the software and the machine: the server settings that change results
(bench.db.database.RESULT_SETTINGS) and how busy the machine was (load average and, on
Linux, CPU pressure) at the start and the end of the run. `differences` lists what
differs between two runs' environments in these, for compare's warnings.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.db.drivers import Driver


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_total() -> int | None:
    """Physical memory in bytes."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def git_commit(directory: Path | None = None) -> str | None:
    """The commit of the harness checkout (with +dirty), when it is a git checkout."""
    directory = directory or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


def event_loop_name(loop_kind: str) -> str:
    if loop_kind == "uvloop":
        import uvloop

        return f"uvloop {uvloop.__version__}"
    return f"asyncio ({sys.version.split()[0]})"


def machine_load(pressure_file: Path = Path("/proc/pressure/cpu")) -> dict[str, Any]:
    """The load average (1, 5, 15 min) and, on Linux, CPU pressure: the share of time some
    runnable task waited for a CPU, over the last 10, 60 and 300 s (in %)."""
    try:
        loadavg: list[float] | None = [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        loadavg = None
    pressure = None
    try:
        for line in pressure_file.read_text().splitlines():
            kind, *fields = line.split()
            if kind == "some":
                values = dict(field.split("=", 1) for field in fields)
                pressure = {f"some_{k}": float(values[k]) for k in ("avg10", "avg60", "avg300")}
    except (OSError, ValueError, KeyError):
        pressure = None
    return {"loadavg": loadavg, "cpu_pressure": pressure}


def collect(driver: Driver, server: dict[str, str] | None, loop_kind: str,
            settings: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_total": memory_total(),
        "sqlalchemy": importlib.metadata.version("sqlalchemy"),
        "driver_versions": {driver.name: driver.version()},
        "server": server or {},
        "event_loop": event_loop_name(loop_kind),
        "git_commit": git_commit(),
        "server_settings": settings or {},
        "load_start": machine_load(),
    }


# Two runs' machines were differently busy when the load per core, or the CPU pressure
# (percentage points), differs by at least this much: their times are not alike.
LOAD_PER_CORE_DIFFERENCE = 0.25
PRESSURE_DIFFERENCE = 5.0


def differences(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two runs' environments in server settings and machine load,
    one sentence each (nothing for what a side did not record)."""
    found = []
    base_settings, new_settings = base.get("server_settings"), new.get("server_settings")
    if base_settings and new_settings:
        for name in [*base_settings, *(n for n in new_settings if n not in base_settings)]:
            a, b = base_settings.get(name, "not set"), new_settings.get(name, "not set")
            if a != b:
                found.append(f"server setting {name} differs: {a} vs {b}")
    base_busy, new_busy = _busiest(base), _busiest(new)
    if base_busy and new_busy:
        (load_a, pressure_a), (load_b, pressure_b) = base_busy, new_busy
        if (_differ(load_a, load_b, LOAD_PER_CORE_DIFFERENCE)
                or _differ(pressure_a, pressure_b, PRESSURE_DIFFERENCE)):
            found.append(f"machine load differs: {_busy_text(base_busy)} vs "
                         f"{_busy_text(new_busy)}")
    return found


def _busiest(env: dict[str, Any]) -> tuple[float | None, float | None] | None:
    """The larger of start and end: 1-minute load per core, and CPU pressure over 10 s."""
    loads: list[dict[str, Any]] = [env[key] for key in ("load_start", "load_end")
                                   if env.get(key)]
    if not loads:
        return None
    cores = env.get("cpu_count") or 1
    per_core = [m["loadavg"][0] / cores for m in loads if m.get("loadavg")]
    pressure = [m["cpu_pressure"]["some_avg10"] for m in loads if m.get("cpu_pressure")]
    return (max(per_core) if per_core else None, max(pressure) if pressure else None)


def _differ(a: float | None, b: float | None, limit: float) -> bool:
    return a is not None and b is not None and abs(a - b) >= limit


def _busy_text(busy: tuple[float | None, float | None]) -> str:
    load, pressure = busy
    parts = [f"load {load:.2f} per core" if load is not None else "load unknown"]
    if pressure is not None:
        parts.append(f"CPU pressure {pressure:.0f}%")
    return ", ".join(parts)
