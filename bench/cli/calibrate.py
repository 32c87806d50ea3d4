"""`sqla-bench calibrate`: A/A runs in fresh processes, each case's noise floor."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.cli.common import UsageError, check_runs, progress_line
from bench.judge.calibrate import calibrate, noise_from_files, summary
from bench.judge.repeat import Side
from bench.results import file as results


def command(args: argparse.Namespace) -> int:
    results.check_writable(args.output)
    if args.from_files:
        if args.run_args:
            raise UsageError("calibrate --from reads finished runs: give no run options")
        noise = noise_from_files([results.load_any(p) for p in args.from_files], args.output)
        print(summary(noise))
        print(f"noise file: {args.output} (use: sqla-bench gate NEW --noise {args.output})")
        return 0
    check_runs(args.runs, 3)
    if not args.run_args:
        raise UsageError("calibrate needs run options (--driver D ...) or --from RESULTS...")
    with tempfile.TemporaryDirectory(prefix="sqlab-calibrate-") as workdir:
        noise = calibrate(Side("run", sys.executable), args.run_args, args.runs, Path(workdir),
                          args.output, progress_line)
    print(summary(noise))
    print(f"noise file: {args.output} (use: sqla-bench compare BASE NEW --noise {args.output})")
    return 0
