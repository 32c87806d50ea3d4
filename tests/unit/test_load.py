"""The parts of a distributed load that need no cluster: HDR histograms that add up,
load shares that split and merge back, and the open loop's latency from the due time."""

import asyncio
import random

import pytest

from bench.api.drive import drive
from bench.api.family import Context
from bench.api.share import LoadShare, interleave
from bench.measure import hdr


def _nearest_rank(values: list[float], percent: float) -> float:
    """HdrHistogram's rank rule: the value at rank round(p% of n), at least the first."""
    ordered = sorted(values)
    rank = max(1, int(percent * len(ordered) / 100 + 0.5))
    return ordered[rank - 1]


def test_added_histograms_give_the_percentiles_of_every_value_pooled():
    rng = random.Random(7)
    parts = [[rng.lognormvariate(13 + i, 1.2) for _ in range(3_000 + 500 * i)] for i in range(3)]
    encoded = []
    for values in parts:
        histogram = hdr.new()
        hdr.record(histogram, values)
        encoded.append(hdr.encode(histogram))
    merged = hdr.added(encoded)
    pooled = [v for values in parts for v in values]
    assert merged.get_total_count() == len(pooled)
    summary = hdr.summary(merged)
    for percent in hdr.SUMMARY_PERCENTILES:
        exact = _nearest_rank(pooled, percent)
        # 3 significant figures: the bucket's highest value, within 0.1% above the value
        assert exact <= summary[f"p{percent:g}"] <= exact * 1.001 + 1, percent
    assert summary["count"] == len(pooled)
    # averaging the parts' p99 is not the pooled p99: why histograms are added
    averaged = sum(_nearest_rank(p, 99) for p in parts) / len(parts)
    assert abs(averaged - _nearest_rank(pooled, 99)) > 0.01 * _nearest_rank(pooled, 99)


def test_an_empty_histogram_has_no_percentiles():
    summary = hdr.summary(hdr.new())
    assert summary["p99"] is None and summary["count"] == 0
    assert hdr.spectrum(hdr.encode(hdr.new())) == []


@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_shares_split_items_and_users_and_merge_back_in_order(count):
    items = list(range(23))
    shares = [LoadShare(i, count) for i in range(count)]
    parts = [share.mine(items) for share in shares]
    assert sorted(x for part in parts for x in part) == items  # each item once
    assert interleave(parts) == items
    assert sum(share.users(10) for share in shares) == max(10, count)
    assert all(share.users(10) >= 1 for share in shares)


def test_the_rate_is_shared_by_the_processes():
    assert LoadShare(0, 4, 100.0).rate == 25.0
    assert LoadShare(0, 4).rate is None


def _context(load: LoadShare) -> Context:
    ctx = Context(driver=None, url=None, params={}, engine=None, state={},  # type: ignore[arg-type]
                  connect_timeout=1.0, load=load)
    ctx.timed = True
    return ctx


def test_closed_loop_runs_the_share_and_records_a_latency_each():
    ctx = _context(LoadShare(1, 3))

    async def double(item: int) -> int:
        await asyncio.sleep(0)
        return item * 2

    results = asyncio.run(drive(ctx, list(range(10)), double, users=4))
    assert results == [2, 8, 14]  # items 1, 4, 7 in order
    assert "latency_ns" not in ctx.extra  # summarized when the case's record is made
    summaries = ctx.timing_summaries()
    assert summaries["latency_ns"]["count"] == 3
    assert summaries["latency_ns"]["p50"] == sorted(ctx.case_state["_timings:latency_ns"])[1]
    assert ctx.operations == 3
    assert "service_time_ns" not in summaries


def test_open_loop_latency_runs_from_the_due_time_not_the_send():
    """One user, each request taking at least 20 ms, due every 1 ms: request k waits for
    the k before it, and that wait is latency (coordinated omission, corrected)."""
    ctx = _context(LoadShare(0, 1, total_rate=1_000.0))
    took_ms, due_every_ms, n = 20, 1, 8

    async def slow(item: int) -> int:
        await asyncio.sleep(took_ms / 1000)
        return item

    assert asyncio.run(drive(ctx, list(range(n)), slow, users=1)) == list(range(n))
    latency = sorted(ctx.case_state["_timings:latency_ns"])
    service = sorted(ctx.case_state["_timings:service_time_ns"])
    assert len(latency) == len(service) == n
    assert all(s >= took_ms * 1e6 for s in service)
    for k, value in enumerate(latency):  # sleeps last at least as asked: lower bounds
        assert value >= ((k + 1) * took_ms - k * due_every_ms) * 1e6
