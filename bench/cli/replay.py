"""`sqla-bench replay`: a captured workload through drivers, pool sizes and RTTs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.cli.common import UsageError
from bench.cli.run import LIMITS, _check_limits, _parse_params, _rtts
from bench.db.database import resolve_url
from bench.db.drivers import Driver, get_driver
from bench.replay.forms import FORMS
from bench.replay.runner import ReplayConfig, ReplayRunner, decision_text
from bench.replay.workload import load_workload
from bench.results import file as results
from bench.results import storage
from bench.results.records import RunRecord, rtt_text
from bench.rtt.control import DelayProxy, check_reachable
from bench.scale.cluster import check_address

PARAMS = ("pool_size", "concurrency")
REPLAY_LIMITS = {**LIMITS, "rounds": (1, 10_000), "speed": (0.001, 1_000_000)}


def command(args: argparse.Namespace) -> int:
    _check_limits(args)
    for name in ("speed",):
        value = getattr(args, name)
        low, high = REPLAY_LIMITS[name]
        if value is not None and not low <= value <= high:
            raise UsageError(f"--{name} must be between {low:g} and {high:g}, not {value}")
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
    if args.commit and not args.url:
        raise UsageError("--commit changes the target's data: name the target with --url "
                         "(a staging copy), it is never the default database")
    if args.cluster is not None:
        check_address(args.cluster)
    if args.processes is not None and args.cluster is not None:
        raise UsageError("--processes and --cluster: choose one")
    if args.commit and args.no_transaction:
        raise UsageError("--commit and --no-transaction: choose one (without a transaction "
                         "each statement commits by itself)")
    workload = load_workload(args.workload)
    if args.no_transaction and not args.url:
        writes = workload.writes()
        if writes:
            raise UsageError(f"--no-transaction commits each statement, and the workload "
                             f"holds {len(writes)} that may write (first: "
                             f"{writes[0][:60]!r}): name the target with --url (a staging "
                             "copy)")
    drivers = _drivers(args.driver, workload.backend)
    params = _params(args.param)
    urls = {d.name: resolve_url(d, args.url) for d in drivers}
    rtts = _rtts(argparse.Namespace(rtt=args.rtt, rtt_fallback=False))
    first = urls[drivers[0].name]
    if rtts:
        check_reachable(first, args.connect_timeout)
    output = args.output or storage.new_results_path("replay")
    if args.output is not None:
        results.check_writable(args.output)
    config = ReplayConfig(workload=workload, drivers=drivers, urls=urls,
                          pool_sizes=params.get("pool_size", [5]),
                          concurrency=params["concurrency"][0] if "concurrency" in params
                          else None,
                          forms=args.form or list(FORMS), commit=args.commit,
                          transaction=not args.no_transaction,
                          think=args.think_time == "captured",
                          processes=args.processes, cluster=args.cluster,
                          rate=args.rate, speed=args.speed, warmup=args.warmup,
                          rounds=args.rounds, seed=args.seed,
                          connect_timeout=args.connect_timeout, output=output,
                          label=args.label)
    note = (lambda line: None) if args.quiet else \
        (lambda line: print(f"sqla-bench: {line}", file=sys.stderr, flush=True))
    for line in workload.notes:
        note(f"note: {line}")
    if workload.redacted:
        note("note: the workload is redacted: its parameters are stand-ins, so rows "
             "returned will not match the capture's")
    runner = ReplayRunner(config, note)
    with storage.OutputLock(output):
        if rtts:
            with DelayProxy(first, rtts) as proxy:
                config.proxy = proxy
                doc = asyncio.run(runner.run())
        else:
            doc = asyncio.run(runner.run())
    print_replay(doc)
    print(f"results: {output}")
    failed = [c for c in doc["cases"] if c["status"] != "ok"]
    if failed:
        print(f"sqla-bench: {len(failed)} of {len(doc['cases'])} cases failed",
              file=sys.stderr)
        return 1
    return 0


def _drivers(text: str, backend: str) -> list[Driver]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--driver names at least one driver")
    drivers = [get_driver(n) for n in names]
    for driver in drivers:
        if driver.is_sync:
            raise UsageError(f"{driver.name} is a sync baseline: replay runs async drivers")
        if driver.backend != backend:
            raise UsageError(f"the workload was captured on {backend}, and {driver.name} is "
                             f"a {driver.backend} driver: choose a {backend} driver")
        driver.require()
    return drivers


def _params(pairs: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for key, value in _parse_params(pairs):
        if key not in PARAMS:
            raise UsageError(f"replay takes --param {' or '.join(PARAMS)}, not {key!r}")
        try:
            numbers = [int(v) for v in value.split(",")]
        except ValueError:
            raise UsageError(f"--param {key} takes whole numbers, not {value!r}") from None
        if any(not 1 <= n <= 10_000 for n in numbers):
            raise UsageError(f"--param {key} values must be between 1 and 10000")
        found[key] = numbers
    if len(found.get("concurrency", [])) > 1:
        raise UsageError("--param concurrency takes one value")
    return found


def print_replay(doc: RunRecord, console: Console | None = None) -> None:
    """Per driver x pool size x RTT x form: units/s, statements per unit, failures, the
    slowest unit type's p99; then the top statements and the driver decisions."""
    console = console or Console(width=200)
    table = Table(title=f"replay of {doc.get('replay', {}).get('workload', '?')}")
    for column in ("driver", "pool", "rtt", "form", "units/s", "vs raw", "stmts/unit",
                   "cmds/unit", "failed", "rows≠", "p99 per unit type (ms)"):
        table.add_column(column)
    for case in doc["cases"]:
        extra: dict[str, Any] = case["extra"].get("replay", {})
        paired = case.get("paired")
        types = extra.get("unit_types", {})
        p99 = ", ".join(f"{name} {(t.get('p99') or 0) / 1e6:.1f}"
                        for name, t in list(types.items())[:3])
        table.add_row(case["driver"], str(case["params"]["pool_size"]),
                      rtt_text(case.get("rtt_ms")), case["variant"],
                      f"{case['throughput_per_s']:.1f}" if case["throughput_per_s"] else
                      (case["error"] or "-")[:60],
                      f"{paired['median']:.2f}x" if paired else "",
                      str(extra.get("statements_per_unit", "-")),
                      str(extra.get("commands_per_unit", "-")),
                      str(extra.get("failures", 0)), str(extra.get("rows_mismatched", 0)),
                      p99)
    console.print(table)
    shown: set[str] = set()
    for case in doc["cases"]:
        for failing in case["extra"].get("replay", {}).get("failed_statements", []):
            if failing["sql"] not in shown:
                shown.add(failing["sql"])
                console.print(f"failed on replay ({failing['failures']}x in "
                              f"{case['driver']} {case['variant']}): {failing['sql'][:100]!r}: "
                              f"{failing['first_error']}", markup=False, highlight=False)
    if doc["cases"]:
        top = doc["cases"][0]["extra"].get("replay", {}).get("top_statements", [])[:5]
        if top:
            console.print(f"top statements by total time ({doc['cases'][0]['driver']} "
                          f"{doc['cases'][0]['variant']}):", markup=False)
            for item in top:
                console.print(f"  {item['share']:6.1%}  {item['count']:6d}x  "
                              f"{item['sql'][:110]}", markup=False, highlight=False)
    for ratio in doc.get("replay", {}).get("driver_ratios", []):
        console.print(decision_text(ratio), markup=False, highlight=False)
