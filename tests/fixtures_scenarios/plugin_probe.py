"""Test-only: what the pytest plug-in must do as the runner does: check data against the
reference, run after_round, and count statements over every timed round."""

from sqlalchemy import text

from bench.api import Context, Family, Param

family = Family(
    name="plugin_probe",
    question="Does the plug-in run the runner's whole round?",
    unit="ops",
    params=[Param("ops", int, quick=[2]), Param("fail_after_round", bool, quick=[False])],
    ops=lambda p: 1,
)


@family.after_round
async def check(ctx: Context, data: object) -> None:
    if ctx.params["fail_after_round"] and ctx.variant == "growing":
        raise AssertionError("after_round found the table in a bad state")


@family.variant("raw_driver", raw=True)
async def raw_driver(ctx: Context) -> list:
    out = [(await ctx.raw.fetch(ctx.sql("SELECT ?"), (i,)))[0][0] for i in range(ctx.params["ops"])]
    ctx.count_statements(len(out))
    return out


@family.variant("growing")
async def growing(ctx: Context) -> list:
    """Round k of the case sends k more statements: a count of one round would be off."""
    rounds = ctx.case_state["rounds"] = ctx.case_state.get("rounds", 0) + 1
    async with ctx.engine.connect() as conn:
        for _ in range(rounds):
            await conn.execute(text("SELECT 0"))
        return [await conn.scalar(text("SELECT :i"), {"i": i}) for i in range(ctx.params["ops"])]


@family.variant("wrong_data")
async def wrong_data(ctx: Context) -> list:
    async with ctx.engine.connect() as conn:
        return [await conn.scalar(text("SELECT :i"), {"i": i + 1})
                for i in range(ctx.params["ops"])]
