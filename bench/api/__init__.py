"""The public face of sqla-bench: the one import path for scenario files and users.

Everything a scenario author needs is importable from here, and only from here:

    from bench.api import RAW_VARIANT, Comparison, Context, Family, Param, drive

These names are public and stable: internal modules move, these do not. The modules
behind them (family, drive, service) own the scenario model, and capture
(capturing, workload, redact) records an application's statements into a workload
file; this package may import bench.db and bench.results, and nothing above them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Bound now, not on first use: `drive` is also its module's name, and importing
# bench.api.drive anywhere first would leave the package's attribute the module.
from bench.api.drive import drive

if TYPE_CHECKING:
    from bench.api.capturing import CaptureMiddleware, capture, capture_unit
    from bench.api.family import (
        CaseSkipped,
        Comparison,
        Context,
        Family,
        Param,
    )
    from bench.api.service import Service
    from bench.db.database import connection_room
    from bench.db.drivers import Driver, register
    from bench.results.records import PROFILES, RAW_VARIANT

# Each name's module, imported on first use (PEP 562): a command that reads results
# files (report, compare) does not pay for the HTTP client and the capture machinery.
_HOMES = {
    "PROFILES": "bench.results.records", "RAW_VARIANT": "bench.results.records",
    "CaseSkipped": "bench.api.family", "Comparison": "bench.api.family",
    "Context": "bench.api.family", "Family": "bench.api.family", "Param": "bench.api.family",
    "CaptureMiddleware": "bench.api.capturing", "capture": "bench.api.capturing",
    "capture_unit": "bench.api.capturing",
    "Service": "bench.api.service", "connection_room": "bench.db.database",
    "Driver": "bench.db.drivers", "register": "bench.db.drivers",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bench.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # looked up once
    return value


__all__ = [
    "PROFILES",
    "RAW_VARIANT",
    "CaptureMiddleware",
    "CaseSkipped",
    "Comparison",
    "Context",
    "Driver",
    "Family",
    "Param",
    "Service",
    "capture",
    "capture_unit",
    "connection_room",
    "drive",
    "register",
]
