"""Test-only: a machine that slows down steadily during the run, and two variants whose
true ratio is known (slow does exactly twice the work of raw_driver).

Every round sleeps base × factor, where factor rises with every round run so far (any
variant's), from 1 to `end_factor` over the run: the drift is a property of the round
count, not of the wall clock, so it is the same on every run of the test. A sleep is
woken a little late on a busy machine (a delay that does not grow with the sleep), which
pulls a measured ratio slightly toward 1: rounds are long (20 ms and more) to keep that
small."""

import asyncio

from bench.api import Context, Family, Param

family = Family(
    name="drift",
    question="Does the schedule keep a known ratio on a drifting machine?",
    unit="calls",
    params=[Param("base_ms", float, quick=[20.0]), Param("end_factor", float, quick=[3.0]),
            Param("total_rounds", int, quick=[44])],
    ops=lambda p: 1,
)


async def _work(ctx: Context, units: int) -> int:
    done = ctx.state.setdefault("rounds_run", 0)
    ctx.state["rounds_run"] = done + 1
    progress = min(1.0, done / max(1, ctx.params["total_rounds"] - 1))
    factor = 1 + (ctx.params["end_factor"] - 1) * progress
    await asyncio.sleep(ctx.params["base_ms"] / 1000 * units * factor)
    return 1


@family.variant("raw_driver")
async def raw_driver(ctx: Context) -> int:
    return await _work(ctx, 1)


@family.variant("twice_the_work")
async def twice_the_work(ctx: Context) -> int:
    return await _work(ctx, 2)
