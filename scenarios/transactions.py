"""transactions: how to group writes, and what transaction control itself costs.

Every round starts from empty tables and inserts users (the unit is one user).
Patterns, each compared within itself:
- grouping: a transaction per row vs one per batch of `batch` rows vs one for all,
  and the raw driver's executemany in one transaction;
- begin_style: `async with session.begin()` vs add_all + `await session.commit()`;
- parent_child: the seed's create_user_with_post (add the user, flush to learn its
  id, add the post with that id, commit) vs one unit of work (User(posts=[Post]))
  committed once; a commit per user in both (`rows` // 10 users, as a request each);
- savepoints: a SAVEPOINT around every row (begin_nested) vs a flush per row
  without one, in one transaction;
- rollback: the same flushed inserts, then ROLLBACK vs COMMIT.
An after_round check verifies what each round left in the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.api import RAW_VARIANT, Comparison, Context, Family, Param
from scenarios import models
from scenarios.models import Post, User

PATTERNS = ("grouping", "begin_style", "parent_child", "savepoints", "rollback")

family = Family(
    name="transactions",
    question="How should I group my writes?",
    unit="rows",
    params=[
        Param("pattern", str, quick=list(PATTERNS), choices=PATTERNS,
              help="grouping, begin_style, parent_child, savepoints or rollback"),
        Param("rows", int, quick=[40], standard=[1_000], full=[10_000],
              help="users inserted per round (parent_child: a tenth of them)"),
        Param("batch", int, quick=[20], standard=[100], full=[1_000],
              help="rows per transaction in txn_per_batch"),
    ],
    ops=lambda p: _users(p),
    tables=models.metadata,
    comparisons=[
        Comparison("one_txn", "txn_per_row", "one transaction instead of one per row",
                   at={"pattern": "grouping"}),
        Comparison("unit_of_work_child", "flush_then_child",
                   "the unit of work instead of flush-then-add for a parent and child",
                   at={"pattern": "parent_child"}),
        Comparison("savepoint_per_row", "flush_per_row", "a SAVEPOINT around every row",
                   at={"pattern": "savepoints"}),
    ],
)

RAW_INSERT = f"INSERT INTO {models.USERS_TABLE} (username, email) VALUES (?, ?)"


def _users(params: Mapping[str, Any]) -> int:
    return max(1, params["rows"] // 10) if params["pattern"] == "parent_child" else params["rows"]


def _user(k: int) -> User:
    return User(username=f"t{k:07d}", email=f"t{k:07d}@example.com")


def _names(ctx: Context) -> list[str]:
    return [f"t{k:07d}" for k in range(_users(ctx.params))]


@family.setup
async def prepare(ctx: Context) -> None:
    ctx.state["raw_insert"] = ctx.sql(RAW_INSERT)


@family.before_round
async def empty_tables(ctx: Context) -> None:
    async with ctx.engine.begin() as conn:
        await conn.execute(delete(models.posts))  # our own sqlab_ tables only
        await conn.execute(delete(models.users))


@family.after_round
async def check_tables(ctx: Context, data: object) -> None:
    async with ctx.engine.connect() as conn:
        users = await conn.scalar(select(func.count()).select_from(models.users))
        posts = await conn.scalar(select(func.count()).select_from(models.posts))
    expected_users = 0 if ctx.variant == "rollback_after_insert" else _users(ctx.params)
    expected_posts = expected_users if ctx.params["pattern"] == "parent_child" else 0
    if (users, posts) != (expected_users, expected_posts):
        raise AssertionError(f"{users} users and {posts} posts after the round, expected "
                             f"{expected_users} and {expected_posts}")


@family.variant(RAW_VARIANT, raw=True,
                only={"pattern": ("grouping", "begin_style", "savepoints")})
async def raw_driver(ctx: Context) -> list:
    """The driver's executemany, one commit: the floor for inserting these rows."""
    names = _names(ctx)
    await ctx.raw.executemany(ctx.state["raw_insert"], [(n, f"{n}@example.com") for n in names])
    await ctx.raw.commit()
    ctx.count_statements(1)
    return names


# -- grouping ------------------------------------------------------------------------------


@family.variant("txn_per_row", only={"pattern": "grouping"})
async def txn_per_row(ctx: Context) -> list:
    """async with session.begin() around every single row: a COMMIT per row."""
    async with AsyncSession(ctx.engine) as session:
        for k in range(ctx.params["rows"]):
            async with session.begin():
                session.add(_user(k))
    return _names(ctx)


@family.variant("txn_per_batch", only={"pattern": "grouping"})
async def txn_per_batch(ctx: Context) -> list:
    """A commit every `batch` rows."""
    rows, batch = ctx.params["rows"], ctx.params["batch"]
    async with AsyncSession(ctx.engine) as session:
        for start in range(0, rows, batch):
            session.add_all([_user(k) for k in range(start, min(rows, start + batch))])
            await session.commit()
    return _names(ctx)


@family.variant("one_txn", only={"pattern": "grouping"})
async def one_txn(ctx: Context) -> list:
    """Every row in one transaction, one commit."""
    async with AsyncSession(ctx.engine) as session:
        session.add_all([_user(k) for k in range(ctx.params["rows"])])
        await session.commit()
    return _names(ctx)


# -- begin style ---------------------------------------------------------------------------


@family.variant("session_begin_context", only={"pattern": "begin_style"})
async def session_begin_context(ctx: Context) -> list:
    """async with session.begin(): add_all (commits on leaving the block)."""
    async with AsyncSession(ctx.engine) as session, session.begin():
        session.add_all([_user(k) for k in range(ctx.params["rows"])])
    return _names(ctx)


@family.variant("manual_commit", only={"pattern": "begin_style"})
async def manual_commit(ctx: Context) -> list:
    """add_all, then await session.commit()."""
    async with AsyncSession(ctx.engine) as session:
        session.add_all([_user(k) for k in range(ctx.params["rows"])])
        await session.commit()
    return _names(ctx)


# -- parent and child ----------------------------------------------------------------------


def _post_title(k: int) -> str:
    return f"first post of t{k:07d}"


@family.variant("flush_then_child", only={"pattern": "parent_child"})
async def flush_then_child(ctx: Context) -> list:
    """The seed's create_user_with_post: flush for the user's id, then add the post."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for k in range(_users(ctx.params)):
            user = _user(k)
            session.add(user)
            await session.flush()  # INSERT now, to learn user.id
            session.add(Post(title=_post_title(k), content="", user_id=user.id))
            await session.commit()
            out.append((f"t{k:07d}", _post_title(k)))
    return out


@family.variant("unit_of_work_child", only={"pattern": "parent_child"})
async def unit_of_work_child(ctx: Context) -> list:
    """User(posts=[Post(...)]) and one commit: the unit of work orders the INSERTs."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for k in range(_users(ctx.params)):
            user = _user(k)
            user.posts = [Post(title=_post_title(k), content="")]
            session.add(user)
            await session.commit()
            out.append((f"t{k:07d}", _post_title(k)))
    return out


# -- savepoints ------------------------------------------------------------------------------


@family.variant("savepoint_per_row", only={"pattern": "savepoints"})
async def savepoint_per_row(ctx: Context) -> list:
    """begin_nested() around each row: SAVEPOINT, INSERT, RELEASE per row."""
    async with AsyncSession(ctx.engine) as session, session.begin():
        for k in range(ctx.params["rows"]):
            async with session.begin_nested():
                session.add(_user(k))
    return _names(ctx)


@family.variant("flush_per_row", only={"pattern": "savepoints"})
async def flush_per_row(ctx: Context) -> list:
    """The same INSERT per row (a flush each), no savepoint."""
    async with AsyncSession(ctx.engine) as session, session.begin():
        for k in range(ctx.params["rows"]):
            session.add(_user(k))
            await session.flush()
    return _names(ctx)


# -- rollback ------------------------------------------------------------------------------------


@family.variant("commit_after_insert", only={"pattern": "rollback"})
async def commit_after_insert(ctx: Context) -> list:
    """Flush every row, then COMMIT."""
    async with AsyncSession(ctx.engine) as session:
        session.add_all([_user(k) for k in range(ctx.params["rows"])])
        await session.flush()
        flushed = ctx.params["rows"]
        await session.commit()
    return [flushed]


@family.variant("rollback_after_insert", only={"pattern": "rollback"})
async def rollback_after_insert(ctx: Context) -> list:
    """Flush the same rows, then ROLLBACK: the work done and thrown away."""
    async with AsyncSession(ctx.engine) as session:
        session.add_all([_user(k) for k in range(ctx.params["rows"])])
        await session.flush()
        flushed = ctx.params["rows"]
        await session.rollback()
    return [flushed]
