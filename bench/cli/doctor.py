"""`sqla-bench doctor`: which drivers import, which servers answer, and the runs
recorded in each default database (in progress, or leftovers of killed runs)."""

from __future__ import annotations

import argparse

from bench.db.doctor import (
    check_all,
    default_databases,
    print_doctor,
    print_runs,
    recorded_runs,
)


def command(args: argparse.Namespace) -> int:
    checks = check_all(args.connect_timeout)
    if args.available:
        for check in checks:
            if check["usable"]:
                print(check["driver"])
        return 0
    print_doctor(checks)
    answering = {c["backend"] for c in checks if c["usable"]}
    print_runs(recorded_runs(u for u in default_databases()
                             if u.get_backend_name() in answering))
    return 0
