"""`sqla-bench history`: every case across a directory's runs, with step changes."""

from __future__ import annotations

import argparse

from bench.judge.history import collect_directory
from bench.report.history_page import write_history_page


def command(args: argparse.Namespace) -> int:
    index = write_history_page(collect_directory(args.directory), args.directory, args.output)
    print(f"history: {index}")
    return 0
