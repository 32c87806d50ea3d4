"""Test-only: a family that writes each setup and teardown of a point to a file
(SQLAB_SETUP_LOG), so a test can see how often the harness set a point up."""

import os

import sqlalchemy as sa

from bench.api import Context, Family, Param

metadata = sa.MetaData()
probe = sa.Table("sqlab_probe_rows", metadata, sa.Column("id", sa.Integer, primary_key=True))

family = Family(
    name="setup_probe",
    question="How often is a point set up?",
    unit="queries",
    params=[Param("size", int, quick=[1, 2])],
    ops=lambda p: 1,
    tables=metadata,
)


def _log(line: str) -> None:
    with open(os.environ["SQLAB_SETUP_LOG"], "a") as handle:
        handle.write(line + "\n")


@family.setup
async def setup(ctx: Context) -> None:
    _log(f"setup {ctx.params['size']}")
    async with ctx.engine.begin() as conn:
        await conn.execute(probe.insert(), [{"id": i} for i in range(ctx.params["size"])])


@family.teardown
async def teardown(ctx: Context) -> None:
    _log(f"teardown {ctx.params['size']}")


@family.variant("core")
async def core(ctx: Context) -> int:
    async with ctx.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(probe))).scalar())


@family.variant("raw_driver", raw=True)
async def raw_driver(ctx: Context) -> int:
    rows = await ctx.raw.fetch(f"SELECT count(*) FROM {probe.name}")
    ctx.count_statements(1)
    return int(rows[0][0])
