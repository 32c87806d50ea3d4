"""caches: which SQLAlchemy and driver caches matter for a stream of small queries.

Every round looks up `ops` users by primary key on one connection (or session),
cycling through `hot` distinct ids, as a service does with its popular rows.
Patterns (each compared within itself, with the raw driver as its floor):
- compiled: SQLAlchemy's compiled-statement cache on (default) vs off
  (`query_cache_size=0`), for an ORM select and a Core select;
- prepared: the driver's client-side prepared statements as shipped vs turned off
  (the driver row's `unprepared_connect_args`: asyncpg `prepared_statement_cache_size=0`,
  as PgBouncer in transaction mode requires; psycopg `prepare_threshold=None`).
  Drivers without such a cache skip the pattern, with the reason;
- result: an application-level dict cache in front of the database (cold at the
  start of each round) vs asking the database every time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.api import RAW_VARIANT, Comparison, Context, Driver, Family, Param
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import User, users

family = Family(
    name="caches",
    question="Which SQLAlchemy and driver caches matter here?",
    unit="queries",
    params=[
        Param("cache", str, quick=["compiled", "prepared", "result"],
              choices=("compiled", "prepared", "result"),
              help="compiled: SQLAlchemy's statement cache; prepared: the driver's "
                   "prepared statements; result: an application dict cache"),
        Param("ops", int, quick=[30], counted=[10], standard=[500], full=[2_000],
              help="queries per round, on one connection"),
        Param("hot", int, quick=[10], counted=[5], standard=[50], full=[200],
              help="distinct ids the queries cycle through"),
    ],
    ops=lambda p: p["ops"],
    tables=models.metadata,
    comparisons=[
        Comparison("orm_cached", "orm_no_cache", "SQLAlchemy's compiled cache, on or off (ORM)",
                   at={"cache": "compiled"}),
        Comparison("prepared_default", "prepared_off",
                   "the driver's prepared statements, on or off (as PgBouncer needs)",
                   at={"cache": "prepared"}),
        Comparison("app_dict_cache", "database_every_time",
                   "an application result cache instead of asking the database",
                   at={"cache": "result"}),
    ],
)

RAW_SQL = f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id = ?"
SEEDED = 1_000


def _core_lookup(user_id: int) -> Select:
    return select(users.c.id, users.c.username, users.c.email).where(users.c.id == user_id)


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, max(SEEDED, ctx.params["hot"]))
    rng = random.Random(ctx.state["seed"])
    hot = rng.sample(range(1, max(SEEDED, ctx.params["hot"]) + 1), ctx.params["hot"])
    ctx.state["ids"] = [hot[i % len(hot)] for i in range(ctx.params["ops"])]
    ctx.state["raw_sql"] = ctx.sql(RAW_SQL)


@family.variant(RAW_VARIANT, raw=True)
async def raw_driver(ctx: Context) -> list:
    """The driver alone, one fetch per query, no cache: the floor of every pattern."""
    out = [tuple((await ctx.raw.fetch(ctx.state["raw_sql"], (i,)))[0]) for i in ctx.state["ids"]]
    await ctx.raw.commit()
    ctx.count_statements(len(out))
    return out


async def _orm_lookups(ctx: Context) -> list:
    async with AsyncSession(ctx.engine) as session:
        out = []
        for user_id in ctx.state["ids"]:
            user = (await session.execute(select(User).where(User.id == user_id))).scalar_one()
            out.append((user.id, user.username, user.email))
            session.expunge(user)  # every lookup goes to the database, as across requests
        return out


async def _core_lookups(ctx: Context) -> list:
    async with ctx.engine.connect() as conn:
        return [tuple((await conn.execute(_core_lookup(i))).one()) for i in ctx.state["ids"]]


# -- compiled statement cache ------------------------------------------------------


@family.variant("orm_cached", only={"cache": "compiled"})
async def orm_cached(ctx: Context) -> list:
    """ORM select with SQLAlchemy's compiled cache (the default)."""
    return await _orm_lookups(ctx)


@family.variant("orm_no_cache", only={"cache": "compiled"}, engine_options={"query_cache_size": 0})
async def orm_no_cache(ctx: Context) -> list:
    """ORM select compiled afresh every time (query_cache_size=0)."""
    return await _orm_lookups(ctx)


@family.variant("core_cached", only={"cache": "compiled"})
async def core_cached(ctx: Context) -> list:
    """Core select with the compiled cache (the default)."""
    return await _core_lookups(ctx)


@family.variant("core_no_cache", only={"cache": "compiled"}, engine_options={"query_cache_size": 0})
async def core_no_cache(ctx: Context) -> list:
    """Core select compiled afresh every time (query_cache_size=0)."""
    return await _core_lookups(ctx)


# -- the driver's prepared statements ------------------------------------------------


def _unprepared(driver: Driver, _params: Mapping[str, Any]) -> dict[str, Any]:
    return {"connect_args": dict(driver.unprepared_connect_args or {})}


@family.variant("prepared_default", only={"cache": "prepared"},
                needs=["unprepared_connect_args"])
async def prepared_default(ctx: Context) -> list:
    """The driver's client-side prepared statements as it ships them (asyncpg caches every
    statement per connection; psycopg prepares one after 5 executions)."""
    return await _core_lookups(ctx)


@family.variant("prepared_off", only={"cache": "prepared"}, needs=["unprepared_connect_args"],
                engine_options=_unprepared)
async def prepared_off(ctx: Context) -> list:
    """Prepared statements off (asyncpg prepared_statement_cache_size=0, psycopg
    prepare_threshold=None): what PgBouncer's transaction mode needs."""
    return await _core_lookups(ctx)


# -- an application-level result cache -------------------------------------------------


@family.variant("database_every_time", only={"cache": "result"})
async def database_every_time(ctx: Context) -> list:
    """No result cache: every lookup is a query (Core)."""
    return await _core_lookups(ctx)


@family.variant("app_dict_cache", only={"cache": "result"})
async def app_dict_cache(ctx: Context) -> list:
    """A dict keyed by the query's id, cold each round: only the first lookup of an id
    reaches the database."""
    cache: dict[int, tuple] = {}
    out = []
    async with ctx.engine.connect() as conn:
        for user_id in ctx.state["ids"]:
            row = cache.get(user_id)
            if row is None:
                row = cache[user_id] = tuple((await conn.execute(_core_lookup(user_id))).one())
            out.append(row)
    return out
