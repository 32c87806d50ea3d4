"""crud: what each everyday write (and paging) pattern costs, per operation.

Each round performs `ops` operations, each its own unit of work as a request would
do it (commit per operation), on `users` seeded users. A before_round hook puts
the table back, so every round does the same work. Operations and their variants:
- create: add+commit+refresh (the tutorial pattern: INSERT then SELECT),
  add+commit with expire_on_commit=False (no refresh), insert().returning();
- update: get+set attribute+commit (SELECT then UPDATE), update() statement,
  bulk UPDATE by primary key from a list of dicts (one executemany for all);
- delete: get+session.delete+commit, delete() statement. session.delete costs three
  statements: the SELECT of get, a SELECT of the user's posts (the ORM loads them to
  unlink them, as the relationship has no delete cascade), and the DELETE;
- list: pages of 20 users from `offset`, by LIMIT/OFFSET vs keyset (WHERE id > last),
  where OFFSET makes the database walk past every skipped row.
The raw driver does each operation with hand-written SQL.
"""

from __future__ import annotations

import random

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bench.api import RAW_VARIANT, Comparison, Context, Family, Param
from scenarios import models
from scenarios._seed import seed_users_and_posts
from scenarios.models import User, users

PAGE = 20
OPERATIONS = ("create", "update", "delete", "list")

family = Family(
    name="crud",
    question="What does each everyday write pattern cost?",
    unit="ops",
    params=[
        Param("operation", str, quick=list(OPERATIONS), choices=OPERATIONS,
              help="create, update, delete, or list (paging)"),
        Param("users", int, quick=[1_000], counted=[200], standard=[20_000], full=[100_000],
              help="users seeded"),
        Param("ops", int, quick=[10], counted=[5], standard=[200], full=[1_000],
              help="operations per round"),
        Param("offset", int, quick=[0, 500], standard=[0, 1_000, 10_000],
              full=[0, 1_000, 10_000, 50_000], help="list: where paging starts"),
    ],
    ops=lambda p: p["ops"],
    tables=models.metadata,
    comparisons=[
        Comparison("keyset", "limit_offset", "keyset paging instead of LIMIT/OFFSET",
                   at={"operation": "list"}, largest=("offset",)),
        Comparison("insert_returning", "add_commit_refresh",
                   "insert().returning() instead of add, commit, refresh",
                   at={"operation": "create"}),
        Comparison("update_statement", "orm_attribute",
                   "an update() statement instead of get and set an attribute",
                   at={"operation": "update"}),
        Comparison("delete_statement", "session_delete",
                   "a delete() statement instead of session.delete",
                   at={"operation": "delete"}),
    ],
    # offset only matters when listing; pages must fit in the table.
    where=lambda p: (p["offset"] == 0 or p["operation"] == "list")
    and p["offset"] + p["ops"] * PAGE <= p["users"] and p["ops"] <= p["users"],
)


def _new_user(k: int) -> dict[str, str]:
    return {"username": f"new{k:07d}", "email": f"new{k:07d}@example.com"}


def _updated_email(user_id: int) -> str:
    return f"updated{user_id:07d}@example.com"


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, ctx.params["users"])
    rng = random.Random(ctx.state["seed"])
    ctx.state["ids"] = rng.sample(range(1, ctx.params["users"] + 1), ctx.params["ops"])
    ctx.state["raw"] = {
        "create": ctx.sql(f"INSERT INTO {models.USERS_TABLE} (username, email) VALUES (?, ?)"),
        "update": ctx.sql(f"UPDATE {models.USERS_TABLE} SET email = ? WHERE id = ?"),
        "delete": ctx.sql(f"DELETE FROM {models.USERS_TABLE} WHERE id = ?"),
        "list": ctx.sql(f"SELECT id FROM {models.USERS_TABLE} WHERE id > ? ORDER BY id "
                        f"LIMIT {PAGE}"),
    }


@family.before_round
async def restore(ctx: Context) -> None:
    """Undo the last round: no created users, original emails, deleted users back."""
    operation = ctx.params["operation"]
    if operation == "list":
        return
    async with ctx.engine.begin() as conn:
        if operation == "create":
            await conn.execute(delete(users).where(users.c.username.like("new%")))
        elif operation == "update":
            await conn.execute(
                update(users).where(users.c.id == bindparam("uid"))
                .values(email=bindparam("original")),
                [{"uid": i, "original": models.user_row(i)["email"]} for i in ctx.state["ids"]])
        else:
            await conn.execute(delete(users).where(users.c.id.in_(ctx.state["ids"])))
            await conn.execute(insert(users), [models.user_row(i) for i in ctx.state["ids"]])


# -- raw driver, every operation ----------------------------------------------------------


@family.variant(RAW_VARIANT, raw=True)
async def raw_driver(ctx: Context) -> list:
    """Hand-written SQL on the bare driver, a commit per operation."""
    raw, sql, operation = ctx.raw, ctx.state["raw"], ctx.params["operation"]
    out: list = []
    if operation == "list":
        last = ctx.params["offset"]
        for _ in range(ctx.params["ops"]):
            page = [row[0] for row in await raw.fetch(sql["list"], (last,))]
            last = page[-1]
            out.append(page)
        await raw.commit()
    else:
        for k, user_id in enumerate(ctx.state["ids"]):
            if operation == "create":
                row = _new_user(k)
                await raw.execute(sql["create"], (row["username"], row["email"]))
                out.append((row["username"], row["email"]))
            elif operation == "update":
                await raw.execute(sql["update"], (_updated_email(user_id), user_id))
                out.append((user_id, _updated_email(user_id)))
            else:
                await raw.execute(sql["delete"], (user_id,))
                out.append(user_id)
            await raw.commit()
    ctx.count_statements(ctx.params["ops"])
    return out


# -- create ----------------------------------------------------------------------------------


@family.variant("add_commit_refresh", only={"operation": "create"})
async def add_commit_refresh(ctx: Context) -> list:
    """session.add, commit, refresh: the tutorial pattern (INSERT, then SELECT)."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for k in range(ctx.params["ops"]):
            user = User(**_new_user(k))
            session.add(user)
            await session.commit()
            await session.refresh(user)
            out.append((user.username, user.email))
    return out


@family.variant("add_commit_no_expire", only={"operation": "create"})
async def add_commit_no_expire(ctx: Context) -> list:
    """expire_on_commit=False: the object stays loaded after commit, no refresh."""
    out = []
    async with AsyncSession(ctx.engine, expire_on_commit=False) as session:
        for k in range(ctx.params["ops"]):
            user = User(**_new_user(k))
            session.add(user)
            await session.commit()
            out.append((user.username, user.email))
    return out


@family.variant("insert_returning", only={"operation": "create"})
async def insert_returning(ctx: Context) -> list:
    """insert(...).returning(...): one statement, the row back, no ORM object."""
    out = []
    async with ctx.engine.connect() as conn:
        for k in range(ctx.params["ops"]):
            row = (await conn.execute(insert(users).values(**_new_user(k))
                                      .returning(users.c.username, users.c.email))).one()
            await conn.commit()
            out.append(tuple(row))
    return out


# -- update ----------------------------------------------------------------------------------


@family.variant("orm_attribute", only={"operation": "update"})
async def orm_attribute(ctx: Context) -> list:
    """session.get, set the attribute, commit (SELECT, then UPDATE)."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for user_id in ctx.state["ids"]:
            user = await session.get_one(User, user_id)
            user.email = _updated_email(user_id)
            await session.commit()
            out.append((user_id, _updated_email(user_id)))
    return out


@family.variant("update_statement", only={"operation": "update"})
async def update_statement(ctx: Context) -> list:
    """update(User).where(...).values(...): one UPDATE, nothing loaded."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for user_id in ctx.state["ids"]:
            await session.execute(update(User).where(User.id == user_id)
                                  .values(email=_updated_email(user_id)))
            await session.commit()
            out.append((user_id, _updated_email(user_id)))
    return out


@family.variant("bulk_update_by_pk", only={"operation": "update"})
async def bulk_update_by_pk(ctx: Context) -> list:
    """session.execute(update(User), [{id, email}, ...]): every row in one executemany."""
    rows = [{"id": i, "email": _updated_email(i)} for i in ctx.state["ids"]]
    async with AsyncSession(ctx.engine) as session:
        await session.execute(update(User), rows)
        await session.commit()
    return [(row["id"], row["email"]) for row in rows]


# -- delete ----------------------------------------------------------------------------------


@family.variant("session_delete", only={"operation": "delete"})
async def session_delete(ctx: Context) -> list:
    """session.get, session.delete, commit (SELECT user, SELECT posts, DELETE)."""
    async with AsyncSession(ctx.engine) as session:
        for user_id in ctx.state["ids"]:
            await session.delete(await session.get_one(User, user_id))
            await session.commit()
    return list(ctx.state["ids"])


@family.variant("delete_statement", only={"operation": "delete"})
async def delete_statement(ctx: Context) -> list:
    """delete(User).where(...): one DELETE, nothing loaded."""
    async with AsyncSession(ctx.engine) as session:
        for user_id in ctx.state["ids"]:
            await session.execute(delete(User).where(User.id == user_id))
            await session.commit()
    return list(ctx.state["ids"])


# -- list with paging ------------------------------------------------------------------------


@family.variant("limit_offset", only={"operation": "list"})
async def limit_offset(ctx: Context) -> list:
    """ORDER BY id LIMIT 20 OFFSET n: the database counts past every skipped row."""
    out = []
    async with AsyncSession(ctx.engine) as session:
        for k in range(ctx.params["ops"]):
            stmt = (select(User.id).order_by(User.id)
                    .offset(ctx.params["offset"] + k * PAGE).limit(PAGE))
            out.append(list((await session.scalars(stmt)).all()))
    return out


@family.variant("keyset", only={"operation": "list"})
async def keyset(ctx: Context) -> list:
    """WHERE id > last ORDER BY id LIMIT 20: the index jumps to the page."""
    out = []
    last = ctx.params["offset"]  # ids are 1..users: the first page starts after `offset`
    async with AsyncSession(ctx.engine) as session:
        for _ in range(ctx.params["ops"]):
            stmt = select(User.id).where(User.id > last).order_by(User.id).limit(PAGE)
            page = list((await session.scalars(stmt)).all())
            last = page[-1]
            out.append(page)
    return out
