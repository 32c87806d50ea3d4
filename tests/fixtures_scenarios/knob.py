"""Test-only: a family whose speed is a knob (SQLAB_KNOB_DELAY_MS), to prove that
pytest-benchmark's compare gate trips on a slowed variant and not on an unchanged one."""

import asyncio
import os

from bench.api import Context, Family, Param

family = Family(
    name="knob",
    question="Does the regression gate notice a slower variant?",
    unit="calls",
    params=[Param("calls", int, quick=[1])],
    ops=lambda p: p["calls"],
)


@family.variant("sleepy")
async def sleepy(ctx: Context) -> int:
    async with ctx.engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")
    await asyncio.sleep(float(os.environ.get("SQLAB_KNOB_DELAY_MS", "10")) / 1000)
    return 1


@family.variant("raw_driver", raw=True)
async def raw_driver(ctx: Context) -> int:
    await ctx.raw.fetch("SELECT 1")
    ctx.count_statements(1)
    await asyncio.sleep(float(os.environ.get("SQLAB_KNOB_DELAY_MS", "10")) / 1000)
    return 1
