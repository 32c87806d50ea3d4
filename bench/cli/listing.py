"""`sqla-bench list`: scenarios, variants, parameters and drivers."""

from __future__ import annotations

import argparse

from bench.api.family import load_families
from bench.cli.console import print_listing


def command(args: argparse.Namespace) -> int:
    print_listing(load_families(args.scenarios_path))
    return 0
