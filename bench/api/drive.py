"""The load a throughput family puts on a service: who runs which requests, and when.

A round's requests are shared among the processes that run the case (one process
in-process; N Dask workers with --processes/--cluster): process `index` of `count`
takes items index, index + count, ... and its part of the virtual users, so the
processes together do exactly the work one process would. `drive` runs this process's
share:

- closed loop (the default): `users` virtual users, each sending its next request
  as soon as the previous one answered. Latency is from send to answer.
- open loop (`--rate R`, R requests/s in total, R / count per process): request k is
  *due* at start + k / rate and is sent then, whether or not earlier ones answered (at
  most `users` in flight; a request waiting for a free user is late). Latency is
  measured from the time it was due, so a stalled database shows up as latency, not as
  fewer requests (coordinated omission, as wrk2 and pgbench -R correct for it); the
  time from actual send to answer is kept beside it as `service_time_ns`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bench.api.family import Context

T = TypeVar("T")
LATENCY = "latency_ns"
SERVICE_TIME = "service_time_ns"


async def drive(ctx: Context, items: Sequence[T], request: Callable[[T], Awaitable[Any]], *,
                users: int, one_task_each: bool = False) -> list[Any]:
    """Run this process's share of `items` through `request`, `users` at a time (the
    process's part of them); returns the results in the share's order and records the
    latencies (ctx.record_latencies). Closed loop: long-lived users pulling the next
    item, or with `one_task_each` a task per item behind a semaphore (asyncio.gather's
    shape). Open loop when ctx.load has a rate."""
    share = ctx.load
    mine = share.mine(items)
    concurrent = share.users(users)
    results: list[Any] = [None] * len(mine)
    latencies: list[int] = []
    if share.rate is not None:
        service: list[int] = []
        await _open_loop(mine, request, concurrent, share.rate, results, latencies, service)
        ctx.record_latencies(SERVICE_TIME, service)
    elif one_task_each:
        await _tasks(mine, request, concurrent, results, latencies)
    else:
        await _users(mine, request, concurrent, results, latencies)
    ctx.record_latencies(LATENCY, latencies)
    ctx.count_operations(len(mine))
    return results


async def _timed(request: Callable[[T], Awaitable[Any]], item: T, latencies: list[int]) -> Any:
    start = time.perf_counter_ns()
    result = await request(item)
    latencies.append(time.perf_counter_ns() - start)
    return result


async def _users(items: list[T], request: Callable[[T], Awaitable[Any]], users: int,
                 results: list[Any], latencies: list[int]) -> None:
    queue = iter(range(len(items)))  # shared: each item is taken by one user

    async def user() -> None:
        for i in queue:
            results[i] = await _timed(request, items[i], latencies)

    await asyncio.gather(*(user() for _ in range(users)))


async def _tasks(items: list[T], request: Callable[[T], Awaitable[Any]], users: int,
                 results: list[Any], latencies: list[int]) -> None:
    gate = asyncio.Semaphore(users)

    async def one(i: int) -> None:
        async with gate:
            results[i] = await _timed(request, items[i], latencies)

    await asyncio.gather(*(one(i) for i in range(len(items))))


async def _open_loop(items: list[T], request: Callable[[T], Awaitable[Any]], users: int,
                     rate: float, results: list[Any], latencies: list[int],
                     service: list[int]) -> None:
    gate = asyncio.Semaphore(users)
    interval_ns = 1e9 / rate
    start = time.perf_counter_ns()

    async def one(i: int, due: int) -> None:
        async with gate:
            sent = time.perf_counter_ns()
            results[i] = await request(items[i])
        done = time.perf_counter_ns()
        latencies.append(done - due)
        service.append(done - sent)

    tasks = []
    for i in range(len(items)):
        due = start + int(i * interval_ns)
        ahead = due - time.perf_counter_ns()
        if ahead > 0:
            await asyncio.sleep(ahead / 1e9)
        tasks.append(asyncio.ensure_future(one(i, due)))
    await asyncio.gather(*tasks)
