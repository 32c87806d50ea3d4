"""`sqla-bench ab`: the same cases in two Python environments, alternated."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from bench.cli.common import UsageError, check_runs, gate_status, progress_line
from bench.cli.console import print_fitted
from bench.judge.ab import run_ab
from bench.judge.compare import comparison_table, summary_line
from bench.judge.repeat import Side
from bench.report.compare_page import write_compare_page
from bench.results import storage


def command(args: argparse.Namespace) -> int:
    check_runs(args.runs, 3)
    sides = [Side(label, python, _side_env(getattr(args, f"{label}_env"), f"--{label}-env"),
                  tuple(getattr(args, f"{label}_scenarios_path")))
             for label, python in (("base", args.base), ("new", args.new))]
    directory = args.output or storage.new_ab_directory()
    base, new, judgements, differences = run_ab(sides[0], sides[1], args.run_args, args.runs,
                                                directory, args.threshold, progress_line)
    for line in differences:
        print(f"sqla-bench: the sides differ: {line}", file=sys.stderr)
    console = Console()
    print_fitted(console, lambda narrow: comparison_table(judgements, f"ab {base} → {new}",
                                                           narrow=narrow))
    print(summary_line(judgements))
    print(f"results: {base}, {new}, {directory / 'comparison.json'}")
    if args.html is not None:
        write_compare_page(judgements, f"ab {base.name} → {new.name}", differences,
                           args.threshold, args.html)
    return gate_status(judgements, args.fail_on_regression)


def _side_env(pairs: list[str], flag: str) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} takes KEY=VALUE, not {pair!r}")
        env[key] = value
    return env
