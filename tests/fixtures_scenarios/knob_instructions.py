"""Test-only: an ORM lookup with a fixed amount of extra Python work per query, for the
counted gate (issue 23). SQLAB_KNOB_LOOPS=N runs N iterations of a small loop per ORM
lookup (SQLAB_KNOB_RAW_LOOPS: per raw lookup, a case whose layout spread is small): the
same instructions on any machine, unlike a busy loop sized in time."""

import os

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.api import Context, Family, Param
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import User

family = Family(
    name="knob_instructions",
    question="Does the counted gate catch a fixed amount of extra work per query?",
    unit="lookups",
    params=[Param("ops", int, quick=[5])],
    ops=lambda p: p["ops"],
    tables=models.metadata,
)


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, 20, 1)
    ctx.state["sql"] = ctx.sql(f"SELECT id, username FROM {models.USERS_TABLE} WHERE id = ?")


@family.variant("raw_driver", raw=True)
async def raw_driver(ctx: Context) -> list:
    loops = int(os.environ.get("SQLAB_KNOB_RAW_LOOPS", "0"))
    out = []
    for i in range(ctx.params["ops"]):
        out.append(tuple((await ctx.raw.fetch(ctx.state["sql"], (i % 20 + 1,)))[0]))
        if loops:
            _work(loops)
    await ctx.raw.commit()
    ctx.count_statements(len(out))
    return out


def _work(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * 3 % 7
    return total


@family.variant("orm")
async def orm(ctx: Context) -> list:
    loops = int(os.environ.get("SQLAB_KNOB_LOOPS", "0"))
    out = []
    async with AsyncSession(ctx.engine) as session:
        for i in range(ctx.params["ops"]):
            user = (await session.execute(select(User).where(User.id == i % 20 + 1))).scalar_one()
            _work(loops)
            out.append((user.id, user.username))
            session.expunge_all()
    return out
