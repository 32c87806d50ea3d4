"""query_patterns: the same answer asked for in different ways; which is cheapest?

Each round runs `ops` queries on one connection or session, on `users` users with
3 posts each. Patterns, each compared within itself (same data from every variant):
- count: COUNT(*) in the database vs loading every user and len();
- filter: a user's posts by the indexed user_id vs by the unindexed title;
- join: (username, title) pairs of 20 users as joined tuples vs entities loaded with
  selectinload and walked in Python;
- post_counts: users with their post counts via a correlated subquery vs a GROUP BY
  join (100 users);
- materialize: every user, as Core rows, as mappings, as ORM column rows, and as
  ORM entities (the cost of building objects).
"""

from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bench.api import RAW_VARIANT, Comparison, Context, Family, Param
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import Post, User, posts, users

POSTS_PER_USER = 3
JOIN_USERS = 20
COUNT_USERS = 100
PATTERNS = ("count", "filter", "join", "post_counts", "materialize")

family = Family(
    name="query_patterns",
    question="Which way of asking is cheapest?",
    unit="queries",
    params=[
        Param("pattern", str, quick=list(PATTERNS), choices=PATTERNS,
              help="count, filter, join, post_counts or materialize (see the module)"),
        Param("users", int, quick=[1_000], counted=[COUNT_USERS],
              standard=[1_000, 10_000], full=[10_000, 100_000],
              help="users seeded, 3 posts each"),
        Param("ops", int, quick=[5], counted=[2], standard=[20], full=[50],
              help="queries per round"),
    ],
    ops=lambda p: p["ops"],
    tables=models.metadata,
    where=lambda p: p["users"] >= COUNT_USERS,
    comparisons=[
        Comparison("count_func", "len_all", "COUNT(*) instead of len() of every row",
                   at={"pattern": "count"}),
        Comparison("filter_indexed", "filter_unindexed", "filtering on an indexed column",
                   at={"pattern": "filter"}),
        Comparison("join_tuples", "relationship_loading",
                   "joined tuples instead of entities with selectinload", at={"pattern": "join"}),
        Comparison("count_group_by", "count_subquery",
                   "GROUP BY instead of a correlated subquery", at={"pattern": "post_counts"}),
        Comparison("core_rows", "orm_entities", "Core rows instead of ORM entities",
                   at={"pattern": "materialize"}),
    ],
)

RAW = {
    "count": f"SELECT COUNT(*) FROM {models.USERS_TABLE}",
    "filter": f"SELECT id, title FROM {models.POSTS_TABLE} WHERE user_id = ? ORDER BY id",
    "join": f"SELECT u.username, p.title FROM {models.USERS_TABLE} u JOIN {models.POSTS_TABLE} p "
            "ON p.user_id = u.id WHERE u.id BETWEEN ? AND ? ORDER BY u.id, p.id",
    "post_counts": f"SELECT u.id, COUNT(p.id) FROM {models.USERS_TABLE} u LEFT JOIN "
                   f"{models.POSTS_TABLE} p ON p.user_id = u.id WHERE u.id BETWEEN ? AND ? "
                   "GROUP BY u.id ORDER BY u.id",
    "materialize": f"SELECT id, username, email FROM {models.USERS_TABLE} ORDER BY id",
}


@family.setup
async def seed(ctx: Context) -> None:
    count = ctx.params["users"]
    await seed_users_and_posts(ctx, count, POSTS_PER_USER)
    rng = random.Random(ctx.state["seed"])
    pattern = ctx.params["pattern"]
    width = JOIN_USERS if pattern == "join" else COUNT_USERS
    args: list[tuple[int, ...]]
    if pattern == "filter":
        args = [(rng.randint(1, count),) for _ in range(ctx.params["ops"])]
    elif pattern in ("join", "post_counts"):
        starts = [rng.randint(1, count - width + 1) for _ in range(ctx.params["ops"])]
        args = [(s, s + width - 1) for s in starts]
    else:
        args = [()] * ctx.params["ops"]
    ctx.state["args"] = args
    ctx.state["raw_sql"] = ctx.sql(RAW[pattern])


def _titles(user_id: int) -> list[str]:
    """The seeded titles of a user's posts (scenarios._seed numbers posts in user order)."""
    first = (user_id - 1) * POSTS_PER_USER + 1
    return [models.post_row(first + k, user_id)["title"] for k in range(POSTS_PER_USER)]


@family.variant(RAW_VARIANT, raw=True)
async def raw_driver(ctx: Context) -> list:
    """The driver alone, with the hand-written SQL of the cheapest form."""
    out = [[tuple(r) for r in await ctx.raw.fetch(ctx.state["raw_sql"], args)]
           for args in ctx.state["args"]]
    await ctx.raw.commit()
    ctx.count_statements(len(out))
    if ctx.params["pattern"] == "count":
        return [rows[0][0] for rows in out]
    return out


# -- count ---------------------------------------------------------------------------


@family.variant("count_func", only={"pattern": "count"})
async def count_func(ctx: Context) -> list:
    """select(func.count()).select_from(User): the database counts."""
    async with AsyncSession(ctx.engine) as session:
        return [await session.scalar(select(func.count()).select_from(User))
                for _ in ctx.state["args"]]


@family.variant("len_all", only={"pattern": "count"})
async def len_all(ctx: Context) -> list:
    """len((await session.scalars(select(User))).all()): every user loaded to count them."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for _ in ctx.state["args"]:
            out.append(len((await session.scalars(select(User))).all()))
            session.expunge_all()
    return out


# -- filter on an indexed vs an unindexed column -------------------------------------------


@family.variant("filter_indexed", only={"pattern": "filter"})
async def filter_indexed(ctx: Context) -> list:
    """WHERE user_id = ? (indexed)."""
    async with ctx.engine.connect() as conn:
        return [[tuple(r) for r in await conn.execute(
                    select(posts.c.id, posts.c.title).where(posts.c.user_id == user_id)
                    .order_by(posts.c.id))]
                for (user_id,) in ctx.state["args"]]


@family.variant("filter_unindexed", only={"pattern": "filter"})
async def filter_unindexed(ctx: Context) -> list:
    """WHERE title IN (...) (no index): the same rows, found by a full scan."""
    async with ctx.engine.connect() as conn:
        return [[tuple(r) for r in await conn.execute(
                    select(posts.c.id, posts.c.title).where(posts.c.title.in_(_titles(user_id)))
                    .order_by(posts.c.id))]
                for (user_id,) in ctx.state["args"]]


# -- join tuples vs relationship loading ---------------------------------------------------


@family.variant("join_tuples", only={"pattern": "join"})
async def join_tuples(ctx: Context) -> list:
    """select(User.username, Post.title).join(...): flat tuples, no objects."""
    async with AsyncSession(ctx.engine) as session:
        return [[tuple(r) for r in await session.execute(
                    select(User.username, Post.title).join(Post, Post.user_id == User.id)
                    .where(User.id.between(low, high)).order_by(User.id, Post.id))]
                for low, high in ctx.state["args"]]


@family.variant("relationship_loading", only={"pattern": "join"})
async def relationship_loading(ctx: Context) -> list:
    """select(User).options(selectinload(User.posts)): entities walked in Python."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for low, high in ctx.state["args"]:
            found = (await session.scalars(select(User).options(selectinload(User.posts))
                                           .where(User.id.between(low, high))
                                           .order_by(User.id))).all()
            out.append([(u.username, p.title) for u in found for p in u.posts])
            session.expunge_all()
    return out


# -- users with their post counts ----------------------------------------------------------


@family.variant("count_subquery", only={"pattern": "post_counts"})
async def count_subquery(ctx: Context) -> list:
    """A correlated scalar subquery per user."""
    per_user = (select(func.count(posts.c.id)).where(posts.c.user_id == users.c.id)
                .scalar_subquery())
    async with ctx.engine.connect() as conn:
        return [[tuple(r) for r in await conn.execute(
                    select(users.c.id, per_user).where(users.c.id.between(low, high))
                    .order_by(users.c.id))]
                for low, high in ctx.state["args"]]


@family.variant("count_group_by", only={"pattern": "post_counts"})
async def count_group_by(ctx: Context) -> list:
    """LEFT JOIN + GROUP BY."""
    async with ctx.engine.connect() as conn:
        return [[tuple(r) for r in await conn.execute(
                    select(users.c.id, func.count(posts.c.id))
                    .outerjoin(posts, posts.c.user_id == users.c.id)
                    .where(users.c.id.between(low, high)).group_by(users.c.id)
                    .order_by(users.c.id))]
                for low, high in ctx.state["args"]]


# -- materialising rows ---------------------------------------------------------------------

CORE_ALL = select(users.c.id, users.c.username, users.c.email).order_by(users.c.id)


@family.variant("core_rows", only={"pattern": "materialize"})
async def core_rows(ctx: Context) -> list:
    """connection.execute(...).all(): Row tuples."""
    async with ctx.engine.connect() as conn:
        return [[tuple(r) for r in (await conn.execute(CORE_ALL)).all()]
                for _ in ctx.state["args"]]


@family.variant("core_mappings", only={"pattern": "materialize"})
async def core_mappings(ctx: Context) -> list:
    """connection.execute(...).mappings().all(): dict-like rows."""
    async with ctx.engine.connect() as conn:
        out = []
        for _ in ctx.state["args"]:
            rows = (await conn.execute(CORE_ALL)).mappings().all()
            out.append([(m["id"], m["username"], m["email"]) for m in rows])
        return out


@family.variant("orm_column_rows", only={"pattern": "materialize"})
async def orm_column_rows(ctx: Context) -> list:
    """session.execute(select(User.id, User.username, User.email)).all(): ORM, no objects."""
    stmt = select(User.id, User.username, User.email).order_by(User.id)
    async with AsyncSession(ctx.engine) as session:
        return [[tuple(r) for r in (await session.execute(stmt)).all()]
                for _ in ctx.state["args"]]


@family.variant("orm_entities", only={"pattern": "materialize"})
async def orm_entities(ctx: Context) -> list:
    """session.scalars(select(User)).all(): an identity-mapped object per row."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for _ in ctx.state["args"]:
            found = (await session.scalars(select(User).order_by(User.id))).all()
            out.append([(u.id, u.username, u.email) for u in found])
            session.expunge_all()
    return out
