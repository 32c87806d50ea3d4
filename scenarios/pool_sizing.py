"""pool_sizing: `concurrency` tasks share one engine's pool of `pool_size` connections.

Each task runs `units` short units of work (check out a connection, look one user
up by primary key, give the connection back). What is measured per case:
- throughput (units per second) and time per unit;
- checkout wait: time from asking the pool for a connection to having it, taken in
  the task around `engine.connect()` (SQLAlchemy has no "checkout started" event;
  the "checkout" event fires only once a connection is handed over);
- pool timeouts: a unit that waits longer than pool_timeout is counted and skipped,
  not fatal.
max_overflow is 0, so pool_size is the hard limit. Variants: the default queue
pool, the same with pool_pre_ping, NullPool (a new connection per checkout), and the
raw driver's pool_size bare connections. SQLite: SQLAlchemy gives aiosqlite file
databases its queue pool too, so pool_size applies; each connection is a thread
inside aiosqlite.

Schedule: interleaved like every family, but its variants cannot all hold their
connections at once (three pools of 20 plus NullPool's 100 would pass PostgreSQL's
default max_connections of 100), so each case gives its connections back after each
round and warms them again in an untimed round before its next timed one
(`release_between_rounds`). A timed round always starts with a warm pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import Select, select
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool

from bench.scenario import RAW_VARIANT, Comparison, Context, Family, Param
from scenarios import models
from scenarios._seed import seed_users_and_posts

USERS = 200

family = Family(
    name="pool_sizing",
    question="How big should my pool be for this concurrency?",
    unit="units",
    params=[
        Param("pool_size", int, quick=[5], standard=[1, 5, 10, 20], help="max connections"),
        Param("concurrency", int, quick=[10], standard=[1, 10, 50, 100],
              help="tasks sharing the pool"),
        Param("units", int, quick=[4], standard=[10], help="units of work per task per round"),
        Param("pool_timeout", float, quick=[5.0], help="seconds a checkout may wait"),
    ],
    ops=lambda p: p["concurrency"] * p["units"],
    tables=models.metadata,
    engine_options=lambda p: {"pool_size": p["pool_size"], "max_overflow": 0,
                              "pool_timeout": p["pool_timeout"]},
    release_between_rounds=True,
    comparisons=[
        Comparison("queue_pool", "null_pool", "a connection pool instead of NullPool"),
        Comparison("pre_ping", "queue_pool", "pool_pre_ping on every checkout"),
    ],
)

Unit = Callable[[int, list[int]], Awaitable[tuple]]


def _plan(ctx: Context) -> list[list[int]]:
    """The user ids each task looks up: the same for every variant."""
    units = ctx.params["units"]
    return [[(task * units + k) % USERS + 1 for k in range(units)]
            for task in range(ctx.params["concurrency"])]


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, USERS)
    ctx.state["raw_sql"] = ctx.sql(f"SELECT id, username FROM {models.USERS_TABLE} WHERE id = ?")


async def _run_tasks(ctx: Context, unit: Unit) -> list:
    waits: list[int] = []
    timeouts = 0
    plan = _plan(ctx)

    async def task(ids: list[int]) -> list:
        nonlocal timeouts
        done = []
        for user_id in ids:
            try:
                row = await unit(user_id, waits)
            except (TimeoutError, PoolTimeout):
                timeouts += 1
                continue
            if row != (user_id, f"user{user_id:07d}"):
                raise AssertionError(f"user {user_id} came back as {row}")
            done.append(user_id)
        return done

    await asyncio.gather(*(task(ids) for ids in plan))
    ctx.record_latencies("checkout_wait_ns", waits)
    if ctx.timed:
        ctx.extra["pool_timeouts"] = ctx.extra.get("pool_timeouts", 0) + timeouts
    # The work asked for, not what finished: timeouts depend on timing, not on the variant.
    return sorted(i for ids in plan for i in ids)


def _engine_unit(ctx: Context) -> Unit:
    stmt_for: dict[int, Select] = {}

    async def unit(user_id: int, waits: list[int]) -> tuple:
        start = time.perf_counter_ns()
        async with ctx.engine.connect() as conn:
            waits.append(time.perf_counter_ns() - start)
            stmt = stmt_for.get(user_id)
            if stmt is None:
                stmt = stmt_for[user_id] = select(models.users.c.id, models.users.c.username
                                                  ).where(models.users.c.id == user_id)
            return tuple((await conn.execute(stmt)).one())

    return unit


@family.variant("queue_pool")
async def queue_pool(ctx: Context) -> list:
    """The default pool: pool_size connections kept open, max_overflow 0."""
    return await _run_tasks(ctx, _engine_unit(ctx))


@family.variant("pre_ping", engine_options={"pool_pre_ping": True})
async def pre_ping(ctx: Context) -> list:
    """The same pool, pinging each connection at checkout (pool_pre_ping=True)."""
    return await _run_tasks(ctx, _engine_unit(ctx))


@family.variant("null_pool", engine_options={"poolclass": NullPool, "pool_size": None,
                                             "max_overflow": None, "pool_timeout": None})
async def null_pool(ctx: Context) -> list:
    """NullPool: connect and disconnect per checkout, no limit on connections."""
    return await _run_tasks(ctx, _engine_unit(ctx))


@family.variant(RAW_VARIANT)
async def raw_driver(ctx: Context) -> list:
    """pool_size bare connections shared through a queue: the smallest possible pool."""
    pool = await ctx.raw_pool(ctx.params["pool_size"])
    sql = ctx.state["raw_sql"]

    async def unit(user_id: int, waits: list[int]) -> tuple:
        start = time.perf_counter_ns()
        async with pool.connection(ctx.params["pool_timeout"]) as conn:
            waits.append(time.perf_counter_ns() - start)
            rows = await conn.fetch(sql, (user_id,))
            await conn.commit()
            ctx.count_statements(1)
            return tuple(rows[0])

    return await _run_tasks(ctx, unit)
