"""The public face of sqla-bench: the one import path for scenario files and users.

Everything a scenario author needs is importable from here, and only from here:

    from bench.api import RAW_VARIANT, Comparison, Context, Family, Param, drive

These names are public and stable: internal modules move, these do not. The modules
behind them (family, drive, service) own the scenario model, and capture
(capture, workload, redact) records an application's statements into a workload
file; this package may import bench.db and bench.results, and nothing above them.
"""

from bench.api.capture import CaptureMiddleware, capture, capture_unit
from bench.api.drive import drive
from bench.api.family import (
    PROFILES,
    RAW_VARIANT,
    CaseSkipped,
    Comparison,
    Context,
    Family,
    Param,
)
from bench.api.service import Service
from bench.db.database import connection_room
from bench.db.drivers import Driver, register

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
