"""The command line: every command's options, and parsing them into one line of error."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bench import __version__
from bench.cli.common import UsageError
from bench.db.drivers import DEFAULT_CONNECT_TIMEOUT, DRIVERS
from bench.judge import ab as ab_runs
from bench.judge import calibrate as calibrate_runs
from bench.results import storage
from bench.results.records import PROFILES, SCHEDULES

DESCRIPTION = "Benchmark SQLAlchemy's asyncio extension on your own database."
EXAMPLES = """\
examples:
  sqla-bench list                     scenarios, variants, parameters, drivers
  sqla-bench list loading             one scenario, its reference marked
  sqla-bench run --driver aiosqlite   the quick profile on SQLite (no server)
  sqla-bench run --driver asyncpg --url postgresql://me@db.local/app \\
      --scenario loading              one family on your PostgreSQL
  sqla-bench run --driver aiosqlite --scenario pool_sizing \\
      --param pool_size=5,20 --rounds 10
  sqla-bench report results/*.json --output reports/latest
  sqla-bench compare results/base.json results/new.json
"""
SCENARIOS_PATH_HELP = "also load scenario modules from DIR (repeatable)"
DEFAULT_THRESHOLD = 10.0  # percent: the smallest change compare calls a change


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sqla-bench", description=DESCRIPTION, epilog=EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="scenarios, variants, parameters and drivers")
    listing.add_argument("family", nargs="?", metavar="FAMILY",
                         help="only this scenario family (default: all, then the drivers)")
    listing.add_argument("--scenarios-path", action="append", default=[], metavar="DIR",
                         help=SCENARIOS_PATH_HELP)

    doctor = commands.add_parser("doctor", help="which drivers import and which servers answer")
    doctor.add_argument(
        "--available",
        action="store_true",
        help="print only the drivers that import and whose server answers",
    )
    doctor.add_argument("--connect-timeout", type=float, default=3.0, metavar="S",
                        help="seconds to wait for each server (default 3)")

    clean = commands.add_parser(
        "clean", help="drop the tables of runs that are gone (killed); live runs stay")
    clean.add_argument("--url", help="this database only (driverless URL), instead of the "
                                     "default ones that `doctor` lists")

    run = commands.add_parser("run", help="measure scenarios on one driver or several",
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--driver", required=True,
                     help=f"one of: {', '.join(DRIVERS)}; or several, comma-separated, "
                          "measured in the same blocks (asyncpg,psycopg; all-postgresql, "
                          "all-mysql, all; NAME@LABEL names a driver twice: asyncpg,asyncpg@2)")
    run.add_argument("--driver-reference", metavar="LABEL",
                     help="several drivers: the driver others' paired ratios are read "
                          "against (default: the first named, per backend)")
    run.add_argument("--pair-across-backends", action="store_true",
                     help="several drivers: pair drivers of different backends too "
                          "(SQLite or PostgreSQL for my tests?)")
    run.add_argument(
        "--url", help="database URL without the driver part, e.g. postgresql://user:pw@host:5432/db"
    )
    run.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this scenario family (repeatable)",
    )
    run.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this variant (repeatable); its point's reference runs too",
    )
    run.add_argument("--profile", choices=PROFILES, default="quick",
                     help="how many parameter points and rounds: quick (default, a few "
                          "minutes), standard (the sweeps), full (the largest sizes), "
                          "counted (small sizes, 2 rounds: for --measure instructions)")
    run.add_argument("--rounds", type=int, help="timed rounds per case (default: the profile's)")
    run.add_argument("--warmup", type=int, help="untimed rounds per case (default: the profile's)")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter: KEY=V or KEY=V1,V2 (repeatable)",
    )
    run.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                     help="the event loop the run uses (default asyncio)")
    run.add_argument(
        "--profile-code",
        action="store_true",
        help="capture a pyinstrument profile per case, after its timed rounds",
    )
    run.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="results file (default: results/<UTC timestamp>_<driver>.json)",
    )
    run.add_argument("--schedule", choices=SCHEDULES, default=SCHEDULES[0],
                     help="interleaved (default): rounds of a point's variants alternate in "
                          "shuffled blocks; blocked: one variant after another, to compare")
    run.add_argument("--no-count-calls", dest="count_calls", action="store_false",
                     help="skip the untimed round that counts Python calls per operation")
    run.add_argument("--label", help="how reports and compare name this run "
                                     "(default: driver and start time)")
    run.add_argument("--rtt", action="append", default=[], metavar="DURATION",
                     help="measure through a delaying TCP proxy at this round-trip time "
                          "(e.g. 1ms); several values (0,0.5ms,2ms) measure the plan at each")
    run.add_argument("--rtt-fallback", action="store_true",
                     help="if the --rtt proxy dies, measure the rest direct (recorded as "
                          "direct) instead of stopping")
    run.add_argument("--explain", action="store_true",
                     help="after each case's timed rounds, one more round whose distinct "
                          "statements are EXPLAINed; the report shows the plans")
    run.add_argument("--measure", choices=("time", "instructions", "both"), default="time",
                     help="time (default): wall-clock rounds; instructions: each point's "
                          "rounds counted under callgrind in child processes, one memory "
                          "layout each (needs valgrind); both: timed, then counted")
    run.add_argument("--layouts", type=int, metavar="K",
                     help="memory layouts counted in parallel with --measure instructions "
                          "(default 3)")
    run.add_argument("--seed", type=int, default=0,
                     help="seed of the shuffled round order and of the data (default 0): the "
                          "same seed gives the same schedule")
    run.add_argument("--connect-timeout", type=float, default=DEFAULT_CONNECT_TIMEOUT, metavar="S",
                     help=f"seconds to wait for the server (default {DEFAULT_CONNECT_TIMEOUT:g})")
    run.add_argument("--scenarios-path", action="append", default=[], metavar="DIR",
                     help=SCENARIOS_PATH_HELP)
    run.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    load = run.add_argument_group(
        "load from several processes (concurrent_sessions, pool_sizing, fastapi_service, "
        "raw_queries --param mode=throughput)")
    where = load.add_mutually_exclusive_group()
    where.add_argument("--processes", type=int, metavar="N",
                       help="run the load on N worker processes of this machine (a Dask "
                            "LocalCluster)")
    where.add_argument("--cluster", metavar="tcp://HOST:PORT",
                       help="run the load on the workers of a running Dask scheduler")
    load.add_argument("--rate", type=float, metavar="R",
                      help="open loop: R requests per second in total, latency measured from "
                           "each request's intended start (default: closed loop)")
    load.add_argument("--service-url", metavar="URL",
                      help="fastapi_service: load this running service instead of starting "
                           "one (for --cluster workers on other hosts); start it on the "
                           "database of --namespace")
    run.add_argument("--namespace", metavar="LABEL",
                     help="work in namespace sqlab_run_LABEL instead of a fresh one, so a "
                          "service started by hand can use the run's tables (docs: "
                          "concurrent-runs.md); refused while a live run holds it")

    replay = commands.add_parser(
        "replay", help="replay a captured workload through drivers, pool sizes and RTTs")
    replay.add_argument("workload", type=Path, metavar="WORKLOAD",
                        help="a workload file of bench.api.capture() or pytest --sqla-capture")
    replay.add_argument("--driver", required=True,
                        help="drivers of the workload's backend, comma-separated")
    replay.add_argument("--url", help="the target database without the driver part "
                                      "(default: the backend's, as for run)")
    replay.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="pool_size=5,20 (default 5) or concurrency=N (default: the "
                             "pool size): units in flight at once")
    replay.add_argument("--form", action="append", default=[], choices=("raw", "core",
                                                                        "session"),
                        help="replay only this form (repeatable; default all three)")
    replay.add_argument("--rtt", action="append", default=[], metavar="DURATION",
                        help="through the delaying proxy at this round-trip time "
                             "(several: 0,1ms)")
    replay.add_argument("--commit", action="store_true",
                        help="commit each unit instead of rolling it back (needs --url)")
    replay.add_argument("--no-transaction", action="store_true",
                        help="no BEGIN/ROLLBACK around a unit: each statement in autocommit "
                             "(needs --url unless every statement only reads)")
    replay.add_argument("--think-time", choices=("none", "captured"), default="none",
                        help="captured: wait the application's own idle time between a "
                             "unit's statements and before each unit, divided by --speed "
                             "(default none: back to back)")
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, metavar="R",
                      help="open loop: R units per second")
    pace.add_argument("--speed", type=float, metavar="X",
                      help="open loop: the captured start times, X times faster")
    replay.add_argument("--processes", type=int, metavar="N",
                        help="spread each case's units, concurrency and pool over N local "
                             "worker processes (Dask), tallies added")
    replay.add_argument("--cluster", metavar="ADDRESS",
                        help="spread them over the workers of this Dask scheduler "
                             "(tcp://host:port) instead")
    replay.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    replay.add_argument("--warmup", type=int, default=1, help="untimed rounds (default 1)")
    replay.add_argument("--seed", type=int, default=0,
                        help="seed of the block order (the same seed, the same order)")
    replay.add_argument("--connect-timeout", type=float, default=DEFAULT_CONNECT_TIMEOUT,
                        metavar="S", help="seconds to wait for a connection "
                                          f"(default {DEFAULT_CONNECT_TIMEOUT:g})")
    replay.add_argument("--output", type=Path, metavar="FILE",
                        help="results file (default results/<UTC timestamp>_replay.json)")
    replay.add_argument("--label", help="how reports and compare name this replay")
    replay.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    report = commands.add_parser("report", help="HTML report from results files")
    report.add_argument("results", nargs="*", type=Path, metavar="RESULTS",
                        help="results files of `sqla-bench run` (several: side by side)")
    report.add_argument("--latest", nargs="?", type=Path, const=storage.RESULTS_DIR,
                        metavar="DIR", help="also the newest results file of every driver in "
                                            "DIR (default: results/)")
    report.add_argument("--output", type=Path, default=Path("reports/latest"), metavar="DIR",
                        help="where index.html goes (default reports/latest)")

    history = commands.add_parser("history", help="every case across the results files of a "
                                                  "directory, in time order, with step changes")
    history.add_argument("directory", type=Path, metavar="RESULTS_DIR",
                         help="a directory of results files")
    history.add_argument("--output", type=Path, default=Path("reports/history"), metavar="DIR",
                         help="where index.html goes (default reports/history)")

    compare = commands.add_parser(
        "compare", help="judge a change: paired ratios, exact counts, a noise floor")
    compare.add_argument("base", nargs="+", type=Path, metavar="BASE",
                         help="base results file(s); `BASE... -- NEW...` for several runs")
    compare.add_argument("--new-side", nargs="+", type=Path, default=None,
                         help=argparse.SUPPRESS)  # what follows `--` (see main)
    _add_judging_options(compare)
    compare.add_argument("--noise", type=Path, metavar="FILE",
                         help="noise file of `sqla-bench calibrate`: per-case tolerance")

    gate = commands.add_parser(
        "gate", help="the CI gate: compare a pytest-benchmark JSON with the saved run before it")
    gate.add_argument("new", type=Path, metavar="NEW_JSON")
    gate.add_argument("--storage", type=Path, default=Path(".benchmarks"), metavar="DIR",
                      help="pytest-benchmark's storage of saved runs (default .benchmarks)")
    gate.add_argument("--baseline", type=Path, metavar="FILE",
                      help="the run to judge against (default: the newest saved run in "
                           "--storage before NEW_JSON)")
    gate.add_argument("--ab", metavar="BASE_REF",
                      help="also judge time in this job: check out BASE_REF beside this "
                           "checkout, install it in its own venv and alternate the two in "
                           "worker processes (`sqla-bench ab`); run options after --")
    gate.add_argument("--ab-runs", type=int, default=4, metavar="N",
                      help="runs per side of --ab (default 4)")
    gate.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="PCT",
                      help=f"smallest change that matters (default {DEFAULT_THRESHOLD:g}%%)")
    gate.add_argument("--noise", type=Path, metavar="FILE",
                      help="noise file of `sqla-bench calibrate` (--from counted A/A runs): "
                           "each case's instructions tolerance")
    gate.add_argument("--html", type=Path, metavar="DIR", help="also write an HTML page")

    calibrate = commands.add_parser(
        "calibrate", help="A/A: run cases K times and write each case's noise floor",
        description="Run options (--driver, --scenario, --param, ...) pass through to each run.")
    calibrate.add_argument("--runs", type=int, default=calibrate_runs.DEFAULT_RUNS,
                           help="runs, each its own process")
    calibrate.add_argument("--from", dest="from_files", nargs="+", type=Path, default=[],
                           metavar="RESULTS",
                           help="A/A runs already made (results or pytest-benchmark JSON files "
                                "of unchanged code, e.g. two counted `make bench-ci`): their "
                                "spreads, instructions per op included, without running")
    calibrate.add_argument("--output", type=Path, default=Path("results/noise.json"),
                           metavar="FILE", help="the noise file (default results/noise.json)")

    ab = commands.add_parser(
        "ab", help="the same cases in two Python environments, alternated, judged at once",
        description="Run options (--driver, --scenario, --param, ...) pass through to each run.")
    ab.add_argument("--base", required=True, metavar="PYTHON", help="the base interpreter")
    ab.add_argument("--new", required=True, metavar="PYTHON", help="the new interpreter")
    for side in ("base", "new"):
        ab.add_argument(f"--{side}-env", action="append", default=[], metavar="KEY=VALUE",
                        help=f"an environment variable of the {side} side (repeatable)")
        ab.add_argument(f"--{side}-scenarios-path", action="append", default=[],
                        metavar="DIR", help=f"scenario modules of the {side} side")
    ab.add_argument("--runs", type=int, default=ab_runs.DEFAULT_RUNS,
                    help=f"runs per side (default {ab_runs.DEFAULT_RUNS})")
    ab.add_argument("--output", type=Path, metavar="DIR",
                    help="where base.json, new.json and comparison.json go "
                         "(default results/ab-<time>)")
    _add_judging_options(ab)
    return parser


def _add_judging_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="PCT",
                        help=f"smallest change that matters (default {DEFAULT_THRESHOLD:g}%%)")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit 1 on a slower verdict or a changed count")
    parser.add_argument("--html", type=Path, metavar="DIR", help="also write an HTML page")


# commands whose other options are the workers' run options (gate's: with --ab)
PASS_THROUGH = ("calibrate", "ab", "gate")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line, with `compare A... -- B...` and the pass-through run options."""
    argv = _attach_values(argv)
    if argv[:1] == ["compare"] and "--" in argv:
        argv[argv.index("--")] = "--new-side"
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in PASS_THROUGH:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command in PASS_THROUGH:
        if "--output" in extra:
            parser.error(f"--output of {args.command} names its own output; the runs' files "
                         "are its own")
        if extra or args.command == "ab":  # the run options are checked now, in one line
            parser.parse_args(["run", *extra])
        args.run_args = extra
    args.argv = list(argv)
    return args


def _attach_values(argv: Sequence[str]) -> list[str]:
    """`--rtt -1ms` as `--rtt=-1ms`: argparse takes a value starting with '-' for an
    option, and the user would hear "expected one argument" instead of what is wrong."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--rtt" and arg.startswith("-") and arg[1:2].isdigit():
            out[-1] = f"--rtt={arg}"
        else:
            out.append(arg)
    return out
