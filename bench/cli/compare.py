"""`sqla-bench compare` and `gate`: judge a change from results files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from bench.cli.common import UsageError, gate_status
from bench.cli.console import print_fitted
from bench.judge import compare
from bench.judge.calibrate import read_noise
from bench.report.compare_page import write_compare_page
from bench.results import file as results
from bench.results import storage


def command(args: argparse.Namespace) -> int:
    if args.new_side is None:
        if len(args.base) != 2:
            raise UsageError("compare takes BASE NEW, or several runs a side: "
                             "BASE1 BASE2 BASE3 -- NEW1 NEW2 NEW3")
        base, new = [args.base[0]], [args.base[1]]
    else:
        base, new = args.base, args.new_side
    return run_compare(base, new, threshold=args.threshold,
                       fail_on_regression=args.fail_on_regression, html_dir=args.html,
                       noise_path=args.noise)


GATE_JUDGES = ("statements per op (exact), Python calls per op, instructions per op (counted "
               "runs; per-case tolerance) and query plans (--explain) are judged; times are "
               "shown, never judged against a stored run")


def gate_command(args: argparse.Namespace) -> int:
    """The CI gate on machine-independent evidence; with --ab, time judged in this job."""
    if args.run_args and not args.ab:
        raise UsageError(f"unrecognized arguments: {' '.join(args.run_args)} (run options "
                         "go with --ab BASE_REF)")
    if not Path(args.new).exists():  # before "no earlier run": a typo is not a first run
        raise results.ResultsFileError(f"results file {args.new} does not exist")
    baseline = args.baseline or storage.previous_saved_run(args.storage, args.new)
    status = 0
    if baseline is None:
        print(f"sqla-bench gate: no earlier saved run in {args.storage} to compare with; "
              "this run is the baseline of the next")
    else:
        print(f"sqla-bench gate: {args.new} against {baseline}: {GATE_JUDGES}")
        status = run_compare([baseline], [args.new], threshold=args.threshold,
                             fail_on_regression=True, html_dir=args.html,
                             noise_path=args.noise, time_fails=False)
    if args.ab:
        status = max(status, _gate_ab(args))
    return status


def _gate_ab(args: argparse.Namespace) -> int:
    """Time, judged between BASE_REF and this checkout, alternated in this job."""
    from bench.cli.common import progress_line
    from bench.judge.ab import run_ab
    from bench.judge.checkout import checkout_base
    from bench.judge.repeat import Side

    directory = storage.new_ab_directory()
    progress_line(f"gate --ab: checking out and installing {args.ab}")
    base = checkout_base(args.ab, directory / "base-checkout")
    new = Side("new", sys.executable)
    _, _, judgements, differences = run_ab(base, new, args.run_args, args.ab_runs, directory,
                                           args.threshold, progress_line)
    for line in differences:
        print(f"sqla-bench: the sides differ: {line}", file=sys.stderr)
    Console(width=220).print(compare.comparison_table(judgements, f"ab {args.ab} → HEAD"))
    print(compare.summary_line(judgements))
    failing = [j for j in judgements if j.fails]
    if failing:
        print(f"sqla-bench: the time A/B fails on {len(failing)} case(s):", file=sys.stderr)
        for j in failing:
            print(f"  {j.name}: {j.why()}", file=sys.stderr)
        return 1
    return 0


def run_compare(base: Sequence[Path], new: Sequence[Path], *, threshold: float,
                fail_on_regression: bool, html_dir: Path | None,
                noise_path: Path | None = None, time_fails: bool = True) -> int:
    if not 0 <= threshold <= 1000:
        raise results.ResultsFileError(
            f"--threshold must be between 0 and 1000 %, not {threshold:g}")
    base_docs = [results.load_any(p) for p in base]
    new_docs = [results.load_any(p) for p in new]
    noise = read_noise(noise_path) if noise_path is not None else None
    refusal = results.rtt_refusal(base_docs[0], new_docs[0], _names(base), _names(new))
    if refusal is not None:
        raise results.ResultsFileError(refusal)
    judgements = compare.compare_sides(base_docs, new_docs, threshold, noise,
                                       time_fails=time_fails)
    if not any(j.status == "compared" or j.status.startswith("not comparable")
               for j in judgements):
        raise results.ResultsFileError(
            f"{_names(base)} and {_names(new)} have no case in common (same scenario, variant "
            "and parameters); compare runs of the same scenarios")
    warnings = compare.environment_differences(base_docs[0], new_docs[0])
    for line in warnings:
        print(f"sqla-bench: warning: {line}", file=sys.stderr)
    title = f"compare {_names(base)} → {_names(new)}"
    console = Console()
    print_fitted(console, lambda narrow: compare.comparison_table(judgements, title,
                                                                   narrow=narrow))
    print(compare.summary_line(judgements))
    for note in compare.instruction_notes(judgements):
        print(note)
    if not time_fails:
        print("times: shown for information; a stored run from another job or machine "
              "never fails the gate on time (use --ab BASE_REF for a time verdict)")
    elif not any(j.absolute for j in judgements):
        print(compare.NOT_JUDGED)
    advice = compare.few_blocks_advice(base_docs, new_docs) if time_fails else None
    if advice is not None:
        print(advice)
    speed = compare.machine_speed_line(base_docs, new_docs)
    if speed is not None:
        print(speed)
    if html_dir is not None:
        page = write_compare_page(judgements, title, warnings, threshold, html_dir)
        print(f"comparison page: {page}")
    return gate_status(judgements, fail_on_regression)


def _names(paths: Sequence[Path]) -> str:
    return " ".join(Path(p).name for p in paths)
