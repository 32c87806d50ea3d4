"""caches: which SQLAlchemy and driver caches matter for a stream of small queries.

Every round looks up `ops` users by primary key on one connection (or session),
cycling through `hot` distinct ids, as a service does with its popular rows.
Patterns (each compared within itself, with the raw driver as its floor):
- compiled: SQLAlchemy's compiled-statement cache on (default) vs off
  (`query_cache_size=0`), for an ORM select and a Core select;
- prepared: the driver's prepared statements. asyncpg caches them per connection
  (on by default; `prepared_statement_cache_size=0` turns it off, as PgBouncer in
  transaction mode requires); psycopg prepares a query after `prepare_threshold`
  (5) executions (`prepare_threshold=None` never prepares). Other drivers: skipped;
- result: an application-level dict cache in front of the database (cold at the
  start of each round) vs asking the database every time.
"""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.scenario import Context, Family, Param
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
        Param("ops", int, quick=[50], standard=[500], full=[2_000],
              help="queries per round, on one connection"),
        Param("hot", int, quick=[10], standard=[50], full=[200],
              help="distinct ids the queries cycle through"),
    ],
    ops=lambda p: p["ops"],
    tables=models.metadata,
)

RAW_SQL = f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id = ?"
SEEDED = 1_000


def _for(pattern: str, driver_name: str | None = None):
    def applies(driver, params) -> bool:
        return params["cache"] == pattern and driver_name in (None, driver.name)
    return applies


def _core_lookup(user_id: int):
    return select(users.c.id, users.c.username, users.c.email).where(users.c.id == user_id)


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, max(SEEDED, ctx.params["hot"]))
    rng = random.Random(ctx.state["seed"])
    hot = rng.sample(range(1, max(SEEDED, ctx.params["hot"]) + 1), ctx.params["hot"])
    ctx.state["ids"] = [hot[i % len(hot)] for i in range(ctx.params["ops"])]
    ctx.state["raw_sql"] = ctx.sql(RAW_SQL)


@family.variant("raw_driver")
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


@family.variant("orm_cached", when=_for("compiled"))
async def orm_cached(ctx: Context) -> list:
    """ORM select with SQLAlchemy's compiled cache (the default)."""
    return await _orm_lookups(ctx)


@family.variant("orm_no_cache", when=_for("compiled"), engine_options={"query_cache_size": 0})
async def orm_no_cache(ctx: Context) -> list:
    """ORM select compiled afresh every time (query_cache_size=0)."""
    return await _orm_lookups(ctx)


@family.variant("core_cached", when=_for("compiled"))
async def core_cached(ctx: Context) -> list:
    """Core select with the compiled cache (the default)."""
    return await _core_lookups(ctx)


@family.variant("core_no_cache", when=_for("compiled"), engine_options={"query_cache_size": 0})
async def core_no_cache(ctx: Context) -> list:
    """Core select compiled afresh every time (query_cache_size=0)."""
    return await _core_lookups(ctx)


# -- the driver's prepared statements ------------------------------------------------


@family.variant("asyncpg_prepared", when=_for("prepared", "asyncpg"))
async def asyncpg_prepared(ctx: Context) -> list:
    """asyncpg's per-connection prepared statement cache on (the default)."""
    return await _core_lookups(ctx)


@family.variant("asyncpg_unprepared", when=_for("prepared", "asyncpg"),
                engine_options={"connect_args": {"prepared_statement_cache_size": 0}})
async def asyncpg_unprepared(ctx: Context) -> list:
    """prepared_statement_cache_size=0: what PgBouncer's transaction mode needs."""
    return await _core_lookups(ctx)


@family.variant("psycopg_prepare_default", when=_for("prepared", "psycopg"))
async def psycopg_prepare_default(ctx: Context) -> list:
    """psycopg prepares a query after 5 executions (prepare_threshold=5, the default)."""
    return await _core_lookups(ctx)


@family.variant("psycopg_never_prepare", when=_for("prepared", "psycopg"),
                engine_options={"connect_args": {"prepare_threshold": None}})
async def psycopg_never_prepare(ctx: Context) -> list:
    """prepare_threshold=None: psycopg never prepares."""
    return await _core_lookups(ctx)


# -- an application-level result cache -------------------------------------------------


@family.variant("database_every_time", when=_for("result"))
async def database_every_time(ctx: Context) -> list:
    """No result cache: every lookup is a query (Core)."""
    return await _core_lookups(ctx)


@family.variant("app_dict_cache", when=_for("result"))
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
