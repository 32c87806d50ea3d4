"""`sqla-bench calibrate`: A/A runs in fresh processes, each case's noise floor."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.cli.common import check_runs, progress_line
from bench.judge.calibrate import calibrate, summary
from bench.judge.repeat import Side
from bench.results import file as results


def command(args: argparse.Namespace) -> int:
    check_runs(args.runs, 3)
    results.check_writable(args.output)
    with tempfile.TemporaryDirectory(prefix="sqlab-calibrate-") as workdir:
        noise = calibrate(Side("run", sys.executable), args.run_args, args.runs, Path(workdir),
                          args.output, progress_line)
    print(summary(noise))
    print(f"noise file: {args.output} (use: sqla-bench compare BASE NEW --noise {args.output})")
    return 0
