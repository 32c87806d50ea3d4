"""`sqla-bench doctor`: which drivers import and which servers answer."""

from __future__ import annotations

import argparse

from bench.db.doctor import check_all, print_doctor


def command(args: argparse.Namespace) -> int:
    checks = check_all(args.connect_timeout)
    if args.available:
        for check in checks:
            if check["usable"]:
                print(check["driver"])
    else:
        print_doctor(checks)
    return 0
