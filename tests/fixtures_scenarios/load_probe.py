"""Test-only: a family that scales, for the distributed path. Each request is a real
SELECT on PostgreSQL; the variant keeps every latency it records (extra["raw_ns"], a
list the coordinator concatenates) beside the histogram, so a test can pool the raw
values of every worker and read the merged histogram against them. At kill=True the
second load process kills itself in its first timed round: a worker dying mid-case. At
fail=True it raises an error holding the database URL, password and all: the error
that comes back must be masked."""

import os
import signal
import time

from bench.api import Context, Family, Param, drive

family = Family(
    name="load_probe",
    question="Does the load of several processes add up?",
    unit="requests",
    params=[Param("requests", int, quick=[40]), Param("concurrency", int, quick=[4]),
            Param("kill", bool, quick=[False]), Param("fail", bool, quick=[False])],
    ops=lambda p: p["requests"],
    reference="select",
    scales=True,
)


@family.variant("select")
async def select(ctx: Context) -> list:
    if ctx.params["kill"] and ctx.timed and ctx.load.index == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    if ctx.params["fail"] and ctx.load.index == 1:
        raise RuntimeError(f"cannot go on with {ctx.url.render_as_string(hide_password=False)}")
    timings: list[int] = []

    async def request(item: int) -> int:
        start = time.perf_counter_ns()
        async with ctx.engine.connect() as conn:
            value = (await conn.exec_driver_sql(f"SELECT {item}")).scalar_one()
        timings.append(time.perf_counter_ns() - start)
        return int(value)

    answers = await drive(ctx, list(range(ctx.params["requests"])), request,
                          users=ctx.params["concurrency"])
    ctx.record_latencies("probe_ns", timings)
    if ctx.timed:
        ctx.extra["raw_ns"] = ctx.extra.get("raw_ns", []) + timings
        ctx.extra["share_sizes"] = ctx.extra.get("share_sizes", []) + [len(answers)]
    return answers
