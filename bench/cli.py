"""The `sqla-bench` command: list, doctor, run, report, history, compare.

Every mistake a user can make ends in one line on stderr saying what is wrong and
what to do, and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from bench import results, storage
from bench.cluster import ClusterError
from bench.database import DEFAULT_CONNECT_TIMEOUT, DatabaseError, mask_text, resolve_url
from bench.drivers import DRIVERS, DriverNotInstalled, UnknownDriver, get_driver
from bench.network import (
    DelayProxy,
    NetworkError,
    ProxyDied,
    RttError,
    check_reachable,
    parse_rtts,
)
from bench.repeat import WorkerError
from bench.scenario import (
    PROFILES,
    RUN_PROFILES,
    ScenarioError,
    load_families,
    parse_overrides,
)

DEFAULT_THRESHOLD = 10.0  # percent: the smallest change compare calls a change
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 3  # a bug in sqla-bench itself
LIMITS = {"rounds": (1, 100_000), "warmup": (0, 10_000), "connect_timeout": (0.1, 600),
          "processes": (1, 1_024), "rate": (0.1, 10_000_000)}


class UsageError(Exception):
    """Bad input, said in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sqla-bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="scenarios, variants, parameters and drivers")
    listing.add_argument("--scenarios-path", action="append", default=[], metavar="DIR")

    doctor = commands.add_parser("doctor", help="which drivers import and which servers answer")
    doctor.add_argument(
        "--available",
        action="store_true",
        help="print only the drivers that import and whose server answers",
    )
    doctor.add_argument("--connect-timeout", type=float, default=3.0, metavar="S")

    run = commands.add_parser("run", help="measure scenarios on one driver")
    run.add_argument("--driver", required=True, help=f"one of: {', '.join(DRIVERS)}")
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
    run.add_argument("--profile", choices=PROFILES, default="quick")
    run.add_argument("--rounds", type=int, help="timed rounds per case (default: the profile's)")
    run.add_argument("--warmup", type=int, help="untimed rounds per case (default: the profile's)")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter: KEY=V or KEY=V1,V2 (repeatable)",
    )
    run.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
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
    run.add_argument("--schedule", choices=("interleaved", "blocked"), default="interleaved",
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
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--connect-timeout", type=float, default=DEFAULT_CONNECT_TIMEOUT, metavar="S")
    run.add_argument("--scenarios-path", action="append", default=[], metavar="DIR")
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
                           "one (for --cluster workers on other hosts)")

    report = commands.add_parser("report", help="HTML report from results files")
    report.add_argument("results", nargs="*", type=Path, metavar="RESULTS")
    report.add_argument("--latest", nargs="?", type=Path, const=storage.RESULTS_DIR,
                        metavar="DIR", help="also the newest results file of every driver in "
                                            "DIR (default: results/)")
    report.add_argument("--output", type=Path, default=Path("reports/latest"), metavar="DIR")

    history = commands.add_parser("history", help="every case across the results files of a "
                                                  "directory, in time order, with step changes")
    history.add_argument("directory", type=Path, metavar="RESULTS_DIR")
    history.add_argument("--output", type=Path, default=Path("reports/history"), metavar="DIR")

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
    gate.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="PCT")
    gate.add_argument("--noise", type=Path, metavar="FILE")

    calibrate = commands.add_parser(
        "calibrate", help="A/A: run cases K times and write each case's noise floor",
        description="Run options (--driver, --scenario, --param, ...) pass through to each run.")
    calibrate.add_argument("--runs", type=int, default=5, help="runs, each its own process")
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
    ab.add_argument("--runs", type=int, default=4, help="runs per side (default 4)")
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


PASS_THROUGH = ("calibrate", "ab")  # commands whose other options are the workers' run options


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line, with `compare A... -- B...` and the pass-through run options."""
    argv = list(argv)
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
        parser.parse_args(["run", *extra])  # the run options are checked now, in one line
        args.run_args = extra
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse(_attach_values(sys.argv[1:] if argv is None else argv))
        return COMMANDS[args.command](args)
    except (
        UsageError,
        UnknownDriver,
        DriverNotInstalled,
        DatabaseError,
        ScenarioError,
        results.ResultsFileError,
        WorkerError,
        NetworkError,
        ClusterError,
    ) as exc:
        print(f"sqla-bench: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sqla-bench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, no secrets
        if os.environ.get("SQLA_BENCH_DEBUG") == "1":
            raise
        message = mask_text(_one_line(str(exc)))[:300]
        print(f"sqla-bench: internal error: {type(exc).__name__}: {message} "
              "(SQLA_BENCH_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def _one_line(text: str) -> str:
    """The error line's contract holds even for a message quoting what the user typed
    (argparse's "unrecognized arguments: ..." with a newline in an argument, say)."""
    return " ".join(text.split())


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


# ---------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from bench.console import print_listing

    print_listing(load_families(args.scenarios_path))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from bench.doctor import check_all, print_doctor

    checks = check_all(args.connect_timeout)
    if args.available:
        for check in checks:
            if check["usable"]:
                print(check["driver"])
    else:
        print_doctor(checks)
    return 0


def _check_limits(args: argparse.Namespace) -> None:
    for name, (low, high) in LIMITS.items():
        value = getattr(args, name, None)
        if value is not None and not low <= value <= high:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} must be between {low:g} and {high:g}, not {value}")


def _parse_params(pairs: list[str]) -> list[tuple[str, str]]:
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param takes KEY=VALUE, not {pair!r}")
        parsed.append((key.strip(), value))
    return parsed


def _select_families(args: argparse.Namespace, families: dict[str, Any]) -> list[Any]:
    for name in args.scenario:
        if name not in families:
            raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(families)}")
    chosen = [families[n] for n in args.scenario] if args.scenario else list(families.values())
    known_variants = {v for f in chosen for v in f.variants}
    for name in args.variant:
        if name not in known_variants:
            raise ScenarioError(
                f"unknown variant {name!r} in {', '.join(f.name for f in chosen)}; "
                f"known: {', '.join(sorted(known_variants))}"
            )
    return chosen


def _overrides(families: list[Any],
               pairs: list[tuple[str, str]]) -> dict[str, dict[str, list[Any]]]:
    """Apply each --param to every chosen family that has the parameter; unknown ones fail."""
    overrides: dict[str, dict[str, list[Any]]] = {}
    for key, value in pairs:
        owners = [f for f in families if any(p.name == key for p in f.params)]
        if not owners:
            known = sorted({p.name for f in families for p in f.params})
            raise ScenarioError(
                f"unknown parameter {key!r}; the chosen scenarios take: {', '.join(known)}"
            )
        for family in owners:
            overrides.setdefault(family.name, {}).update(parse_overrides(family, [(key, value)]))
    return overrides


def _check_load_options(args: argparse.Namespace, runner: Any) -> None:
    """--processes/--cluster/--rate only for families that measure what a service
    sustains; --service-url only for fastapi_service, as an http(s) URL."""
    from bench.distributed import refusal

    flags = [flag for flag, value in (("--processes", args.processes),
                                      ("--cluster", args.cluster), ("--rate", args.rate))
             if value is not None]
    if args.cluster is not None:
        from bench.cluster import check_address

        check_address(args.cluster)
    if flags:
        for option, given in (("--profile-code", args.profile_code),
                              ("--explain", args.explain)):
            if given:
                raise UsageError(f"{option} looks at one round in this process: drop it or "
                                 f"{'/'.join(flags)}")
        message = refusal(runner.points, "/".join(flags))
        if message is not None:
            raise UsageError(message)
    if args.service_url is not None:
        if not args.service_url.startswith(("http://", "https://")):
            raise UsageError(f"--service-url takes http://HOST:PORT, not "
                             f"{mask_text(args.service_url)!r}")
        if any(p.family.name != "fastapi_service" for p in runner.points):
            raise UsageError("--service-url is for fastapi_service alone: add "
                             "--scenario fastapi_service")


def _output_path(args: argparse.Namespace) -> Path:
    if args.output is not None:
        results.check_writable(args.output)
        return Path(args.output)
    return storage.new_results_path(args.driver)


def cmd_run(args: argparse.Namespace) -> int:
    from bench import progress
    from bench.runner import RunConfig, Runner

    _check_limits(args)
    # SQLAlchemy's pool logs a traceback when it cannot close a connection a failed case
    # left broken; the case already records the error in one line.
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
    driver = get_driver(args.driver)
    every_family = load_families(args.scenarios_path)  # once: a user's module runs once
    families = _select_families(args, every_family)
    overrides = _overrides(families, _parse_params(args.param))
    url = resolve_url(driver, args.url)
    driver.require()
    rtts = _rtts(args)
    if rtts:  # SQLite, a unix socket or a server that is down: said before anything starts
        check_reachable(url, args.connect_timeout)
    profile = RUN_PROFILES[args.profile]
    output = _output_path(args)
    config = RunConfig(
        driver=driver,
        url=url,
        families=families,
        profile=args.profile,
        warmup=profile.warmup if args.warmup is None else args.warmup,
        rounds=profile.rounds if args.rounds is None else args.rounds,
        overrides=overrides,
        variants=args.variant or None,
        seed=args.seed,
        connect_timeout=args.connect_timeout,
        loop=args.loop,
        output=output,
        profile_code=args.profile_code,
        schedule=args.schedule,
        count_calls=args.count_calls,
        label=args.label,
        rtt_fallback=args.rtt_fallback,
        processes=args.processes,
        cluster=args.cluster,
        rate=args.rate,
        service_url=args.service_url,
        scenarios_path=list(args.scenarios_path),
        explain=args.explain,
    )
    shown = progress.for_stream(args.quiet)
    runner = Runner(config, progress=shown)
    if driver.is_sync:
        async_only = [f.name for f in families if not f.sync_variants]
        with_sync = [f.name for f in every_family.values() if f.sync_variants]
        if not runner.points:
            raise ScenarioError(
                f"nothing to run: {driver.name} is a sync baseline driver and no chosen "
                f"scenario has sync variants; these do: {', '.join(with_sync) or 'none'}")
        if async_only:
            shown.note(f"sqla-bench: {driver.name} is a sync baseline; async-only scenarios "
                       f"not run: {', '.join(async_only)}")
    if not runner.points:
        raise ScenarioError("nothing to run: no variant of the chosen scenarios matches")
    _check_load_options(args, runner)
    with storage.OutputLock(output):  # a second run on the same file refuses at once
        if not rtts:
            return _execute(runner, output, args.loop)
        with DelayProxy(url, rtts) as proxy:  # stopped on the way out, however it ends
            config.proxy = proxy
            runner = Runner(config, progress=shown)
            return _execute(runner, output, args.loop)


def _rtts(args: argparse.Namespace) -> list[int]:
    if not args.rtt:
        if args.rtt_fallback:
            raise UsageError("--rtt-fallback goes with --rtt")
        return []
    try:
        return parse_rtts(args.rtt)
    except RttError as exc:
        raise UsageError(str(exc)) from None


def _execute(runner: Any, output: Path, loop: str) -> int:
    """Run, print the table; a Ctrl-C keeps every finished point in the results file."""
    from bench.console import print_summary
    from bench.runner import RunInterrupted

    try:
        doc = _run_loop(_stoppable(runner), loop)
    except ProxyDied as exc:
        print(f"sqla-bench: error: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, RunInterrupted):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a late Ctrl-C must not cut the save
        done = len(runner.doc["cases"]) if runner.doc else 0
        if runner.doc:
            runner.doc["run_status"] = "interrupted"
            results.write_atomic(output, runner.doc)
        print(
            f"sqla-bench: interrupted after {done} of {runner.total_cases} cases; "
            f"finished cases are in {output}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print_summary(doc)
    print(f"results: {output}")
    fell_back = doc.get("network", {}).get("fell_back")
    if fell_back:  # said at the end too (also with --quiet): these cases are not at the RTT
        print(f"sqla-bench: warning: {fell_back}", file=sys.stderr)
    failed = [c for c in doc["cases"] if c["status"] in ("error", "wrong")]
    if failed:
        print(
            f"sqla-bench: {len(failed)} of {len(doc['cases'])} cases failed or were wrong",
            file=sys.stderr,
        )
        return 1
    return 0


async def _stoppable(runner: Any) -> Any:
    """The run, where a first Ctrl-C stops it cleanly before the next round (the round in
    flight finishes, engines and tables are cleaned up) and a second one stops it at once."""
    loop = asyncio.get_running_loop()

    def first_ctrl_c() -> None:
        runner.stop_requested = True
        runner.progress.note("sqla-bench: stopping after the round in flight "
                             "(Ctrl-C again to stop at once)")
        loop.remove_signal_handler(signal.SIGINT)  # the next one is a KeyboardInterrupt

    loop.add_signal_handler(signal.SIGINT, first_ctrl_c)
    try:
        return await runner.run()
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _run_loop(coro: Any, loop: str) -> Any:
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


def cmd_report(args: argparse.Namespace) -> int:
    from bench.report import write_report

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


def cmd_history(args: argparse.Namespace) -> int:
    from bench.history import write_history

    index = write_history(args.directory, args.output)
    print(f"history: {index}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from bench.compare import run_compare

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


def cmd_gate(args: argparse.Namespace) -> int:
    from bench.compare import run_compare

    baseline = storage.previous_saved_run(args.storage, args.new)
    if baseline is None:
        print(f"sqla-bench gate: no earlier saved run in {args.storage} to compare with; "
              "this run is the baseline of the next")
        return 0
    print(f"sqla-bench gate: {args.new} against {baseline}")
    return run_compare([baseline], [args.new], threshold=args.threshold,
                       fail_on_regression=True, html_dir=None, noise_path=args.noise)


def _progress_line(line: str) -> None:
    print(f"sqla-bench: {line}", file=sys.stderr, flush=True)


def _check_runs(runs: int, least: int) -> None:
    if not least <= runs <= 1000:
        raise UsageError(f"--runs must be between {least} and 1000, not {runs}")


def cmd_calibrate(args: argparse.Namespace) -> int:
    import tempfile

    from bench.calibrate import calibrate, summary
    from bench.repeat import Side

    _check_runs(args.runs, 3)
    results.check_writable(args.output)
    with tempfile.TemporaryDirectory(prefix="sqlab-calibrate-") as workdir:
        noise = calibrate(Side("run", sys.executable), args.run_args, args.runs, Path(workdir),
                          args.output, _progress_line)
    print(summary(noise))
    print(f"noise file: {args.output} (use: sqla-bench compare BASE NEW --noise {args.output})")
    return 0


def _side_env(pairs: list[str], flag: str) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} takes KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


def cmd_ab(args: argparse.Namespace) -> int:
    from bench.ab import run_ab
    from bench.compare import comparison_table, summary_line
    from bench.repeat import Side

    _check_runs(args.runs, 3)
    sides = [Side(label, python, _side_env(getattr(args, f"{label}_env"), f"--{label}-env"),
                  tuple(getattr(args, f"{label}_scenarios_path")))
             for label, python in (("base", args.base), ("new", args.new))]
    directory = args.output or storage.new_ab_directory()
    base, new, judgements, differences = run_ab(sides[0], sides[1], args.run_args, args.runs,
                                                directory, args.threshold, _progress_line)
    for line in differences:
        print(f"sqla-bench: the sides differ: {line}", file=sys.stderr)
    from rich.console import Console

    Console(width=220).print(comparison_table(judgements, f"ab {base} → {new}"))
    print(summary_line(judgements))
    print(f"results: {base}, {new}, {directory / 'comparison.json'}")
    if args.html is not None:
        from bench.report.compare_page import write_compare_page

        write_compare_page(judgements, f"ab {base.name} → {new.name}", differences,
                           args.threshold, args.html)
    failing = [j for j in judgements if j.fails]
    if args.fail_on_regression and failing:
        print(f"sqla-bench: the gate fails on {len(failing)} case(s):", file=sys.stderr)
        for j in failing:
            print(f"  {j.name}: {j.why()}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {
    "list": cmd_list,
    "doctor": cmd_doctor,
    "run": cmd_run,
    "report": cmd_report,
    "history": cmd_history,
    "compare": cmd_compare,
    "gate": cmd_gate,
    "calibrate": cmd_calibrate,
    "ab": cmd_ab,
}


if __name__ == "__main__":
    sys.exit(main())
