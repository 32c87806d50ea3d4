"""driver_suite: the public asyncpg driver benchmark's queries, on the raw driver and through
SQLAlchemy, at concurrency 10.

MagicStack's "pgbench" toolbench (the source of asyncpg's "N× faster" chart) runs seven
queries, each by 10 concurrent workers on connections of their own. This family runs the
same queries the same way — a round's `ops` queries shared by `tasks` concurrent tasks,
each query on a checkout from a pool of `tasks` connections — so a multi-driver run
(`--driver asyncpg,psycopg,aiopg`) puts paired driver ratios beside the published ones:

- pg_type: the type catalogue, `typtypmod = -1 AND typisdefined = true` (a few hundred
  rows of mixed types); MySQL: information_schema.COLLATIONS with two parameters;
- generate_series: 1,000 integers (`generate_series(1, 1000)`; MySQL and SQLite: a
  recursive CTE counting to 1,000);
- bytea: 100 rows of 1 KB binary (MySQL and SQLite: BLOB);
- arrays: 100 rows of a 100-integer array (PostgreSQL only);
- copy: COPY of 10,000 rows of 7 columns (PostgreSQL drivers with a COPY API only);
- batch: 1,000 rows of those 7 columns in one executemany;
- one_plus_one: `SELECT 1+1`.

Variants: raw_driver (the reference; raw_copy for copy), core (SQLAlchemy Core on the
same pool), orm (AsyncSession, where an application would use it: entities for bytea
and arrays, ORM bulk insert for batch). Deviations from the original, for the ORM: the
bytea and arrays tables carry an integer primary key (an entity needs one), and raw and
Core select only the payload column, so every variant fetches the same bytes. The heavy
queries (copy, batch) run a tenth of `ops` per round, at least one per task.
Statements per operation: 1 everywhere (a driver's executemany or COPY counted as one,
Core and ORM send 1,000 rows as one multi-row INSERT).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, func, insert, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import registry

from bench.api import RAW_VARIANT, CaseSkipped, Comparison, Context, Family, Param, drive

QUERIES = ("pg_type", "generate_series", "bytea", "arrays", "copy", "batch", "one_plus_one")
HEAVY = ("copy", "batch")  # a tenth of `ops` per round
SERIES = 1_000  # generate_series(1, 1000)
FETCHED_ROWS = 100  # rows of the bytea and arrays tables
BLOB = b"a" * 1_000  # repeat('a', 1000)::bytea
ARRAY = list(range(1, 101))  # 100 integers
ROWS_PER_OP = {"copy": 10_000, "batch": 1_000}
ROW = (10, 11, 10, "TESTTESTTEST", 10.333, 12341234, "123412341234")
COLUMNS = ("a", "b", "c", "d", "e", "f", "g")

metadata = sa.MetaData()
bytes_table = sa.Table(
    "sqlab_ds_bytes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("b", sa.LargeBinary, nullable=False))
# The array table exists on every backend (one metadata), holding JSON where there are no
# arrays; only PostgreSQL measures it.
arrays_table = sa.Table(
    "sqlab_ds_arrays", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("a", sa.ARRAY(sa.Integer).with_variant(sa.JSON(), "mysql", "mariadb", "sqlite"),
              nullable=False))
rows_table = sa.Table(  # the copy and batch target: no key, as in the original
    "sqlab_ds_rows", metadata,
    sa.Column("a", sa.Integer), sa.Column("b", sa.Integer), sa.Column("c", sa.Integer),
    sa.Column("d", sa.Text), sa.Column("e", sa.Double), sa.Column("f", sa.Integer),
    sa.Column("g", sa.Text))

# Catalogues read, never created: a MetaData of their own, not the family's tables.
catalogue = sa.MetaData()
pg_type = sa.Table(
    "pg_type", catalogue,
    *(sa.Column(name, kind) for name, kind in (
        ("typname", sa.String), ("typnamespace", sa.Integer), ("typowner", sa.Integer),
        ("typlen", sa.SmallInteger), ("typbyval", sa.Boolean), ("typcategory", sa.String),
        ("typispreferred", sa.Boolean), ("typisdefined", sa.Boolean), ("typdelim", sa.String),
        ("typrelid", sa.Integer), ("typelem", sa.Integer), ("typarray", sa.Integer),
        ("typtypmod", sa.Integer))))
collations = sa.Table(
    "COLLATIONS", catalogue,
    *(sa.Column(name, kind) for name, kind in (
        ("COLLATION_NAME", sa.String), ("CHARACTER_SET_NAME", sa.String), ("ID", sa.Integer),
        ("IS_DEFAULT", sa.String), ("IS_COMPILED", sa.String), ("SORTLEN", sa.Integer))),
    schema="information_schema")


class Blob:
    id: int
    b: bytes


class IntArray:
    id: int
    a: list[int]


class SuiteRow:
    pass


mapper_registry = registry(metadata=metadata)
mapper_registry.map_imperatively(Blob, bytes_table)
mapper_registry.map_imperatively(IntArray, arrays_table)
# The original table has no key; the mapper needs one and names every column (only the ORM
# bulk insert uses this class: no identity map is involved).
mapper_registry.map_imperatively(SuiteRow, rows_table, primary_key=list(rows_table.c))


def _ops(p: Mapping[str, Any]) -> int:
    return max(p["tasks"], p["ops"] // 10) if p["bench_query"] in HEAVY else int(p["ops"])


family = Family(
    name="driver_suite",
    question="How do the drivers compare on the public asyncpg benchmark's queries, "
             "raw and through SQLAlchemy?",
    unit="queries",
    # Neither "query" nor "concurrency": a --param applies to every family having the name
    # (raw_queries' query=pk_lookup, the service families' concurrency=N).
    params=[
        Param("bench_query", str, quick=["generate_series"], standard=list(QUERIES),
              choices=QUERIES,
              help="pg_type: the type catalogue; generate_series: 1,000 integers; bytea: 100 "
                   "rows of 1 KB; arrays: 100 rows of 100 ints; copy: COPY 10,000 rows; "
                   "batch: executemany of 1,000 rows; one_plus_one: SELECT 1+1"),
        Param("ops", int, quick=[20], counted=[10], standard=[200], full=[1_000],
              help="queries per round (copy and batch: a tenth, at least `tasks`)"),
        Param("tasks", int, quick=[10],
              help="concurrent tasks, each query on a checkout from a pool of as many"),
    ],
    ops=_ops,
    tables=metadata,
    engine_options=lambda p: {"pool_size": p["tasks"], "max_overflow": 0, "pool_timeout": 60},
    reference=(RAW_VARIANT, "raw_copy"),
    normalize=lambda data: [_plain(op) for op in data],
    comparisons=[
        Comparison("core", RAW_VARIANT, "SQLAlchemy Core over the bare driver",
                   at={"bench_query": "generate_series"}, overhead=True),
        Comparison("orm", RAW_VARIANT, "the ORM over the bare driver",
                   at={"bench_query": "bytea"}, overhead=True),
        Comparison("orm", "core", "the ORM's bulk insert instead of Core executemany",
                   at={"bench_query": "batch"}),
    ],
    notes={"sqlite": "SQLite lets one connection write at a time: the batch tasks queue for "
                     "its write lock, so concurrency 10 is mostly waiting there."},
)


def _value(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value  # aiopg's bytea


def _plain(op: Any) -> Any:
    """One operation's result as plain data: rows as tuples (drivers return records, rows
    or tuples; aiopg returns bytea as memoryview), counts as they are."""
    if isinstance(op, int):
        return op
    return [tuple(_value(v) for v in row) for row in op]


# -- what each backend runs --------------------------------------------------------------

BACKEND_NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite"}


def _not_here(backend: str, query: str) -> str | None:
    """Why a query has no counterpart on this backend, or None."""
    if query == "pg_type" and backend == "sqlite":
        return "SQLite has no catalogue of types (MySQL runs information_schema.COLLATIONS)"
    if query == "arrays" and backend != "postgresql":
        return f"{BACKEND_NAMES[backend]} has no array column type"
    return None


RAW_SQL = {
    "pg_type": {
        "postgresql": "SELECT typname, typnamespace, typowner, typlen, typbyval, typcategory, "
                      "typispreferred, typisdefined, typdelim, typrelid, typelem, typarray "
                      "FROM pg_type WHERE typtypmod = ? AND typisdefined = ?",
        "mysql": "SELECT COLLATION_NAME, CHARACTER_SET_NAME, ID, IS_DEFAULT, IS_COMPILED, "
                 "SORTLEN FROM information_schema.COLLATIONS WHERE SORTLEN >= ? "
                 "AND IS_COMPILED = ?",
    },
    "generate_series": {
        "postgresql": "SELECT i FROM generate_series(1, ?) AS i",
        "other": "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
                 "SELECT i FROM s",
    },
    "bytea": {"other": f"SELECT b FROM {bytes_table.name}"},
    "arrays": {"other": f"SELECT a FROM {arrays_table.name}"},
    "batch": {"other": f"INSERT INTO {rows_table.name} ({', '.join(COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(COLUMNS))})"},
    "one_plus_one": {"other": "SELECT 1+1"},
}
ARGS: dict[str, dict[str, tuple[Any, ...]]] = {
    "pg_type": {"postgresql": (-1, True), "mysql": (0, "Yes")},
    "generate_series": {"other": (SERIES,)},
}


def _for(table: Mapping[str, Any], backend: str) -> Any:
    return table.get(backend, table.get("other"))


def _core(query: str, backend: str) -> Any:
    """The Core statement of a query, built once per point as an application's would be."""
    if query == "pg_type":
        if backend == "postgresql":
            columns = [c for c in pg_type.c if c.name != "typtypmod"]
            return select(*columns).where(pg_type.c.typtypmod == -1,
                                          pg_type.c.typisdefined == literal(True))
        return select(*collations.c).where(collations.c.SORTLEN >= 0,
                                           collations.c.IS_COMPILED == "Yes")
    if query == "generate_series":
        if backend == "postgresql":
            return select(func.generate_series(1, SERIES).column_valued("i"))
        start = select(literal_column("1", sa.Integer).label("i")).cte("s", recursive=True)
        series = start.union_all(select(start.c.i + 1).where(start.c.i < SERIES))
        return select(series.c.i)
    if query == "bytea":
        return select(bytes_table.c.b)
    if query == "arrays":
        return select(arrays_table.c.a)
    return select(literal_column("1", sa.Integer) + literal_column("1", sa.Integer))


@family.setup
async def prepare(ctx: Context) -> None:
    backend, query = ctx.driver.backend, ctx.params["bench_query"]
    if _not_here(backend, query) is not None:
        return
    if query == "bytea":
        # aiomysql 0.3 cannot bind bytes with PyMySQL 1.2 (an import PyMySQL removed), and
        # a multi-driver run seeds with its backend's first driver: MySQL gets hex text.
        blob = func.unhex(BLOB.hex()) if backend == "mysql" else BLOB
        async with ctx.engine.begin() as conn:
            for i in range(1, FETCHED_ROWS + 1):
                await conn.execute(insert(bytes_table).values(id=i, b=blob))
    elif query == "arrays":
        async with ctx.engine.begin() as conn:
            await conn.execute(insert(arrays_table),
                               [{"id": i, "a": ARRAY} for i in range(1, FETCHED_ROWS + 1)])
    if query in RAW_SQL:
        ctx.state["raw_sql"] = ctx.sql(_for(RAW_SQL[query], backend))
    ctx.state["args"] = _for(ARGS.get(query, {}), backend) or ()
    if query not in HEAVY:
        ctx.state["core"] = _core(query, backend)
    ctx.state["items"] = list(range(_ops(ctx.params)))


@family.case_setup
async def skip_without_counterpart(ctx: Context) -> None:
    why = _not_here(ctx.driver.backend, ctx.params["bench_query"])
    if why is not None:
        raise CaseSkipped(why)


@family.before_round
async def empty_rows(ctx: Context) -> None:
    if ctx.params["bench_query"] in HEAVY:
        async with ctx.engine.begin() as conn:
            await conn.execute(delete(rows_table))  # our own sqlab_ table only


@family.after_round
async def check_rows(ctx: Context, data: Any) -> None:
    """copy and batch: the table holds exactly the rows the round's operations wrote."""
    query = ctx.params["bench_query"]
    if query not in HEAVY:
        return
    async with ctx.engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(rows_table))).scalar_one()
    expected = _ops(ctx.params) * ROWS_PER_OP[query]
    if count != expected:
        raise AssertionError(f"{rows_table.name} holds {count} rows after a round that wrote "
                             f"{expected}")


# -- the variants ------------------------------------------------------------------------

Op = Callable[[int], Awaitable[Any]]


async def _concurrently(ctx: Context, one: Op) -> list:
    """The round's operations, `tasks` at a time, each on a checkout of its own."""
    return await drive(ctx, ctx.state["items"], one, users=ctx.params["tasks"])


def _batch() -> list[tuple[Any, ...]]:
    return [ROW] * ROWS_PER_OP["batch"]


def _batch_dicts() -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, ROW, strict=True))] * ROWS_PER_OP["batch"]


@family.variant(RAW_VARIANT, raw=True, only={"bench_query": [q for q in QUERIES if q != "copy"]})
async def raw_driver(ctx: Context) -> list:
    """The driver alone, on a pool of bare connections: one fetch (batch: one executemany)
    per operation."""
    pool = await ctx.raw_pool(ctx.load.users(ctx.params["tasks"]))
    sql, args, batch = ctx.state["raw_sql"], ctx.state["args"], ctx.params["bench_query"] == "batch"

    async def one(_: int) -> Any:
        async with pool.connection() as conn:
            if batch:
                await conn.executemany(sql, _batch())
                result: Any = ROWS_PER_OP["batch"]
            else:
                result = await conn.fetch(sql, args)
            await conn.commit()
        ctx.count_statements(1)
        return result

    return await _concurrently(ctx, one)


@family.variant("raw_copy", raw=True, only={"bench_query": "copy"}, needs=["supports_copy"])
async def raw_copy(ctx: Context) -> list:
    """The driver's COPY FROM STDIN of 10,000 rows per operation (asyncpg, psycopg)."""
    pool = await ctx.raw_pool(ctx.load.users(ctx.params["tasks"]))
    rows = [ROW] * ROWS_PER_OP["copy"]

    async def one(_: int) -> int:
        async with pool.connection() as conn:
            await conn.copy_records(rows_table.name, COLUMNS, rows)
            await conn.commit()
        ctx.count_statements(1)
        return ROWS_PER_OP["copy"]

    return await _concurrently(ctx, one)


@family.variant("core", only={"bench_query": [q for q in QUERIES if q != "copy"]})
async def core(ctx: Context) -> list:
    """connection.execute(select(...)) on the engine's pool (batch: insert(table) with a
    list of 1,000 dicts, one transaction)."""
    if ctx.params["bench_query"] == "batch":
        async def write(_: int) -> int:
            async with ctx.engine.begin() as conn:
                await conn.execute(insert(rows_table), _batch_dicts())
            return ROWS_PER_OP["batch"]

        return await _concurrently(ctx, write)
    statement = ctx.state["core"]

    async def one(_: int) -> Sequence[Any]:
        conn: AsyncConnection
        async with ctx.engine.connect() as conn:
            return (await conn.execute(statement)).all()

    return await _concurrently(ctx, one)


@family.variant("orm", only={"bench_query": ("bytea", "arrays", "batch")})
async def orm(ctx: Context) -> list:
    """AsyncSession per operation: entities for bytea and arrays (their payload read from
    each object), session.execute(insert(Entity), dicts) for batch."""
    query = ctx.params["bench_query"]
    if query == "batch":
        async def write(_: int) -> int:
            async with AsyncSession(ctx.engine) as session:
                await session.execute(insert(SuiteRow), _batch_dicts())
                await session.commit()
            return ROWS_PER_OP["batch"]

        return await _concurrently(ctx, write)
    entity: Any = Blob if query == "bytea" else IntArray

    async def one(_: int) -> list[tuple[Any]]:
        async with AsyncSession(ctx.engine) as session:
            objects = (await session.execute(select(entity))).scalars()
            if entity is Blob:
                return [(o.b,) for o in objects]
            return [(o.a,) for o in objects]

    return await _concurrently(ctx, one)
