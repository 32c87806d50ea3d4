"""Test-only: a family for runs of several drivers. Every round waits 5 ms on every driver
(a floor that the machine's stalls of a fraction of a ms cannot swing); a driver registered
as `slow-<real>` waits SQLAB_DRIVER_PROBE_EXTRA_MS more (default 45 ms), so its paired driver
ratio sits well above 1 (near 10 on a quiet machine); one registered as `flaky-<real>`
fails one variant. Each case counts the distinct connections its timed rounds used
(`connections`): a run of several drivers opens fresh ones every round."""

import asyncio
import os

from sqlalchemy import text

from bench.api import Context, Family, Param

family = Family(
    name="driver_probe",
    question="Are drivers measured in the same blocks and paired per block?",
    unit="ops",
    params=[Param("ops", int, quick=[2])],
    ops=lambda p: p["ops"],
)


@family.setup
async def count_setups(ctx: Context) -> None:
    ctx.state["setups"] = ctx.state.get("setups", 0) + 1


@family.before_round
async def log_order(ctx: Context) -> None:
    """(driver, variant) of every timed round in the order they ran, shared by the point's
    cases on every driver of its backend (the data is set up once per backend)."""
    if ctx.timed:
        ctx.state.setdefault("order", []).append((ctx.driver.name, ctx.variant))
        ctx.extra["order"] = ctx.state["order"]
        ctx.extra["setups"] = ctx.state["setups"]
        if ctx.raw_connection is not None:
            _used(ctx, ctx.raw_connection)


def _used(ctx: Context, conn: object) -> None:
    """Every connection a case's timed rounds used, held (so no two share an id) in the
    point's state under the case's context, and counted into the case's record."""
    seen = ctx.state.setdefault("connections", {}).setdefault(id(ctx), [])
    seen.append(conn)
    ctx.extra["connections"] = len({id(c) for c in seen})


async def _extra_work(ctx: Context) -> None:
    extra = 0.0
    if ctx.driver.name.startswith("slow-"):
        extra = float(os.environ.get("SQLAB_DRIVER_PROBE_EXTRA_MS", "45"))
    await asyncio.sleep((5 + extra) / 1000)


@family.variant("raw_driver", raw=True)
async def raw_driver(ctx: Context) -> list:
    out = [(await ctx.raw.fetch(ctx.sql("SELECT ?"), (i,)))[0][0] for i in range(ctx.params["ops"])]
    ctx.count_statements(len(out))
    await _extra_work(ctx)
    return out


@family.variant("core_text")
async def core_text(ctx: Context) -> list:
    async with ctx.engine.connect() as conn:
        out = [await conn.scalar(text("SELECT :i"), {"i": i}) for i in range(ctx.params["ops"])]
        if ctx.timed:
            _used(ctx, (await conn.get_raw_connection()).dbapi_connection)
    await _extra_work(ctx)
    return out


@family.variant("fails_on_flaky")
async def fails_on_flaky(ctx: Context) -> list:
    if ctx.driver.name.startswith("flaky-"):
        raise RuntimeError("deliberate failure on the flaky driver")
    async with ctx.engine.connect() as conn:
        return [await conn.scalar(text("SELECT :i"), {"i": i}) for i in range(ctx.params["ops"])]
