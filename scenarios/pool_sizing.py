"""pool_sizing: how big should each application process's pool be for this load?

A deployment runs `app_processes` application processes (uvicorn/gunicorn workers),
each with its own engine and pool of `pool_size` (+ `max_overflow`) connections,
sharing one database. `concurrency` virtual users, spread over the processes, run
`units` short units of work each per round (check out a connection, look one user up
by primary key, give the connection back). With app_processes > 1 every process is a
Dask worker (--processes N or --cluster; a point that needs more processes than the
run has is skipped, saying so). What is measured per case:
- throughput (units per second over all processes) and time per unit;
- checkout wait: time from asking the pool for a connection to having it, taken in
  the task around `engine.connect()` (SQLAlchemy has no "checkout started" event;
  the "checkout" event fires only once a connection is handed over);
- latency of each unit (p50 ... p99.99 from the HDR histogram of every process);
- pool timeouts: a unit that waits longer than pool_timeout is counted and skipped,
  not fatal.
Variants: the default queue pool, the same with pool_pre_ping, NullPool (a new
connection per checkout), and the raw driver's pool_size bare connections per process.
SQLite: SQLAlchemy gives aiosqlite file databases its queue pool too, so pool_size
applies; each connection is a thread inside aiosqlite.

Before a case runs, the connections it may open at once (app_processes x (pool_size +
max_overflow); NullPool: one per virtual user) are checked against the server's
max_connections less those open now: a case that would pass it is recorded as skipped
with the figures, not run into "too many clients".

Schedule: interleaved like every family, but its variants cannot all hold their
connections at once (three pools of 20 plus NullPool's 100 would pass PostgreSQL's
default max_connections of 100), so each case gives its connections back after each
round and warms them again in an untimed round before its next timed one
(`release_between_rounds`). A timed round always starts with a warm pool, and the
max_connections check is for one case's connections, as only one case holds them. Where
every variant's connections fit at once (the quick profile's pools on a default server;
SQLite, which has no limit), the cases keep them between rounds and skip the warm rounds:
half the family's rounds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from sqlalchemy import Select, select
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool

from bench.api import (
    RAW_VARIANT,
    CaseSkipped,
    Comparison,
    Context,
    Family,
    Param,
    connection_room,
    drive,
)
from scenarios import models
from scenarios._seed import seed_users_and_posts

USERS = 200

family = Family(
    name="pool_sizing",
    question="How big should my pool be for this concurrency, with this many app processes?",
    unit="units",
    params=[
        Param("app_processes", int, quick=[1], standard=[1, 2, 4, 8],
              help="application processes, each with its own pool (a worker each)"),
        Param("pool_size", int, quick=[2, 5, 10], standard=[1, 5, 10, 20],
              help="connections kept by each process's pool"),
        Param("concurrency", int, quick=[4, 10], standard=[1, 10, 50, 100],
              help="tasks sharing the pools, spread over the processes"),
        Param("units", int, quick=[4], counted=[2], standard=[10],
              help="units of work per task per round"),
        Param("pool_timeout", float, quick=[5.0], help="seconds a checkout may wait"),
        Param("max_overflow", int, quick=[0],
              help="connections a pool may open beyond pool_size, closed when returned"),
        Param("pool_recycle", int, quick=[-1],
              help="seconds after which a pooled connection is replaced (-1: never)"),
    ],
    ops=lambda p: p["concurrency"] * p["units"],
    tables=models.metadata,
    engine_options=lambda p: {"pool_size": p["pool_size"], "max_overflow": p["max_overflow"],
                              "pool_timeout": p["pool_timeout"],
                              "pool_recycle": p["pool_recycle"]},
    release_between_rounds=True,
    scales=True,
    processes_param="app_processes",
    sweeps=("pool_size", "concurrency"),
    comparisons=[
        Comparison("queue_pool", "null_pool", "a connection pool instead of NullPool",
                   at={"pool_size": 5}, largest=("concurrency",)),
        Comparison("pre_ping", "queue_pool", "pool_pre_ping on every checkout",
                   at={"pool_size": 5}, largest=("concurrency",)),
    ],
)

Unit = Callable[[int, list[int]], Awaitable[tuple]]


def _user_ids(ctx: Context) -> list[int]:
    """The user each unit looks up, task after task: the same for every variant."""
    return [(k % USERS) + 1 for k in range(ctx.params["concurrency"] * ctx.params["units"])]


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, USERS)
    ctx.state["raw_sql"] = ctx.sql(f"SELECT id, username FROM {models.USERS_TABLE} WHERE id = ?")


def connections_needed(params: dict, variant: str) -> tuple[int, str]:
    """The connections a case may hold at once over every process, and how that adds up."""
    processes, size = params["app_processes"], params["pool_size"]
    if variant == "null_pool":
        return params["concurrency"], f"one per virtual user, concurrency {params['concurrency']}"
    if variant == RAW_VARIANT:
        return processes * size, f"{processes} app processes x pool_size {size}"
    overflow = params["max_overflow"]
    return (processes * (size + overflow),
            f"{processes} app processes x (pool_size {size} + max_overflow {overflow})")


@family.case_setup
async def check_max_connections(ctx: Context) -> None:
    """Skip a case whose connections would pass the server's max_connections; let it keep
    them between rounds when every variant's fit at once (always on SQLite)."""
    async with ctx.engine.connect() as conn:
        room = await conn.run_sync(connection_room)
    await ctx.engine.dispose()  # the check's connection is not one of the case's
    if room is None:
        ctx.hold_connections = True
        return
    limit, open_now = room
    open_now -= 1  # the check's own
    everyone = sum(connections_needed(ctx.params, name)[0] for name in family.variants)
    ctx.hold_connections = everyone <= limit - open_now
    needed, how = connections_needed(ctx.params, ctx.variant)
    if needed > limit - open_now:
        raise CaseSkipped(
            f"needs {needed} connections ({how}) but the server allows {limit} "
            f"(max_connections) and {open_now} are open: lower pool_size, max_overflow or "
            "app_processes, or raise max_connections")


async def _run_units(ctx: Context, unit: Unit) -> list:
    waits: list[int] = []
    timeouts = 0

    async def one(user_id: int) -> int:
        nonlocal timeouts
        try:
            row = await unit(user_id, waits)
        except (TimeoutError, PoolTimeout):
            timeouts += 1
            return user_id
        if row != (user_id, f"user{user_id:07d}"):
            raise AssertionError(f"user {user_id} came back as {row}")
        return user_id

    # The work asked for, not what finished: timeouts depend on timing, not on the variant.
    done = await drive(ctx, _user_ids(ctx), one, users=ctx.params["concurrency"])
    ctx.record_latencies("checkout_wait_ns", waits)
    if ctx.timed:
        ctx.extra["pool_timeouts"] = ctx.extra.get("pool_timeouts", 0) + timeouts
    return done


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
    return await _run_units(ctx, _engine_unit(ctx))


@family.variant("pre_ping", engine_options={"pool_pre_ping": True})
async def pre_ping(ctx: Context) -> list:
    """The same pool, pinging each connection at checkout (pool_pre_ping=True)."""
    return await _run_units(ctx, _engine_unit(ctx))


@family.variant("null_pool", engine_options={"poolclass": NullPool, "pool_size": None,
                                             "max_overflow": None, "pool_timeout": None})
async def null_pool(ctx: Context) -> list:
    """NullPool: connect and disconnect per checkout, no limit on connections."""
    return await _run_units(ctx, _engine_unit(ctx))


@family.variant(RAW_VARIANT)
async def raw_driver(ctx: Context) -> list:
    """pool_size bare connections per process shared through a queue: the smallest pool."""
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

    return await _run_units(ctx, unit)
