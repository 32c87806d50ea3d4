"""A test-only family that releases its connections between rounds unless its case hook
finds room for them all (ctx.hold_connections), as pool_sizing does."""

from sqlalchemy import text

from bench.api import RAW_VARIANT, Context, Family, Param

family = Family(
    name="release_probe",
    question="Does a case keep its connections when there is room for them?",
    unit="ops",
    params=[Param("hold", int, quick=[0, 1], help="1: the case hook finds room")],
    ops=lambda p: 1,
    release_between_rounds=True,
)


@family.case_setup
async def find_room(ctx: Context) -> None:
    ctx.hold_connections = bool(ctx.params["hold"])


async def _calls(ctx: Context) -> int:
    """Every round this case ran (timed, warm-up, warm-again and extra), counted."""
    ctx.case_state["calls"] = ctx.case_state.get("calls", 0) + 1
    ctx.extra["calls"] = ctx.case_state["calls"]
    async with ctx.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT 1")))


@family.variant(RAW_VARIANT)
async def raw_driver(ctx: Context) -> int:
    return await _calls(ctx)


@family.variant("engine")
async def engine(ctx: Context) -> int:
    return await _calls(ctx)
