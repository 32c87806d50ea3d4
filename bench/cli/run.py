"""`sqla-bench run`: measure scenarios on a driver and write the results file."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from bench.api.family import RUN_PROFILES, ScenarioError, load_families, parse_overrides
from bench.cli import counted
from bench.cli.common import EXIT_INTERRUPTED, UsageError
from bench.cli.console import print_summary
from bench.db import namespace
from bench.db.database import DatabaseError, resolve_url
from bench.db.drivers import NamedDriver, parse_driver_list
from bench.db.masking import mask_text
from bench.db.names import did_you_mean
from bench.measure.instructions import unavailable
from bench.measure.instructions.counting import COUNTED_ROUNDS
from bench.measure.plan import refusal
from bench.results import file as results
from bench.results import storage
from bench.rtt.control import DelayProxy, ProxyDied, RttError, check_reachable, parse_rtts
from bench.run import progress
from bench.run.runner import RunConfig, RunDriver, RunInterrupted, Runner
from bench.run.several import SeveralRunner
from bench.scale.cluster import check_address

LIMITS = {"rounds": (1, 100_000), "warmup": (0, 10_000), "connect_timeout": (0.1, 600),
          "processes": (1, 1_024), "rate": (0.1, 10_000_000)}


def command(args: argparse.Namespace) -> int:

    _check_limits(args)
    # SQLAlchemy's pool logs a traceback when it cannot close a connection a failed case
    # left broken; the case already records the error in one line.
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
    named = parse_driver_list(args.driver)
    several = len(named) > 1 or named[0].label != named[0].driver.name
    drivers = _run_drivers(args, named) if several else []
    driver = drivers[0].driver if several else named[0].driver
    every_family = load_families(args.scenarios_path)  # once: a user's module runs once
    families = _select_families(args, every_family)
    overrides = _overrides(families, _parse_params(args.param))
    url = drivers[0].url if several else resolve_url(driver, args.url)
    driver.require()
    if several:
        _check_several(args, drivers)
    elif args.driver_reference is not None or args.pair_across_backends:
        raise UsageError("--driver-reference and --pair-across-backends go with several "
                         "drivers: --driver asyncpg,psycopg")
    rtts = _rtts(args)
    if rtts:  # SQLite, a unix socket or a server that is down: said before anything starts
        check_reachable(url, args.connect_timeout)
    profile = RUN_PROFILES[args.profile]
    output = _output_path(args)
    if args.measure != "time" and (args.processes or args.cluster or args.rtt
                                   or args.service_url):
        raise UsageError("--measure instructions counts this process's rounds: it does not "
                         "go with --processes, --cluster, --rtt or --service-url")
    if args.measure != "time" and not counted.in_counting_child():
        if unavailable_reason := unavailable():
            raise UsageError(unavailable_reason)
        if args.measure == "instructions":
            with storage.OutputLock(output):
                return counted.counted_run(args, output, None)
        args_timed = argparse.Namespace(**{**vars(args), "measure": "time",
                                           "output": output})
        return counted.counted_run(args, output, lambda: command(args_timed))
    if counted.in_counting_child() and args.rounds is None:
        args.rounds = COUNTED_ROUNDS
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
        namespace=_namespace(args.namespace),
        scenarios_path=list(args.scenarios_path),
        explain=args.explain,
        drivers=drivers,
        driver_reference=args.driver_reference,
        pair_across_backends=args.pair_across_backends,
        measure=args.measure,
    )
    shown = progress.for_stream(args.quiet)
    runner = SeveralRunner(config, progress=shown) if several else Runner(config, progress=shown)
    if driver.is_sync and not several:
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
    _check_load_options(args, runner, every_family)
    with storage.OutputLock(output):  # a second run on the same file refuses at once
        if not rtts:
            return _execute(runner, output, args.loop)
        with DelayProxy(url, rtts) as proxy:  # stopped on the way out, however it ends
            config.proxy = proxy
            return _execute(runner, output, args.loop)


def _run_drivers(args: argparse.Namespace, named: list[NamedDriver]) -> list[RunDriver]:
    """The drivers of a run of several, each with its URL: --url for the drivers of its
    backend, the backend's default for the others. A driver a group (`all`) names but
    that is not installed is left out with a line; one named by hand must be installed."""
    drivers, url_errors = [], []
    for entry in named:
        if not entry.driver.installed():
            if entry.from_group:
                print(f"sqla-bench: {entry.label} left out: not installed", file=sys.stderr)
                continue
            entry.driver.require()
        url = None
        if args.url is not None:
            try:
                url = resolve_url(entry.driver, args.url)
            except DatabaseError as exc:
                url_errors.append(str(exc))
        drivers.append(RunDriver(entry.label, entry.driver,
                                 url or resolve_url(entry.driver, None)))
    if not drivers:
        raise UsageError(f"--driver {args.driver}: none of these drivers is installed")
    if args.url is not None and len(url_errors) == len(drivers):
        raise DatabaseError(url_errors[0])  # --url fits none of the drivers
    return drivers


def _check_several(args: argparse.Namespace, drivers: list[RunDriver]) -> None:
    """What a run of several drivers does not take, said before anything starts."""
    for flag, given in (("--rtt", args.rtt), ("--processes", args.processes),
                        ("--cluster", args.cluster), ("--rate", args.rate),
                        ("--service-url", args.service_url)):
        if given:
            raise UsageError(f"{flag} measures one driver at a time: name one --driver")
    labels = [d.label for d in drivers]
    if args.driver_reference is not None and args.driver_reference not in labels:
        raise UsageError(f"--driver-reference {args.driver_reference!r} is not among the "
                         f"drivers of the run: {', '.join(labels)}")


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
            raise ScenarioError(f"unknown scenario {name!r}{did_you_mean(name, families)}; "
                                f"known: {', '.join(families)}")
    chosen = [families[n] for n in args.scenario] if args.scenario else list(families.values())
    known_variants = {v for f in chosen for v in f.variants}
    for name in args.variant:
        if name not in known_variants:
            raise ScenarioError(
                f"unknown variant {name!r}{did_you_mean(name, sorted(known_variants))} in "
                f"{', '.join(f.name for f in chosen)}; "
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
                f"unknown parameter {key!r}{did_you_mean(key, known)}; the chosen scenarios "
                f"take: {', '.join(known)}"
            )
        for family in owners:
            overrides.setdefault(family.name, {}).update(parse_overrides(family, [(key, value)]))
    return overrides


def _check_load_options(args: argparse.Namespace, runner: Any,
                        families: dict[str, Any]) -> None:
    """--processes/--cluster/--rate only for families that measure what a service
    sustains; --service-url only for fastapi_service, as an http(s) URL."""

    flags = [flag for flag, value in (("--processes", args.processes),
                                      ("--cluster", args.cluster), ("--rate", args.rate))
             if value is not None]
    if args.cluster is not None:
        check_address(args.cluster)
    if flags:
        for option, given in (("--profile-code", args.profile_code),
                              ("--explain", args.explain)):
            if given:
                raise UsageError(f"{option} looks at one round in this process: drop it or "
                                 f"{'/'.join(flags)}")
        message = refusal(runner.points, "/".join(flags), families.values())
        if message is not None:
            raise UsageError(message)
    if args.service_url is not None:
        if not args.service_url.startswith(("http://", "https://")):
            raise UsageError(f"--service-url takes http://HOST:PORT, not "
                             f"{mask_text(args.service_url)!r}")
        serving = sorted(f.name for f in families.values() if f.serves)
        if any(not p.family.serves for p in runner.points):
            raise UsageError(f"--service-url is for families that load a running service "
                             f"({', '.join(serving)}): choose them with --scenario")


def _output_path(args: argparse.Namespace) -> Path:
    if args.output is not None:
        results.check_writable(args.output)
        return Path(args.output)
    return storage.new_results_path(args.driver.replace(",", "+"))


def _namespace(label: str | None) -> str | None:
    if label is None:
        return None
    try:
        return namespace.named(label)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


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

    try:
        doc = _run_loop(_stoppable(runner), loop)
    except ProxyDied as exc:
        print(f"sqla-bench: error: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, RunInterrupted):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a late Ctrl-C must not cut the save
        done = runner.save_interrupted()
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
