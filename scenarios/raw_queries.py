"""raw_queries: the same small read at every layer, from the bare driver up to the ORM.

Each round opens one connection (or session) and runs `ops` queries on it, as a
request handler would. Queries:
- pk_lookup: a single user by primary key (distinct ids, so the ORM's identity
  map never answers without SQL);
- select_1: `SELECT 1`, the round trip with nothing to fetch or convert.
"""

from __future__ import annotations

import random

from sqlalchemy import insert, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.scenario import Context, Family, Param
from scenarios import models
from scenarios.models import User, users

family = Family(
    name="raw_queries",
    question="What does each SQLAlchemy layer cost over the driver?",
    unit="queries",
    params=[
        Param(
            "query",
            str,
            quick=["pk_lookup", "select_1"],
            choices=("pk_lookup", "select_1"),
            help="pk_lookup: one user by primary key; select_1: SELECT 1",
        ),
        Param(
            "users",
            int,
            quick=[1_000],
            standard=[10_000],
            full=[100_000],
            help="rows seeded in the users table",
        ),
        Param(
            "ops",
            int,
            quick=[100],
            standard=[500],
            full=[1_000],
            help="queries per round, on one connection",
        ),
    ],
    ops=lambda p: p["ops"],
    tables=models.metadata,
)

PK_SQL = f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id = ?"
PK_TEXT = text(f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id = :id")
SEED_BATCH = 5_000


def _pk_only(_driver, params) -> bool:
    return params["query"] == "pk_lookup"


@family.setup
async def seed(ctx: Context) -> None:
    count = ctx.params["users"]
    async with ctx.engine.begin() as conn:
        for start in range(1, count + 1, SEED_BATCH):
            stop = min(count, start + SEED_BATCH - 1)
            await conn.execute(insert(users), [models.user_row(i) for i in range(start, stop + 1)])
    rng = random.Random(ctx.state["seed"])
    ctx.state["ids"] = rng.sample(range(1, count + 1), min(ctx.params["ops"], count))
    # Queries per round beyond the table's size wrap around the sample.
    ctx.state["ids"] = [
        ctx.state["ids"][i % len(ctx.state["ids"])] for i in range(ctx.params["ops"])
    ]
    ctx.state["raw_pk_sql"] = ctx.sql(PK_SQL)
    ctx.state["raw_select_1"] = ctx.sql("SELECT 1")


@family.variant("raw_driver")
async def raw_driver(ctx: Context) -> list:
    """The driver alone: one fetch per query."""
    raw = ctx.raw
    out = []
    if ctx.params["query"] == "select_1":
        sql = ctx.state["raw_select_1"]
        for _ in range(ctx.params["ops"]):
            out.append((await raw.fetch(sql))[0][0])
    else:
        sql = ctx.state["raw_pk_sql"]
        for user_id in ctx.state["ids"]:
            out.append(tuple((await raw.fetch(sql, (user_id,)))[0]))
    await raw.commit()  # end the driver's implicit transaction, as the pooled variants do
    ctx.count_statements(len(out))
    return out


@family.variant("text")
async def text_query(ctx: Context) -> list:
    """connection.execute(text(...)): SQLAlchemy Core with hand-written SQL."""
    out = []
    async with ctx.engine.connect() as conn:
        if ctx.params["query"] == "select_1":
            for _ in range(ctx.params["ops"]):
                out.append(await conn.scalar(text("SELECT 1")))
        else:
            for user_id in ctx.state["ids"]:
                out.append(tuple((await conn.execute(PK_TEXT, {"id": user_id})).one()))
    return out


@family.variant("core_select")
async def core_select(ctx: Context) -> list:
    """connection.execute(select(...)): a Core statement built per query, as apps write it."""
    out = []
    async with ctx.engine.connect() as conn:
        if ctx.params["query"] == "select_1":
            for _ in range(ctx.params["ops"]):
                out.append(await conn.scalar(select(literal_column("1"))))
        else:
            for user_id in ctx.state["ids"]:
                stmt = select(users.c.id, users.c.username, users.c.email).where(
                    users.c.id == user_id
                )
                out.append(tuple((await conn.execute(stmt)).one()))
    return out


@family.variant("orm_select")
async def orm_select(ctx: Context) -> list:
    """AsyncSession.execute(select(User)): ORM entities, one session per round."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        if ctx.params["query"] == "select_1":
            for _ in range(ctx.params["ops"]):
                out.append(await session.scalar(select(literal_column("1"))))
        else:
            for user_id in ctx.state["ids"]:
                user = (await session.execute(select(User).where(User.id == user_id))).scalar_one()
                out.append((user.id, user.username, user.email))
    return out


@family.variant("orm_get", when=_pk_only)
async def orm_get(ctx: Context) -> list:
    """AsyncSession.get(User, id): the ORM's primary-key path."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for user_id in ctx.state["ids"]:
            user = await session.get(User, user_id)
            out.append((user.id, user.username, user.email))
    return out
