"""bulk_insert: N new users, every way SQLAlchemy and the driver offer.

Every round starts from an empty users table (before_round) and inserts `rows`
users; after the round (untimed) the table is checked: exactly those rows.
Statements per round, as SQLAlchemy 2.1 sends them: the ORM unit of work and
Core executemany use "insertmanyvalues" (multi-row INSERT ... VALUES, pages of
1000 rows) on PostgreSQL, MariaDB and SQLite, so ceil(rows / 1000) statements;
the raw floor is one executemany call of the driver (counted as 1).
The sync baseline drivers run the same inserts in plain synchronous code.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bench.api import RAW_VARIANT, Comparison, Context, Family, Param
from scenarios import models
from scenarios.models import User

family = Family(
    name="bulk_insert",
    question="What is the fastest way to insert N rows, and what does the unit of work cost?",
    unit="rows",
    params=[
        Param("rows", int, quick=[500], counted=[100], standard=[10_000], full=[100_000, 1_000_000],
              help="users inserted per round"),
        Param("chunk", int, quick=[250], counted=[50], standard=[1_000],
              help="rows per commit in orm_add_all_chunked"),
    ],
    ops=lambda p: p["rows"],
    tables=models.metadata,
    measure_memory=True,
    comparisons=[
        Comparison("core_executemany", "orm_add_all", "Core executemany instead of ORM add_all"),
        Comparison("orm_bulk_insert", "orm_add_all",
                   "ORM bulk insert (a list of dicts) instead of add_all"),
    ],
)

RAW_INSERT = f"INSERT INTO {models.USERS_TABLE} (username, email) VALUES (?, ?)"


def _new_user(i: int) -> dict[str, object]:
    row = models.user_row(i)
    del row["id"]  # the database assigns primary keys, as in an application
    return row


def _rows(ctx: Context) -> list[dict[str, object]]:
    return [_new_user(i) for i in range(1, ctx.params["rows"] + 1)]


@family.setup
async def prepare(ctx: Context) -> None:
    ctx.state["raw_insert"] = ctx.sql(RAW_INSERT)


@family.before_round
async def empty_table(ctx: Context) -> None:
    async with ctx.engine.begin() as conn:
        await conn.execute(delete(models.users))  # our own sqlab_ table only


@family.after_round
async def check_table(ctx: Context, data: object) -> None:
    async with ctx.engine.connect() as conn:
        count, first, last = (await conn.execute(
            select(func.count(), func.min(models.users.c.username),
                   func.max(models.users.c.username)))).one()
    expected = ctx.params["rows"]
    if (count, first, last) != (expected, _new_user(1)["username"],
                                _new_user(expected)["username"]):
        raise AssertionError(f"table holds {count} rows ({first}..{last}) after inserting "
                             f"{expected}")


@family.variant("orm_add_all")
async def orm_add_all(ctx: Context) -> list:
    """session.add_all(objects) + commit: the unit of work, primary keys fetched back."""
    async with AsyncSession(ctx.engine, expire_on_commit=False) as session:
        users = [User(**row) for row in _rows(ctx)]
        session.add_all(users)
        await session.commit()
        missing = sum(1 for u in users if u.id is None)
    return [len(users), missing]


@family.variant("orm_add_all_chunked")
async def orm_add_all_chunked(ctx: Context) -> list:
    """add_all + commit every `chunk` rows, dropping each chunk: bounded memory."""
    inserted = missing = 0
    chunk = ctx.params["chunk"]
    total = ctx.params["rows"]
    async with AsyncSession(ctx.engine, expire_on_commit=False) as session:
        for start in range(1, total + 1, chunk):
            users = [User(**_new_user(i)) for i in range(start, min(total, start + chunk - 1) + 1)]
            session.add_all(users)
            await session.commit()
            inserted += len(users)
            missing += sum(1 for u in users if u.id is None)
            session.expunge_all()  # nothing keeps the chunk alive past its commit
    return [inserted, missing]


@family.variant("orm_bulk_insert")
async def orm_bulk_insert(ctx: Context) -> list:
    """session.execute(insert(User), list_of_dicts): ORM bulk INSERT, no objects."""
    rows = _rows(ctx)
    async with AsyncSession(ctx.engine) as session:
        await session.execute(insert(User), rows)
        await session.commit()
    return [len(rows), 0]


@family.variant("core_executemany")
async def core_executemany(ctx: Context) -> list:
    """connection.execute(insert(table), list_of_dicts): Core executemany."""
    rows = _rows(ctx)
    async with ctx.engine.begin() as conn:
        await conn.execute(insert(models.users), rows)
    return [len(rows), 0]


@family.variant(RAW_VARIANT, raw=True)
async def raw_driver(ctx: Context) -> list:
    """The driver's own executemany (aiopg has none: a loop of execute)."""
    rows = [(r["username"], r["email"]) for r in _rows(ctx)]
    await ctx.raw.executemany(ctx.state["raw_insert"], rows)
    await ctx.raw.commit()
    ctx.count_statements(1)
    return [len(rows), 0]


@family.variant("raw_copy", raw=True, needs=["supports_copy"])
async def raw_copy(ctx: Context) -> list:
    """The driver's COPY FROM STDIN (asyncpg, psycopg): PostgreSQL's bulk-load path."""
    rows = [(r["username"], r["email"]) for r in _rows(ctx)]
    await ctx.raw.copy_records(models.USERS_TABLE, ["username", "email"], rows)
    await ctx.raw.commit()
    ctx.count_statements(1)
    return [len(rows), 0]


# -- the same inserts, synchronous (psycopg-sync, pymysql, sqlite3) ----------------


@family.sync_variant("orm_add_all")
def orm_add_all_sync(ctx: Context) -> list:
    """session.add_all(objects) + commit, synchronous."""
    with Session(ctx.sync_engine, expire_on_commit=False) as session:
        users = [User(**row) for row in _rows(ctx)]
        session.add_all(users)
        session.commit()
        missing = sum(1 for u in users if u.id is None)
    return [len(users), missing]


@family.sync_variant("orm_add_all_chunked")
def orm_add_all_chunked_sync(ctx: Context) -> list:
    """add_all + commit every `chunk` rows, synchronous."""
    inserted = missing = 0
    chunk = ctx.params["chunk"]
    total = ctx.params["rows"]
    with Session(ctx.sync_engine, expire_on_commit=False) as session:
        for start in range(1, total + 1, chunk):
            users = [User(**_new_user(i)) for i in range(start, min(total, start + chunk - 1) + 1)]
            session.add_all(users)
            session.commit()
            inserted += len(users)
            missing += sum(1 for u in users if u.id is None)
            session.expunge_all()
    return [inserted, missing]


@family.sync_variant("orm_bulk_insert")
def orm_bulk_insert_sync(ctx: Context) -> list:
    """session.execute(insert(User), list_of_dicts), synchronous."""
    rows = _rows(ctx)
    with Session(ctx.sync_engine) as session:
        session.execute(insert(User), rows)
        session.commit()
    return [len(rows), 0]


@family.sync_variant("core_executemany")
def core_executemany_sync(ctx: Context) -> list:
    """connection.execute(insert(table), list_of_dicts), synchronous."""
    rows = _rows(ctx)
    with ctx.sync_engine.begin() as conn:
        conn.execute(insert(models.users), rows)
    return [len(rows), 0]


@family.sync_variant(RAW_VARIANT, raw=True)
def raw_driver_sync(ctx: Context) -> list:
    """The sync driver's own executemany."""
    rows = [(r["username"], r["email"]) for r in _rows(ctx)]
    ctx.sync_raw.executemany(ctx.state["raw_insert"], rows)
    ctx.sync_raw.commit()
    ctx.count_statements(1)
    return [len(rows), 0]
