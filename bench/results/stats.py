"""Summaries of timing samples, and paired ratios between variants.

The headline of a time is the median, with a distribution-free 95% confidence interval
(order statistics): benchmark timings are skewed (a floor and a long right tail), so the
median and such an interval describe them better than mean +- stdev.

The headline of a comparison between two variants is their *paired ratio*: rounds
run in blocks (one round of every variant each), so a variant's round and its
reference's round in the same block shared the machine's state of that moment. The
ratio per block cancels the drift; its median and that interval over blocks are what
stays put from run to run on a machine whose speed wanders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.results.records import Stats

UNSTABLE_CV = 0.10  # a case whose samples vary more than this is flagged
NOISY_WAIT_SHARE = 0.10  # a round that waited for a CPU this share of its time is noisy
NOISY_CASE_SHARE = 0.25  # a case with this share of noisy rounds says so


def median_ci(samples: Sequence[float] | np.ndarray, confidence: float = 0.95
              ) -> tuple[float, float]:
    """Distribution-free confidence interval of the median: the order statistics whose
    ranks the binomial distribution gives, so it covers the true median at least
    `confidence` of the time whatever the samples' shape (for 15 blocks at 95%: the 4th
    and 12th, 96.5%). A percentile bootstrap of the median, used before, interpolates
    inside those ranks and covered about 92% at 15 samples. Below 6 samples no pair of
    order statistics reaches 95%, and the interval is the whole range."""
    data = np.sort(np.asarray(samples, dtype=float))
    if data.size == 0:
        raise ValueError("no samples")
    rank = _median_rank(int(data.size), (1.0 - confidence) / 2.0)
    return float(data[rank - 1]), float(data[data.size - rank])


def _median_rank(n: int, tail: float) -> int:
    """The most inward rank k (1-based) with P(Binomial(n, 1/2) <= k - 1) <= tail: the
    chance that the k-th smallest sample lies above the true median, one side's miss.
    Summed term by term in logs (2^-n underflows past 1,074 samples); scipy.stats would
    cost a second to import, and every run and report imports this module."""
    log_term = -n * math.log(2.0)  # log P(X = 0)
    below, rank = 0.0, 0
    while rank < n // 2:
        below += math.exp(log_term)
        if below > tail:
            break
        log_term += math.log((n - rank) / (rank + 1))  # P(X = i + 1) from P(X = i)
        rank += 1
    return max(1, rank)


def summarize(samples: Sequence[float]) -> Stats:
    """Every statistic of the results file, in the samples' unit (ns)."""
    data = np.asarray(samples, dtype=float)
    if data.size == 0:
        raise ValueError("no samples")
    mean = float(data.mean())
    stdev = float(data.std(ddof=1)) if data.size > 1 else 0.0
    q1, median, q3, p95, p99 = np.percentile(data, [25, 50, 75, 95, 99])
    ci_low, ci_high = median_ci(data)
    return {
        "min": float(data.min()),
        "max": float(data.max()),
        "median": float(median),
        "mean": mean,
        "stdev": stdev,
        "iqr": float(q3 - q1),
        "p95": float(p95),
        "p99": float(p99),
        "cv": stdev / mean if mean > 0 else 0.0,
        "ci95_low": ci_low,
        "ci95_high": ci_high,
    }


def block_ratios(samples: Sequence[float], blocks: Sequence[int], ops: int,
                 ref_samples: Sequence[float], ref_blocks: Sequence[int],
                 ref_ops: int) -> list[float]:
    """Per block both ran in: (time per op of the variant) / (time per op of the reference)."""
    reference = {b: s / ref_ops for s, b in zip(ref_samples, ref_blocks, strict=True) if s > 0}
    return [(s / ops) / reference[b] for s, b in zip(samples, blocks, strict=True)
            if b in reference]


def ratio_summary(ratios: Sequence[float]) -> tuple[float, float, float]:
    """Median of per-block ratios and its 95% interval over blocks."""
    data = np.asarray(ratios, dtype=float)
    low, high = median_ci(data)
    return float(np.median(data)), low, high


def noisy_rounds(samples: Sequence[float], waits: Sequence[float] | None) -> int:
    """Rounds whose time waiting for a CPU was a large share of their wall time."""
    if not waits:
        return 0
    return sum(1 for s, w in zip(samples, waits, strict=True) if s > 0 and w / s > NOISY_WAIT_SHARE)


def cpu_share(samples: Sequence[float], cpu: Sequence[float]) -> float | None:
    """Median share of a round's wall time that the process spent on a CPU: client work
    (Python, SQLAlchemy, the driver) rather than waiting for the database."""
    shares = [c / s for s, c in zip(samples, cpu, strict=True) if s > 0]
    return float(np.median(shares)) if shares else None


def percentiles(
    values: Sequence[float], points: Sequence[float] = (50, 95, 99)
) -> dict[str, float | None]:
    """Named percentiles (p50, p95, ...) of any list of values, e.g. latencies or pool waits."""
    if len(values) == 0:
        return {f"p{p:g}": None for p in points}  # JSON has no NaN
    found = np.percentile(np.asarray(values, dtype=float), list(points))
    return {f"p{p:g}": float(v) for p, v in zip(points, found, strict=True)}


def is_unstable(cv: float) -> bool:
    return cv > UNSTABLE_CV
