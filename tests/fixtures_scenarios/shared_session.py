"""Test-only: the bug of sharing ONE AsyncSession between concurrent tasks.

Concurrent add/commit on one session fails inside SQLAlchemy (the session's
state machine or the connection being provisioned twice); the harness must
record that as an error case and go on, not crash.
"""

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from bench.api import Context, Family, Param
from scenarios import models
from scenarios.models import User

family = Family(
    name="shared_session_misuse",
    question="What happens when concurrent tasks share one AsyncSession?",
    unit="requests",
    params=[Param("concurrency", int, quick=[8])],
    ops=lambda p: p["concurrency"],
    tables=models.metadata,
)


@family.before_round
async def empty(ctx: Context) -> None:
    async with ctx.engine.begin() as conn:
        await conn.execute(models.users.delete())


@family.variant("one_session_per_task")
async def one_session_per_task(ctx: Context) -> list:
    async def request(i: int) -> int:
        async with AsyncSession(ctx.engine) as session:
            session.add(User(username=f"u{i}", email=f"u{i}@x"))
            await session.commit()
            return i

    return sorted(await asyncio.gather(*(request(i) for i in range(ctx.params["concurrency"]))))


@family.variant("shared_session")
async def shared_session(ctx: Context) -> list:
    async with AsyncSession(ctx.engine) as session:
        async def request(i: int) -> int:
            session.add(User(username=f"u{i}", email=f"u{i}@x"))
            await session.commit()
            return i

        return sorted(await asyncio.gather(*(request(i)
                                             for i in range(ctx.params["concurrency"]))))


@family.variant("after_the_misuse")
async def after_the_misuse(ctx: Context) -> list:
    return await one_session_per_task(ctx)
