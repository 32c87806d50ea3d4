"""Latency histograms (HdrHistogram): recorded per request, added across processes.

A histogram keeps every latency to 3 significant figures from 1 ns to an hour in a
fixed set of buckets, so histograms from many processes or machines can be *added*
(bucket by bucket) and any percentile read from the sum: averaging percentiles of
parts is wrong, adding histograms is exact to the histogram's precision. Encoded
(the HdrHistogram V2 format, compressed and base64), one travels from a worker and
is stored in a case record, where any percentile can be computed again later.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hdrh.histogram import HdrHistogram

LOWEST_NS = 1
HIGHEST_NS = 3_600 * 10**9  # an hour: longer is clamped to it
SIGNIFICANT_FIGURES = 3
# What the report and summaries show; the stored histogram answers any other.
SUMMARY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9, 99.99)
SPECTRUM_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99)


def new() -> HdrHistogram:
    return HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_FIGURES)


def record(histogram: HdrHistogram, values_ns: Iterable[float]) -> None:
    """Add values in ns; below 1 ns counts as 1 ns, beyond an hour as an hour."""
    for value in values_ns:
        histogram.record_value(min(max(int(value), LOWEST_NS), HIGHEST_NS))


def encode(histogram: HdrHistogram) -> str:
    encoded = histogram.encode()
    return encoded.decode("ascii") if isinstance(encoded, bytes) else str(encoded)


def decode(encoded: str) -> HdrHistogram:
    return HdrHistogram.decode(encoded)


def added(encoded: Sequence[str]) -> HdrHistogram:
    """The sum of encoded histograms (an empty histogram for none)."""
    total = new()
    for text in encoded:
        total.add(decode(text))
    return total


def percentile(histogram: HdrHistogram, percent: float) -> float | None:
    """The value at `percent` (0-100): the highest value of its bucket, as HdrHistogram
    reports it; None for an empty histogram."""
    if histogram.get_total_count() == 0:
        return None
    return float(histogram.get_value_at_percentile(percent))


def summary(histogram: HdrHistogram) -> dict[str, float | None]:
    """p50 ... p99.99, max and count: what a case's extra shows for a latency key."""
    count = histogram.get_total_count()
    out: dict[str, float | None] = {}
    values = histogram.get_percentile_to_value_dict(list(SUMMARY_PERCENTILES)) if count else {}
    for point in SUMMARY_PERCENTILES:
        out[f"p{point:g}"] = float(values[point]) if count else None
    out["max"] = float(histogram.get_max_value()) if count else None
    out["count"] = count
    return out


def spectrum(encoded: str) -> list[tuple[float, float]]:
    """(percentile, value in ns) along SPECTRUM_PERCENTILES, for a percentile chart."""
    histogram = decode(encoded)
    if histogram.get_total_count() == 0:
        return []
    values = histogram.get_percentile_to_value_dict(list(SPECTRUM_PERCENTILES))
    return [(point, float(values[point])) for point in SPECTRUM_PERCENTILES]
