"""loading: every user with their posts, by each relationship loading strategy.

One operation loads all `parents` users and their `children` posts each, in a
fresh AsyncSession. Implicit lazy loading raises MissingGreenlet under asyncio,
so the N+1 variant awaits `user.awaitable_attrs.posts`: one SELECT per user.
Statements per load: lazy parents+1, selectinload 2, joinedload 1,
subqueryload 2, raw_driver 1 (one LEFT JOIN, grouped in Python).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, joinedload, selectinload, subqueryload

from bench.api import RAW_VARIANT, Comparison, Context, Family, Param
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import User

family = Family(
    name="loading",
    question="How much does N+1 cost, and which eager strategy wins for my shape of data?",
    unit="loads",
    params=[
        Param("parents", int, quick=[100], counted=[10], standard=[10, 100, 1000],
              full=[10, 100, 1000, 10_000], help="users loaded per operation"),
        Param("children", int, quick=[10], counted=[5], standard=[1, 10, 50],
              help="posts per user"),
    ],
    ops=lambda p: 1,
    tables=models.metadata,
    comparisons=[
        Comparison("selectinload", "lazy_n_plus_1", "selectinload instead of lazy loading (N+1)",
                   at={"parents": 100, "children": 10}),
        Comparison("selectinload", "joinedload", "selectinload or joinedload",
                   at={"parents": 100, "children": 10}),
    ],
)

RAW_SQL = (
    f"SELECT u.id, u.username, u.email, u.created_at, p.id, p.title, p.content, p.user_id, "
    f"p.created_at FROM {models.USERS_TABLE} u LEFT JOIN {models.POSTS_TABLE} p "
    f"ON p.user_id = u.id ORDER BY u.id, p.id"
)


def _shape(users: Iterable[User]) -> list:
    return [(u.id, u.username, [(p.id, p.title) for p in u.posts]) for u in users]


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, ctx.params["parents"], ctx.params["children"])
    ctx.state["raw_sql"] = ctx.sql(RAW_SQL)


@family.variant("lazy_n_plus_1")
async def lazy_n_plus_1(ctx: Context) -> list:
    """Load the users, then await each user's posts: one SELECT per user."""
    async with AsyncSession(ctx.engine) as session:
        users = (await session.scalars(select(User).order_by(User.id))).all()
        out = []
        for user in users:
            posts = await user.awaitable_attrs.posts
            out.append((user.id, user.username, [(p.id, p.title) for p in posts]))
        return out


@family.variant("selectinload")
async def selectin(ctx: Context) -> list:
    """selectinload: the users, then one SELECT ... WHERE user_id IN (...) for all posts."""
    async with AsyncSession(ctx.engine) as session:
        stmt = select(User).options(selectinload(User.posts)).order_by(User.id)
        return _shape((await session.scalars(stmt)).all())


@family.variant("joinedload")
async def joined(ctx: Context) -> list:
    """joinedload: one LEFT OUTER JOIN; unique() folds the repeated user rows."""
    async with AsyncSession(ctx.engine) as session:
        stmt = select(User).options(joinedload(User.posts)).order_by(User.id)
        return _shape((await session.scalars(stmt)).unique().all())


@family.variant("subqueryload")
async def subquery(ctx: Context) -> list:
    """subqueryload: the users, then the posts joined to a re-run of the users query."""
    async with AsyncSession(ctx.engine) as session:
        stmt = select(User).options(subqueryload(User.posts)).order_by(User.id)
        return _shape((await session.scalars(stmt)).all())


@family.variant(RAW_VARIANT, raw=True)
async def raw_driver(ctx: Context) -> list:
    """One LEFT JOIN on the bare driver, rows grouped by user in Python."""
    rows = await ctx.raw.fetch(ctx.state["raw_sql"])
    await ctx.raw.commit()
    ctx.count_statements(1)
    return _group_joined_rows(rows)


def _group_joined_rows(rows: Iterable[Sequence[Any]]) -> list:
    out: list = []
    for row in rows:
        user_id, username, post_id, title = row[0], row[1], row[4], row[5]
        if not out or out[-1][0] != user_id:
            out.append((user_id, username, []))
        if post_id is not None:
            out[-1][2].append((post_id, title))
    return out


# -- the same loads, synchronous (psycopg-sync, pymysql, sqlite3) ---------------
# Sync code needs no awaitable_attrs: touching user.posts lazy-loads it, one SELECT each.


@family.sync_variant("lazy_n_plus_1")
def lazy_n_plus_1_sync(ctx: Context) -> list:
    """Implicit lazy loading, synchronous: one SELECT per user."""
    with Session(ctx.sync_engine) as session:
        return _shape(session.scalars(select(User).order_by(User.id)).all())


def _sync_eager(option: Callable[..., Any]) -> Callable[[Context], list]:
    def load(ctx: Context) -> list:
        with Session(ctx.sync_engine) as session:
            stmt = select(User).options(option(User.posts)).order_by(User.id)
            return _shape(session.scalars(stmt).unique().all())

    load.__doc__ = f"{option.__name__}, synchronous."
    return load


family.sync_variant("selectinload")(_sync_eager(selectinload))
family.sync_variant("joinedload")(_sync_eager(joinedload))
family.sync_variant("subqueryload")(_sync_eager(subqueryload))


@family.sync_variant(RAW_VARIANT, raw=True)
def raw_driver_sync(ctx: Context) -> list:
    """One LEFT JOIN on the bare sync driver, rows grouped by user in Python."""
    rows = ctx.sync_raw.fetch(ctx.state["raw_sql"])
    ctx.sync_raw.commit()
    ctx.count_statements(1)
    return _group_joined_rows(rows)
