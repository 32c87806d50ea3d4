"""result_streaming: one large result, fetched whole or streamed in partitions.

The raw_queries family's large-result question, in its own family because its
round is one big query rather than many small ones. Every variant reads all
`rows` users in id order and folds them into a summary as they arrive (count,
sum of ids, first and last username), so a streaming variant never holds the
whole result and the peak-memory round shows what streaming saves.

Streaming needs server-side cursors: asyncpg, psycopg, aiomysql, asyncmy and
aiosqlite have them through SQLAlchemy; our aiopg dialect does not, so the
stream variants are skipped there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.api import RAW_VARIANT, Comparison, Context, Family, Param
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import User, users

PARTITION = 1_000  # rows per partition when streaming (yield_per for the ORM)

family = Family(
    name="result_streaming",
    question="Does stream() save memory over fetching a large result whole, and what does "
             "it cost?",
    unit="rows",
    params=[
        Param("rows", int, quick=[5_000], counted=[500], standard=[100_000], full=[100_000],
              help="users in the result"),
    ],
    ops=lambda p: p["rows"],
    tables=models.metadata,
    measure_memory=True,
    comparisons=[
        Comparison("core_stream", "core_fetch_all", "stream() instead of fetching all (Core)"),
        Comparison("orm_stream_scalars", "orm_fetch_all",
                   "stream_scalars() instead of fetching all (ORM)"),
    ],
)

RAW_SQL = f"SELECT id, username, email FROM {models.USERS_TABLE} ORDER BY id"
CORE = select(users.c.id, users.c.username, users.c.email).order_by(users.c.id)
ORM = select(User).order_by(User.id)


class _Summary:
    """Folds rows as they arrive: what a report or an export job keeps of a large read."""

    def __init__(self) -> None:
        self.count = self.id_sum = 0
        self.first = self.last = None

    def add(self, rows: Iterable[Any]) -> None:
        for user_id, username, _email in rows:
            if self.first is None:
                self.first = username
            self.count += 1
            self.id_sum += user_id
            self.last = username

    def result(self) -> list:
        return [self.count, self.id_sum, self.first, self.last]


def _entities(users_: Iterable[User]) -> Iterable[tuple]:
    return ((u.id, u.username, u.email) for u in users_)


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, ctx.params["rows"])
    ctx.state["raw_sql"] = ctx.sql(RAW_SQL)


@family.variant(RAW_VARIANT, raw=True)
async def raw_driver(ctx: Context) -> list:
    """The driver fetches every row at once."""
    summary = _Summary()
    summary.add(await ctx.raw.fetch(ctx.state["raw_sql"]))
    await ctx.raw.commit()
    ctx.count_statements(1)
    return summary.result()


@family.variant("core_fetch_all")
async def core_fetch_all(ctx: Context) -> list:
    """connection.execute(select(...)).all(): the whole result buffered."""
    summary = _Summary()
    async with ctx.engine.connect() as conn:
        summary.add((await conn.execute(CORE)).all())
    return summary.result()


@family.variant("core_stream", needs=["server_side_cursors"])
async def core_stream(ctx: Context) -> list:
    """connection.stream(select(...)), read in partitions from a server-side cursor."""
    summary = _Summary()
    async with ctx.engine.connect() as conn:
        result = await conn.stream(CORE)
        async for partition in result.partitions(PARTITION):
            summary.add(partition)
    return summary.result()


@family.variant("orm_fetch_all")
async def orm_fetch_all(ctx: Context) -> list:
    """session.scalars(select(User)).all(): every entity in the identity map at once."""
    summary = _Summary()
    async with AsyncSession(ctx.engine) as session:
        summary.add(_entities((await session.scalars(ORM)).all()))
    return summary.result()


@family.variant("orm_stream_scalars", needs=["server_side_cursors"])
async def orm_stream_scalars(ctx: Context) -> list:
    """session.stream_scalars with yield_per: entities built and dropped per partition."""
    summary = _Summary()
    async with AsyncSession(ctx.engine) as session:
        result = await session.stream_scalars(ORM.execution_options(yield_per=PARTITION))
        async for partition in result.partitions():
            summary.add(_entities(partition))
    return summary.result()
