"""raw_queries: the same small read at every layer, from the bare driver up to the ORM.

Each round opens one connection (or session) and runs `ops` queries on it, as a
request handler would. Queries:
- pk_lookup: a single user by primary key (distinct ids, so the ORM's identity
  map never answers without SQL);
- select_1: `SELECT 1`, the round trip with nothing to fetch or convert;
- list_100: a page of 100 users (keyset, from a random id), the cost of rows;
- aggregate: post counts of 100 users (COUNT ... GROUP BY), rows that are not entities.

Modes:
- cost (the default): the cost of a query per layer, in one quiet process;
- throughput: `clients` virtual users share the round's queries, each query on its
  own checkout from a pool of as many connections (raw_driver: as many bare
  connections): what each layer sustains. Its load may come from several processes
  (--processes, --cluster) and run at a fixed rate (--rate).

The sync baseline drivers (psycopg-sync, pymysql, sqlite3) run the same queries
through the same layers in plain synchronous code, in cost mode: is async worth it here?
Large results (stream vs fetch-all) are the result_streaming family.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from bench.api import RAW_VARIANT, Comparison, Context, Family, Param, drive
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import Post, User, posts, users

PAGE = 100  # rows of a list_100 page, users of an aggregate window
POSTS_PER_USER = 3

family = Family(
    name="raw_queries",
    question="What does each SQLAlchemy layer cost over the driver?",
    unit="queries",
    params=[
        Param(
            "query",
            str,
            quick=["pk_lookup", "select_1", "list_100", "aggregate"],
            choices=("pk_lookup", "select_1", "list_100", "aggregate"),
            help="pk_lookup: one user by id; select_1: SELECT 1; list_100: 100 users; "
                 "aggregate: post counts of 100 users (GROUP BY)",
        ),
        Param("users", int, quick=[1_000], counted=[PAGE], standard=[10_000], full=[100_000],
              help="rows seeded in the users table (3 posts each)"),
        Param("ops", int, quick=[20], counted=[5], standard=[200], full=[1_000],
              help="queries per round (cost mode: on one connection)"),
        Param("mode", str, quick=["cost"], choices=("cost", "throughput"),
              help="cost: queries in sequence on one connection, one process; throughput: "
                   "clients users, a checkout per query, may scale over processes"),
        # Not "concurrency": a --param concurrency=N meant for the service families would
        # otherwise leave no cost-mode point.
        Param("clients", int, quick=[1, 8], standard=[1, 8, 32],
              help="throughput mode: virtual users (cost mode runs at 1)"),
    ],
    ops=lambda p: p["ops"],
    tables=models.metadata,
    where=lambda p: p["users"] >= PAGE and (p["mode"] == "throughput" or p["clients"] == 1),
    engine_options=lambda p: ({"pool_size": p["clients"], "max_overflow": 0,
                               "pool_timeout": 60} if p["mode"] == "throughput" else {}),
    scales=lambda p: p["mode"] == "throughput",
    scales_when="mode=throughput",
    comparisons=[
        Comparison("orm_select", "raw_driver", "the ORM's cost over the bare driver",
                   at={"query": "pk_lookup", "mode": "cost"}, overhead=True),
        Comparison("text", "core_select", "text() instead of Core select()",
                   at={"query": "pk_lookup", "mode": "cost"}),
        Comparison("core_select", "orm_select", "Core select() instead of the ORM",
                   at={"query": "pk_lookup", "mode": "cost"}),
        Comparison("text", "orm_select", "text() instead of the ORM",
                   at={"query": "list_100", "mode": "cost"}),
    ],
)
COST = {"mode": "cost"}  # the sync baselines answer "is async worth it?" per query

# One statement per query kind and layer. Raw SQL uses `?` (ctx.sql translates it).
RAW_SQL = {
    "pk_lookup": f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id = ?",
    "select_1": "SELECT 1",
    "list_100": f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id >= ? "
                f"ORDER BY id LIMIT {PAGE}",
    "aggregate": f"SELECT user_id, COUNT(*) FROM {models.POSTS_TABLE} "
                 "WHERE user_id BETWEEN ? AND ? GROUP BY user_id ORDER BY user_id",
}
TEXT_SQL = {
    "pk_lookup": text(f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id = :a"),
    "select_1": text("SELECT 1"),
    "list_100": text(f"SELECT id, username, email FROM {models.USERS_TABLE} WHERE id >= :a "
                     f"ORDER BY id LIMIT {PAGE}"),
    "aggregate": text(f"SELECT user_id, COUNT(*) FROM {models.POSTS_TABLE} "
                      "WHERE user_id BETWEEN :a AND :b GROUP BY user_id ORDER BY user_id"),
}


def _core(query: str, args: tuple) -> Any:
    """A Core select built per query, as application code writes it."""
    if query == "pk_lookup":
        return select(users.c.id, users.c.username, users.c.email).where(users.c.id == args[0])
    if query == "select_1":
        return select(literal_column("1"))
    if query == "list_100":
        return (select(users.c.id, users.c.username, users.c.email)
                .where(users.c.id >= args[0]).order_by(users.c.id).limit(PAGE))
    return (select(posts.c.user_id, func.count()).where(posts.c.user_id.between(*args))
            .group_by(posts.c.user_id).order_by(posts.c.user_id))


def _orm(query: str, args: tuple) -> Any:
    """The ORM statement: entities where the query returns users, else ORM columns."""
    if query == "pk_lookup":
        return select(User).where(User.id == args[0])
    if query == "list_100":
        return select(User).where(User.id >= args[0]).order_by(User.id).limit(PAGE)
    if query == "aggregate":
        return (select(Post.user_id, func.count(Post.id)).where(Post.user_id.between(*args))
                .group_by(Post.user_id).order_by(Post.user_id))
    return select(literal_column("1"))


def _shape(query: str, rows: Sequence[Any]) -> Any:
    """What every variant returns for one query: a value, or a list of plain tuples."""
    if query == "select_1":
        return rows[0][0]
    if query == "pk_lookup":
        return tuple(rows[0])
    return [tuple(row) for row in rows]


def _user_rows(query: str, result: Any) -> list:
    """ORM results: users as (id, username, email), other rows as they are."""
    if query in ("pk_lookup", "list_100"):
        return [(u.id, u.username, u.email) for u in result.scalars()]
    return list(result)


@family.setup
async def seed(ctx: Context) -> None:
    count = ctx.params["users"]
    await seed_users_and_posts(ctx, count, POSTS_PER_USER)
    rng = random.Random(ctx.state["seed"])
    query, ops = ctx.params["query"], ctx.params["ops"]
    args: list[tuple[int, ...]]
    if query == "select_1":
        args = [()] * ops
    elif query == "pk_lookup":
        # Distinct ids while the table has them; beyond its size the sample wraps around.
        ids = rng.sample(range(1, count + 1), min(ops, count))
        args = [(ids[i % len(ids)],) for i in range(ops)]
    elif query == "list_100":
        args = [(rng.randint(1, count - PAGE + 1),) for _ in range(ops)]
    else:
        starts = [rng.randint(1, count - PAGE + 1) for _ in range(ops)]
        args = [(start, start + PAGE - 1) for start in starts]
    ctx.state["args"] = args
    ctx.state["raw_sql"] = ctx.sql(RAW_SQL[query])


def _bind(query: str, args: tuple) -> dict[str, Any]:
    """text() parameters: :a (and :b) in the order of the raw SQL's placeholders."""
    return dict(zip("ab", args, strict=False))


# -- async variants ------------------------------------------------------------

Query = Callable[[tuple], Awaitable[Any]]


def _throughput(ctx: Context) -> bool:
    return bool(ctx.params["mode"] == "throughput")


async def _each_on_a_checkout(ctx: Context, one: Query) -> list:
    """Throughput mode: the round's queries shared by `clients` users."""
    return await drive(ctx, ctx.state["args"], one, users=ctx.params["clients"])


def _connection_query(ctx: Context, work: Callable[[AsyncConnection, tuple], Awaitable[Any]]
                      ) -> Query:
    async def one(args: tuple) -> Any:
        async with ctx.engine.connect() as conn:
            return await work(conn, args)

    return one


def _session_query(ctx: Context, work: Callable[[AsyncSession, tuple], Awaitable[Any]]) -> Query:
    async def one(args: tuple) -> Any:
        async with AsyncSession(ctx.engine) as session:
            return await work(session, args)

    return one


@family.variant(RAW_VARIANT, raw=True)
async def raw_driver(ctx: Context) -> list:
    """The driver alone: one fetch per query."""
    query, sql = ctx.params["query"], ctx.state["raw_sql"]
    if _throughput(ctx):
        pool = await ctx.raw_pool(ctx.load.users(ctx.params["clients"]))

        async def one(args: tuple) -> Any:
            async with pool.connection() as conn:
                rows = await conn.fetch(sql, args)
                await conn.commit()
                ctx.count_statements(1)
                return _shape(query, rows)

        return await _each_on_a_checkout(ctx, one)
    out = [_shape(query, await ctx.raw.fetch(sql, args)) for args in ctx.state["args"]]
    await ctx.raw.commit()  # end the driver's implicit transaction, as the pooled variants do
    ctx.count_statements(len(out))
    return out


@family.variant("text")
async def text_query(ctx: Context) -> list:
    """connection.execute(text(...)): SQLAlchemy Core with hand-written SQL."""
    query, stmt = ctx.params["query"], TEXT_SQL[ctx.params["query"]]

    async def run(conn: AsyncConnection, args: tuple) -> Any:
        return _shape(query, (await conn.execute(stmt, _bind(query, args))).all())

    if _throughput(ctx):
        return await _each_on_a_checkout(ctx, _connection_query(ctx, run))
    async with ctx.engine.connect() as conn:
        return [await run(conn, args) for args in ctx.state["args"]]


@family.variant("core_select")
async def core_select(ctx: Context) -> list:
    """connection.execute(select(...)): a Core statement built per query, as apps write it."""
    query = ctx.params["query"]

    async def run(conn: AsyncConnection, args: tuple) -> Any:
        return _shape(query, (await conn.execute(_core(query, args))).all())

    if _throughput(ctx):
        return await _each_on_a_checkout(ctx, _connection_query(ctx, run))
    async with ctx.engine.connect() as conn:
        return [await run(conn, args) for args in ctx.state["args"]]


@family.variant("orm_select")
async def orm_select(ctx: Context) -> list:
    """AsyncSession.execute(select(User)): ORM entities, one session per round (throughput
    mode: per query)."""
    query = ctx.params["query"]

    async def run(session: AsyncSession, args: tuple) -> Any:
        return _shape(query, _user_rows(query, await session.execute(_orm(query, args))))

    if _throughput(ctx):
        return await _each_on_a_checkout(ctx, _session_query(ctx, run))
    async with AsyncSession(ctx.engine) as session:
        return [await run(session, args) for args in ctx.state["args"]]


@family.variant("orm_get", only={"query": "pk_lookup"})
async def orm_get(ctx: Context) -> list:
    """AsyncSession.get(User, id): the ORM's primary-key path."""
    async def get(session: AsyncSession, args: tuple) -> Any:
        user = await session.get_one(User, args[0])
        return (user.id, user.username, user.email)

    if _throughput(ctx):
        return await _each_on_a_checkout(ctx, _session_query(ctx, get))
    async with AsyncSession(ctx.engine) as session:
        return [await get(session, args) for args in ctx.state["args"]]


# -- the same work, synchronous (psycopg-sync, pymysql, sqlite3) ----------------


@family.sync_variant(RAW_VARIANT, raw=True, only=COST)
def raw_driver_sync(ctx: Context) -> list:
    """The sync driver alone: one fetch per query."""
    query, sql = ctx.params["query"], ctx.state["raw_sql"]
    out = [_shape(query, ctx.sync_raw.fetch(sql, args)) for args in ctx.state["args"]]
    ctx.sync_raw.commit()
    ctx.count_statements(len(out))
    return out


@family.sync_variant("text", only=COST)
def text_sync(ctx: Context) -> list:
    """connection.execute(text(...)), synchronous."""
    query, stmt = ctx.params["query"], TEXT_SQL[ctx.params["query"]]
    with ctx.sync_engine.connect() as conn:
        return [_shape(query, conn.execute(stmt, _bind(query, args)).all())
                for args in ctx.state["args"]]


@family.sync_variant("core_select", only=COST)
def core_select_sync(ctx: Context) -> list:
    """connection.execute(select(...)), synchronous."""
    query = ctx.params["query"]
    with ctx.sync_engine.connect() as conn:
        return [_shape(query, conn.execute(_core(query, args)).all())
                for args in ctx.state["args"]]


@family.sync_variant("orm_select", only=COST)
def orm_select_sync(ctx: Context) -> list:
    """Session.execute(select(User)), synchronous."""
    query = ctx.params["query"]
    with Session(ctx.sync_engine) as session:
        return [_shape(query, _user_rows(query, session.execute(_orm(query, args))))
                for args in ctx.state["args"]]


@family.sync_variant("orm_get", only={"query": "pk_lookup", **COST})
def orm_get_sync(ctx: Context) -> list:
    """Session.get(User, id), synchronous."""
    with Session(ctx.sync_engine) as session:
        return [(u.id, u.username, u.email)
                for u in (session.get_one(User, user_id) for (user_id,) in ctx.state["args"])]
