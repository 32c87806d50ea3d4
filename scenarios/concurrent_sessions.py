"""concurrent_sessions: a request-per-session service's unit of work under load.

One request, as a FastAPI handler with a session dependency would do it: open an
AsyncSession, get a user, list the user's posts with selectinload, add a post,
commit, close. One round serves `requests` requests, each on a different user,
so every variant does the same work and reads the same data. Variants:
- sequential: one request after another (concurrency is ignored: the baseline);
- gather_N: all requests as tasks through asyncio.gather, at most N at a time;
- shared_engine_one_session_each: N long-lived workers pull requests from a queue,
  each request on a new session of the one shared engine (a server's worker pool);
- raw_driver: the same N workers on bare connections with hand-written SQL.
The engine's pool holds min(N, 20) connections (max_overflow 0): beyond that,
requests queue for a connection, as they would in a service. Latency per request
(p50/p95/p99, and an HDR histogram) and requests/s come from the timed rounds.

It measures what a service sustains, so its load may come from several processes
(--processes N, --cluster): each runs its share of the users and virtual users
(bench.api.drive.drive), and --rate R sends requests at a fixed rate instead.

Schedule: interleaved, every case open for the whole point. At concurrency 20 and above
that holds 4 × 20 connections (three engine pools and the raw pool) besides the harness's
own: within PostgreSQL's default max_connections of 100 and MariaDB's 151; a server
allowing fewer fails those cases with its "too many connections" error.

Sharing ONE AsyncSession between concurrent tasks is a bug SQLAlchemy does not
always catch (concurrent reads may pass); concurrent add/commit fails. The
harness records such a variant as an error case: see tests/fixtures_scenarios.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import selectinload

from bench.api import RAW_VARIANT, Comparison, Context, Family, Param, drive
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import Post, User

POSTS_PER_USER = 3
REQUEST_TITLE = "request post"

family = Family(
    name="concurrent_sessions",
    question="What throughput does a request-per-session service get, and how does latency "
             "grow with load?",
    unit="requests",
    params=[
        Param("concurrency", int, quick=[1, 4, 8], standard=[1, 8, 32, 128],
              help="requests in flight at once"),
        Param("requests", int, quick=[12], counted=[4], standard=[256], full=[1024],
              help="requests per round, each on its own user"),
    ],
    ops=lambda p: p["requests"],
    tables=models.metadata,
    engine_options=lambda p: {"pool_size": min(p["concurrency"], 20), "max_overflow": 0,
                              "pool_timeout": 60},
    scales=True,
    sweeps=("concurrency",),
    comparisons=[
        Comparison("gather_N", "sequential", "concurrent requests instead of one after another",
                   largest=("concurrency",)),
        Comparison("shared_engine_one_session_each", "gather_N",
                   "N long-lived workers instead of a task per request",
                   largest=("concurrency",)),
    ],
    notes={"sqlite": "SQLite lets one connection write at a time: concurrent requests that "
                     "commit queue for its write lock, so more concurrency cannot raise write "
                     "throughput here (a server database can)."},
)


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, ctx.params["requests"], POSTS_PER_USER)
    ctx.state["raw"] = {
        "user": ctx.sql(f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id = ?"),
        "posts": ctx.sql(f"SELECT id, title FROM {models.POSTS_TABLE} WHERE user_id = ? "
                         "ORDER BY id"),
        "insert": ctx.sql(f"INSERT INTO {models.POSTS_TABLE} (title, content, user_id) "
                          "VALUES (?, ?, ?)"),
    }


@family.before_round
async def forget_request_posts(ctx: Context) -> None:
    async with ctx.engine.begin() as conn:
        await conn.execute(delete(models.posts).where(models.posts.c.title == REQUEST_TITLE))


Request = Callable[[int], Awaitable[tuple]]


def _user_ids(ctx: Context) -> list[int]:
    """One request per user, in user order: what every variant returns answers for."""
    return list(range(1, ctx.params["requests"] + 1))


def _orm_request(ctx: Context) -> Request:
    sessions = ctx.case_state.get("sessions")
    if sessions is None:
        sessions = ctx.case_state["sessions"] = async_sessionmaker(ctx.engine,
                                                                   expire_on_commit=False)

    async def request(user_id: int) -> tuple:
        async with sessions() as session:
            user = await session.get_one(User, user_id)
            loaded = (await session.scalars(
                select(User).options(selectinload(User.posts)).where(User.id == user_id))).one()
            titles = [p.title for p in loaded.posts]
            session.add(Post(title=REQUEST_TITLE, content="created by a request", user_id=user.id))
            await session.commit()
            return (user.id, user.username, titles)

    return request


@family.variant("sequential")
async def sequential(ctx: Context) -> list:
    """One request after another on one engine: no concurrency at all."""
    return await drive(ctx, _user_ids(ctx), _orm_request(ctx), users=1)


@family.variant("gather_N")
async def gather_n(ctx: Context) -> list:
    """Every request a task, started together, at most N running (a semaphore)."""
    return await drive(ctx, _user_ids(ctx), _orm_request(ctx), users=ctx.params["concurrency"],
                       one_task_each=True)


@family.variant("shared_engine_one_session_each")
async def shared_engine(ctx: Context) -> list:
    """N workers, a new session per request, all on the one shared engine."""
    return await drive(ctx, _user_ids(ctx), _orm_request(ctx), users=ctx.params["concurrency"])


@family.variant(RAW_VARIANT)
async def raw_driver(ctx: Context) -> list:
    """N workers on N bare connections (at most 20, like the engine's pool)."""
    pool = await ctx.raw_pool(min(ctx.load.users(ctx.params["concurrency"]), 20))
    sql = ctx.state["raw"]

    async def request(user_id: int) -> tuple:
        async with pool.connection() as conn:
            user = (await conn.fetch(sql["user"], (user_id,)))[0]
            posts = await conn.fetch(sql["posts"], (user_id,))
            await conn.execute(sql["insert"], (REQUEST_TITLE, "created by a request", user_id))
            await conn.commit()
            ctx.count_statements(3)
            return (user[0], user[1], [p[1] for p in posts])

    return await drive(ctx, _user_ids(ctx), request, users=ctx.params["concurrency"])
