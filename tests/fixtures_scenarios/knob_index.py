"""Test-only: a lookup by a column whose index is a knob, for the plan fingerprint
(issue 23). SQLAB_KNOB_NO_INDEX=1 leaves the index out of the table, as a migration that
lost it would: the same statements, the same results, another plan."""

import os

import sqlalchemy as sa

from bench.api import Context, Family, Param

metadata = sa.MetaData()
items = sa.Table(
    "sqlab_knob_items", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("payload", sa.String(40), nullable=False),
)
ROWS = 5000

family = Family(
    name="knob_index",
    question="Does the gate catch a lost index by its plan?",
    unit="lookups",
    params=[Param("ops", int, quick=[5])],
    ops=lambda p: p["ops"],
    tables=metadata,
)


@family.setup
async def seed(ctx: Context) -> None:
    async with ctx.engine.begin() as conn:
        await conn.execute(items.insert(), [{"id": i, "code": i * 7, "payload": f"p{i}"}
                                            for i in range(1, ROWS + 1)])
        if os.environ.get("SQLAB_KNOB_NO_INDEX") != "1":  # read per run, not at import
            await conn.execute(sa.text("CREATE INDEX sqlab_knob_items_code "
                                       "ON sqlab_knob_items (code)"))


@family.variant("core")
async def core(ctx: Context) -> list:
    out = []
    async with ctx.engine.connect() as conn:
        for i in range(ctx.params["ops"]):
            row = (await conn.execute(sa.select(items.c.id, items.c.payload)
                                      .where(items.c.code == (i + 1) * 7))).one()
            out.append(tuple(row))
    return out
