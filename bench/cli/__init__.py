"""The `sqla-bench` command: one module per command (list, doctor, run, report, history,
compare and gate, calibrate, ab, clean, replay), the parser, and the console tables.

Every mistake a user can make ends in one line on stderr saying what is wrong and
what to do, and exit status 2; never a traceback. A command's module is imported only
when that command runs, so `sqla-bench list` does not pay for the report's imports.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from bench.cli.common import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, UsageError

# command -> (module of bench.cli, its function)
COMMANDS = {
    "list": ("listing", "command"),
    "doctor": ("doctor", "command"),
    "run": ("run", "command"),
    "report": ("report", "command"),
    "history": ("history", "command"),
    "compare": ("compare", "command"),
    "gate": ("compare", "gate_command"),
    "calibrate": ("calibrate", "command"),
    "ab": ("ab", "command"),
    "clean": ("clean", "command"),
    "replay": ("replay", "command"),
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["report"]:
        # the chart workers fork now, from a small process, and import matplotlib while
        # this one imports the rest (a fifth of a one-file report's time, otherwise alone)
        from bench.report import render

        render.prestart()
    try:
        return _main(arguments)
    finally:
        if arguments[:1] == ["report"]:
            from bench.report import render

            render.discard_prestarted()


def _main(arguments: list[str]) -> int:
    from bench.cli.parser import parse

    user_errors = _user_errors()
    try:
        args = parse(arguments)
        module, function = COMMANDS[args.command]
        command = getattr(importlib.import_module(f"bench.cli.{module}"), function)
        return int(command(args))
    except user_errors as exc:
        print(f"sqla-bench: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sqla-bench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, no secrets
        if os.environ.get("SQLA_BENCH_DEBUG") == "1":
            raise
        from bench.db.masking import mask_text

        message = mask_text(_one_line(str(exc)))[:300]
        print(f"sqla-bench: internal error: {type(exc).__name__}: {message} "
              "(SQLA_BENCH_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def _user_errors() -> tuple[type[Exception], ...]:
    """The mistakes a user can make, each said in one line (imported here, not at the
    top: `main` starts the report's workers before anything heavy is imported)."""
    from bench.api.family import ScenarioError
    from bench.api.workload import WorkloadError
    from bench.db.database import DatabaseError
    from bench.db.drivers import DriverNotInstalled, UnknownDriver
    from bench.judge.repeat import WorkerError
    from bench.results.file import ResultsFileError
    from bench.rtt.control import NetworkError
    from bench.scale.cluster import ClusterError

    return (UsageError, UnknownDriver, DriverNotInstalled, DatabaseError, ScenarioError,
            ResultsFileError, WorkerError, NetworkError, ClusterError, WorkloadError)


def _one_line(text: str) -> str:
    """The error line's contract holds even for a message quoting what the user typed
    (argparse's "unrecognized arguments: ..." with a newline in an argument, say)."""
    return " ".join(text.split())
