"""From measured rounds to case records: statistics, counts, CPU and paired ratios."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence

from bench.measure.instructions import counting
from bench.measure.instructions.callgrind_out import COUNTED
from bench.measure.instructions.identity import (
    python_build,
    this_process_layout,
    valgrind_version,
)
from bench.measure.instructions.summary import relative_range
from bench.measure.rounds import RoundResult
from bench.results import stats
from bench.results.records import CaseRecord, PairedDriver


def record_rounds(case: CaseRecord, rounds: Sequence[RoundResult], blocks: Sequence[int],
                  machine_ns: Sequence[int] = ()) -> None:
    """Put a case's timed rounds and what follows from them into its record; `machine_ns`
    is the speed probe of each round's block (bench.measure.machine)."""
    samples = [r.wall_ns for r in rounds]
    waits = [r.wait_ns for r in rounds]
    case["samples_ns"] = samples
    case["blocks"] = list(blocks)
    if machine_ns:
        case["machine_ns"] = list(machine_ns)
    case["cpu_ns"] = [r.cpu_ns for r in rounds]
    case["wait_ns"] = None if any(w is None for w in waits) else [int(w or 0) for w in waits]
    stray = sum(r.stray_tasks for r in rounds)
    if stray:
        case["extra"]["stray_tasks_cancelled"] = stray
    if not samples:
        return
    ops = case["ops_per_round"]
    summary = stats.summarize(samples)
    statements = sum(r.statements for r in rounds)
    case["stats"] = summary
    case["unstable"] = stats.is_unstable(summary["cv"])
    case["noisy_rounds"] = stats.noisy_rounds(samples, case["wait_ns"])
    case["cpu_share"] = stats.cpu_share(samples, case["cpu_ns"])
    case["statements_per_op"] = round(statements / (len(samples) * ops), 6)
    case["extra"]["statements_per_round"] = round(statements / len(samples), 2)
    case["throughput_per_s"] = ops / (summary["median"] / 1e9) if summary["median"] > 0 else None
    labels = [r.count_label for r in rounds if r.count_label is not None]
    if labels:
        record_counts(case, labels)


def record_counts(case: CaseRecord, labels: list[str]) -> None:
    """In a counting child: the rounds' instruction counts, per op, from the callgrind
    file (this process's one layout; the parent merges the layouts)."""
    counter = counting.active()
    assert counter is not None, "rounds were labelled by an active counter"
    counts = counter.counts(labels)
    per_op = [count.counted / case["ops_per_round"] for count in counts]
    if len(per_op) != len(labels):
        case["extra"]["instructions_error"] = (f"{len(per_op)} of {len(labels)} counted rounds "
                                               "found in the callgrind file")
    if per_op:
        case["instructions_per_op"] = statistics.median(per_op)
        case["instructions"] = {
            "per_op": statistics.median(per_op), "rounds": per_op, "layouts": [],
            "spread": None, "round_spread": relative_range(per_op),
            "valgrind": valgrind_version(), "python_build": python_build(),
            "counted": COUNTED, "layout": this_process_layout(),
            # information, not judged: what the layout decides (callgrind_out)
            "excluded_per_op": statistics.median(count.excluded / case["ops_per_round"]
                                                 for count in counts),
        }


def record_paired(cases: Sequence[CaseRecord], reference: str | None) -> None:
    """Every ok case's per-block ratio to the point's reference case (itself ok)."""
    by_name = {c["variant"]: c for c in cases}
    ref = by_name.get(reference or "")
    for case in cases:
        case["reference"] = reference
    if ref is None or ref["status"] != "ok":
        return
    for case in cases:
        if case is ref or case["status"] != "ok":
            continue
        ratios = stats.block_ratios(case["samples_ns"], case["blocks"], case["ops_per_round"],
                                    ref["samples_ns"], ref["blocks"], ref["ops_per_round"])
        if ratios:
            median, low, high = stats.ratio_summary(ratios)
            case["paired"] = {"reference": ref["variant"], "ratios": ratios,
                              "median": median, "ci95_low": low, "ci95_high": high}


def record_paired_drivers(records: dict[str, dict[str, CaseRecord]],
                          references: dict[str, str]) -> None:
    """Every ok case's per-block ratio to the same variant on its reference driver, in the
    same blocks (a several-driver run): `records` maps a driver label to its cases by
    variant, `references` a label to its reference driver's label (none: not paired)."""
    for label, cases in records.items():
        reference = references.get(label)
        if reference is None or reference == label or reference not in records:
            continue
        for variant, case in cases.items():
            ref = records[reference].get(variant)
            if ref is None or ref["status"] != "ok" or case["status"] != "ok":
                continue
            ratios = stats.block_ratios(case["samples_ns"], case["blocks"],
                                        case["ops_per_round"], ref["samples_ns"],
                                        ref["blocks"], ref["ops_per_round"])
            if ratios:
                median, low, high = stats.ratio_summary(ratios)
                case["paired_driver"] = {"reference": reference, "ratios": ratios,
                                         "median": median, "ci95_low": low,
                                         "ci95_high": high, "n": len(ratios)}


# A family's driver decision names every case where one driver beat the other: its
# intervals hold together at this level (Bonferroni over the family's cases on the driver).
FAMILY_WISE_CONFIDENCE = 0.95


def family_wise_driver_intervals(cases: Sequence[CaseRecord]) -> None:
    """Every paired driver ratio's interval, made to hold together with the other cases of
    its family on the same driver pair: with m such cases, each at 1 - 0.05/m. A family's
    decision ("1.4× faster on selectinload; no clear winner on ...") reads m intervals at
    once; at 95% each, a driver against itself (an A/A) would name a winner somewhere in
    a 17-case family about one run in two. Recomputed as a run's points arrive (m grows)."""
    groups: dict[tuple[str, str, str], list[PairedDriver]] = defaultdict(list)
    for case in cases:
        paired = case.get("paired_driver")
        if paired is not None and paired["ratios"]:
            groups[(case["scenario"], case["driver"] or "", paired["reference"])].append(paired)
    for group in groups.values():
        confidence = 1 - (1 - FAMILY_WISE_CONFIDENCE) / len(group)
        for paired in group:
            paired["ci95_low"], paired["ci95_high"] = stats.median_ci(paired["ratios"],
                                                                      confidence)
            paired["confidence"] = confidence


def is_noisy(case: CaseRecord) -> bool:
    """Many of the case's rounds waited for a CPU: its times say more about the machine."""
    rounds = len(case["samples_ns"])
    return rounds > 0 and case["noisy_rounds"] / rounds >= stats.NOISY_CASE_SHARE
