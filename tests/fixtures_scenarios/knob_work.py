"""Test-only: an ORM variant whose cost is a knob, to prove compare's verdicts.

SQLAB_KNOB_WORK=0.25 adds client work (a busy loop) of 25% of the ORM variant's own
time in every round (measured in that round, so it stays 25% however fast the machine is
that minute); the raw_driver reference is untouched, so the paired ratio moves by that
much. SQLAB_KNOB_LAZY=1 makes the ORM variant load each user's posts one
statement at a time, as an N+1 creeping back in would: a count change, whatever the times."""

import os
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.api import Context, Family, Param
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import User

family = Family(
    name="knob_work",
    question="Does compare tell a slower ORM variant from drift?",
    unit="lookups",
    params=[Param("ops", int, quick=[20])],
    ops=lambda p: p["ops"],
    tables=models.metadata,
)


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, 50, 2)
    ctx.state["sql"] = ctx.sql(f"SELECT id, username FROM {models.USERS_TABLE} WHERE id = ?")


@family.variant("raw_driver", raw=True)
async def raw_driver(ctx: Context) -> list:
    out = [tuple((await ctx.raw.fetch(ctx.state["sql"], (i % 50 + 1,)))[0])
           for i in range(ctx.params["ops"])]
    await ctx.raw.commit()
    ctx.count_statements(len(out))
    return out


async def _lookups(ctx: Context) -> list:
    out = []
    async with AsyncSession(ctx.engine) as session:
        for i in range(ctx.params["ops"]):
            user = (await session.execute(select(User).where(User.id == i % 50 + 1))).scalar_one()
            if os.environ.get("SQLAB_KNOB_LAZY") == "1":
                await user.awaitable_attrs.posts  # one more statement per lookup
            out.append((user.id, user.username))
            session.expunge_all()
    return out


def _spin(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


@family.variant("orm")
async def orm(ctx: Context) -> list:
    knob = float(os.environ.get("SQLAB_KNOB_WORK", "0"))
    start = time.perf_counter()
    out = await _lookups(ctx)
    if knob:
        _spin(knob * (time.perf_counter() - start))
    return out
