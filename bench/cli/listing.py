"""`sqla-bench list [FAMILY]`: scenarios, variants, parameters and drivers."""

from __future__ import annotations

import argparse

from bench.api.family import ScenarioError, load_families
from bench.cli.console import print_listing
from bench.db.names import did_you_mean


def command(args: argparse.Namespace) -> int:
    families = load_families(args.scenarios_path)
    if args.family is not None:
        if args.family not in families:
            raise ScenarioError(f"unknown scenario {args.family!r}"
                                f"{did_you_mean(args.family, families)}; known: "
                                f"{', '.join(families)}")
        families = {args.family: families[args.family]}
    print_listing(families)
    return 0
