"""`sqla-bench clean`: drop the leftovers of runs that are gone (killed outright), in the
default databases or the one of --url; runs in progress are never touched."""

from __future__ import annotations

import argparse

from bench.db import registry
from bench.db.database import DatabaseError
from bench.db.doctor import default_databases, shown


def command(args: argparse.Namespace) -> int:
    for url in default_databases(args.url):
        try:
            dropped = registry.clean(url, say=lambda line: print(f"sqla-bench: {line}"))
            live = sum(1 for _, gone in registry.runs(url) if not gone)
        except DatabaseError as exc:
            if args.url is not None:
                raise  # the database asked for: one line, exit 2
            print(f"sqla-bench: skipped {shown(url)}: {exc}")  # a default one that is down
            continue
        print(f"{shown(url)}: {len(dropped)} leftover(s) dropped, {live} run(s) in progress "
              "left alone")
    return 0
