"""`sqla-bench compare BASE NEW`: which cases got faster or slower, and whether it is real.

A change counts only when both hold: the Mann-Whitney U test rejects "same
distribution" at p < 0.01, and the medians differ by more than the threshold.
The first guards against noise, the second against differences too small to
matter (with thousands of samples, a 0.5% shift is "significant").
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import results, stats
from bench.records import params_text as fmt_params
from bench.units import fmt_duration

SIGNIFICANCE = 0.01
FASTER, SLOWER, SAME = "faster", "slower", "no significant change"


@dataclass
class Pairing:
    scenario: str
    variant: str
    params: dict[str, Any]
    driver: str
    base_median: float | None  # per op, ns
    new_median: float | None
    change_pct: float | None
    p_value: float | None
    verdict: str  # faster | slower | no significant change | only in base | only in new | failed


def _per_op_samples(case: dict[str, Any]) -> list[float]:
    ops = max(1, case.get("ops_per_round") or 1)
    return [s / ops for s in case.get("samples_ns") or []]


def _smallest_p(n1: int, n2: int) -> float:
    """The smallest two-sided Mann-Whitney p-value these sample sizes can produce."""
    return 2 / math.comb(n1 + n2, n1)


def compare_docs(base: dict[str, Any], new: dict[str, Any], threshold: float) -> list[Pairing]:
    """Pair every case of both runs by (scenario, variant, params, driver) and judge it."""
    base_driver = base["config"].get("driver")
    new_driver = new["config"].get("driver")
    base_cases = {results.case_key(c, c.get("driver") or base_driver): c for c in base["cases"]}
    new_cases = {results.case_key(c, c.get("driver") or new_driver): c for c in new["cases"]}
    if base_driver != new_driver:
        # Different drivers: pair on the case itself, so the drivers can be compared.
        base_cases = {k[:3]: c for k, c in base_cases.items()}
        new_cases = {k[:3]: c for k, c in new_cases.items()}
    pairings = []
    for key in list(base_cases) + [k for k in new_cases if k not in base_cases]:
        b, n = base_cases.get(key), new_cases.get(key)
        ref = b or n
        driver = ref.get("driver") or (base_driver if b else new_driver) or "?"
        pairing = Pairing(
            ref["scenario"], ref["variant"], ref["params"], driver, None, None, None, None, ""
        )
        if b is None or n is None:
            pairing.verdict = "only in new" if b is None else "only in base"
        elif (
            b["status"] != "ok" or n["status"] != "ok" or not b["samples_ns"] or not n["samples_ns"]
        ):
            pairing.verdict = f"not comparable (base {b['status']}, new {n['status']})"
        else:
            base_samples, new_samples = _per_op_samples(b), _per_op_samples(n)
            pairing.base_median = stats.summarize(base_samples)["median"]
            pairing.new_median = stats.summarize(new_samples)["median"]
            pairing.change_pct = (pairing.new_median / pairing.base_median - 1) * 100
            pairing.p_value = stats.mann_whitney_p(base_samples, new_samples)
            significant = pairing.p_value < SIGNIFICANCE and abs(pairing.change_pct) > threshold
            if not significant and _smallest_p(len(base_samples), len(new_samples)) >= SIGNIFICANCE:
                pairing.verdict = "too few rounds to test (use --rounds 5 or more)"
            else:
                pairing.verdict = (
                    SAME if not significant else SLOWER if pairing.change_pct > 0 else FASTER
                )
        pairings.append(pairing)
    return pairings


def environment_differences(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between the two runs' setups, worth a warning before reading numbers."""
    differences = []
    checks = [
        ("driver", base["config"].get("driver"), new["config"].get("driver")),
        ("profile", base["config"].get("profile"), new["config"].get("profile")),
        ("event loop", base["environment"].get("event_loop"), new["environment"].get("event_loop")),
        ("Python", base["environment"].get("python"), new["environment"].get("python")),
        ("SQLAlchemy", base["environment"].get("sqlalchemy"), new["environment"].get("sqlalchemy")),
        ("CPU", base["environment"].get("cpu_model"), new["environment"].get("cpu_model")),
        ("server", _server(base), _server(new)),
        (
            "driver version",
            base["environment"].get("driver_versions"),
            new["environment"].get("driver_versions"),
        ),
    ]
    for name, a, b in checks:
        if a != b:
            differences.append(f"{name} differs: {a} vs {b}")
    return differences


def _server(doc: dict[str, Any]) -> str:
    server = doc["environment"].get("server") or {}
    return f"{server.get('product', '?')} {server.get('version', '')}".strip()


def comparison_table(pairings: list[Pairing], base_name: str, new_name: str) -> Table:
    table = Table(title=f"compare {base_name} → {new_name}", title_justify="left")
    for column, justify in (
        ("scenario", "left"),
        ("params", "left"),
        ("variant", "left"),
        ("base median/op", "right"),
        ("new median/op", "right"),
        ("change", "right"),
        ("p-value", "right"),
        ("verdict", "left"),
    ):
        table.add_column(column, justify=justify)
    for p in pairings:
        verdict = p.verdict.upper() if p.verdict == SLOWER else p.verdict
        style = "red" if p.verdict == SLOWER else "green" if p.verdict == FASTER else None
        table.add_row(
            p.scenario,
            fmt_params(p.params),
            p.variant,
            fmt_duration(p.base_median),
            fmt_duration(p.new_median),
            "-" if p.change_pct is None else f"{p.change_pct:+.1f}%",
            "-" if p.p_value is None else f"{p.p_value:.2g}",
            verdict,
            style=style,
        )
    return table


def run_compare(
    base: Path, new: Path, *, threshold: float, fail_on_regression: bool, html_dir: Path | None
) -> int:
    if not 0 <= threshold <= 1000:
        raise results.ResultsFileError(
            f"--threshold must be between 0 and 1000 %, not {threshold:g}"
        )
    base_doc, new_doc = results.load_any(base), results.load_any(new)
    pairings = compare_docs(base_doc, new_doc, threshold)
    if not any(
        p.base_median is not None or p.verdict.startswith("not comparable") for p in pairings
    ):
        raise results.ResultsFileError(
            f"{base} and {new} have no case in common (same scenario, variant and parameters); "
            "compare runs of the same scenarios"
        )
    for line in environment_differences(base_doc, new_doc):
        print(f"sqla-bench: warning: {line}", file=sys.stderr)
    Console(width=200).print(comparison_table(pairings, base.name, new.name))
    slower = [p for p in pairings if p.verdict == SLOWER]
    faster = [p for p in pairings if p.verdict == FASTER]
    print(
        f"{len(slower)} slower, {len(faster)} faster, "
        f"{sum(p.verdict == SAME for p in pairings)} unchanged "
        f"(significant: p < {SIGNIFICANCE} and change > {threshold:g}%)"
    )
    if html_dir is not None:
        from bench.report.compare_page import write_compare_page

        page = write_compare_page(
            pairings, base, new, environment_differences(base_doc, new_doc), threshold, html_dir
        )
        print(f"comparison page: {page}")
    if fail_on_regression and slower:
        names = ", ".join(f"{p.scenario}/{p.variant}" for p in slower[:5])
        print(f"sqla-bench: {len(slower)} case(s) significantly slower: {names}", file=sys.stderr)
        return 1
    return 0
