"""`sqla-bench report`: one self-contained HTML page from results files."""

from __future__ import annotations

import argparse

from bench.cli.common import UsageError
from bench.report import write_report
from bench.results import storage


def command(args: argparse.Namespace) -> int:
    paths = list(args.results)
    if args.latest is not None:
        if not args.latest.is_dir():
            raise UsageError(f"--latest {args.latest} is not a directory")
        latest = storage.latest_per_driver(args.latest)
        if not latest:
            raise UsageError(f"no results files in {args.latest}: run make bench first")
        paths += [p for p in latest if p not in paths]
    if not paths:
        raise UsageError("report needs results files, or --latest for the newest of each driver")
    index = write_report(paths, args.output)
    print(f"report: {index}")
    return 0
