"""A test-only family exercising the runner: agreement, wrong data, errors, counting."""

from sqlalchemy import text

from bench.api import Context, Family, Param

family = Family(
    name="runner_probe",
    question="Does the runner judge and record cases correctly?",
    unit="ops",
    params=[Param("ops", int, quick=[3])],
    ops=lambda p: p["ops"],
)


@family.setup
async def remember(ctx: Context) -> None:
    ctx.state["setup_runs"] = ctx.state.get("setup_runs", 0) + 1


@family.before_round
async def log_order(ctx: Context) -> None:
    """The variant of every timed round, in the order they ran (shared by every case)."""
    if ctx.timed:
        ctx.extra["order"] = ctx.state.setdefault("order", [])
        ctx.extra["order"].append(ctx.variant)


@family.variant("raw_driver", raw=True)
async def raw_driver(ctx: Context) -> list:
    out = [(await ctx.raw.fetch(ctx.sql("SELECT ?"), (i,)))[0][0] for i in range(ctx.params["ops"])]
    ctx.count_statements(len(out))
    return out


@family.variant("text_twice_per_op")
async def text_twice(ctx: Context) -> list:
    out = []
    async with ctx.engine.connect() as conn:
        for i in range(ctx.params["ops"]):
            await conn.execute(text("SELECT 0"))
            out.append(await conn.scalar(text("SELECT :i"), {"i": i}))
    return out


@family.variant("off_by_one")
async def off_by_one(ctx: Context) -> list:
    async with ctx.engine.connect() as conn:
        ops = range(ctx.params["ops"])
        return [await conn.scalar(text("SELECT :i"), {"i": i + 1}) for i in ops]


@family.variant("raises")
async def raises(ctx: Context) -> list:
    raise RuntimeError("deliberate failure in a variant")


@family.variant("after_failure")
async def after_failure(ctx: Context) -> list:
    async with ctx.engine.connect() as conn:
        return [await conn.scalar(text("SELECT :i"), {"i": i}) for i in range(ctx.params["ops"])]
