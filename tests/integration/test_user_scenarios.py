"""A user's own scenario module, from a directory given with --scenarios-path, runs
through the real CLI like a built-in family."""

import json
import subprocess
import sys
import textwrap

SCENARIO = textwrap.dedent('''
    """A user's family: counting their own table's rows two ways."""
    import sqlalchemy as sa

    from bench.api.family import Context, Family, Param

    metadata = sa.MetaData()
    items = sa.Table("sqlab_user_items", metadata,
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("name", sa.String(20)))

    family = Family(
        name="my_items",
        question="Is count(*) cheaper than fetching the rows?",
        unit="queries",
        params=[Param("rows", int, quick=[50])],
        ops=lambda p: 1,
        tables=metadata,
    )

    @family.setup
    async def seed(ctx: Context) -> None:
        async with ctx.engine.begin() as conn:
            await conn.execute(items.insert(),
                               [{"name": f"i{i}"} for i in range(ctx.params["rows"])])

    @family.variant("count_star")
    async def count_star(ctx: Context) -> int:
        async with ctx.engine.connect() as conn:
            return await conn.scalar(sa.select(sa.func.count()).select_from(items))

    @family.variant("len_all")
    async def len_all(ctx: Context) -> int:
        async with ctx.engine.connect() as conn:
            return len((await conn.execute(sa.select(items))).all())

    @family.variant("raw_driver", raw=True)
    async def raw_driver(ctx: Context) -> int:
        rows = await ctx.raw.fetch("SELECT COUNT(*) FROM sqlab_user_items")
        ctx.count_statements(1)
        return rows[0][0]
''')


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "bench.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_a_scenario_from_a_directory_is_listed_and_runs(tmp_path):
    scenarios = tmp_path / "my_scenarios"
    scenarios.mkdir()
    (scenarios / "my_items.py").write_text(SCENARIO)
    listing = _cli("list", "--scenarios-path", str(scenarios))
    assert listing.returncode == 0, listing.stderr
    assert "my_items — Is count(*) cheaper than fetching the rows?" in listing.stdout

    out = tmp_path / "run.json"
    run = _cli("run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}",
               "--scenarios-path", str(scenarios), "--scenario", "my_items",
               "--rounds", "3", "--warmup", "0", "--param", "rows=7", "--output", str(out))
    assert run.returncode == 0, run.stderr
    doc = json.loads(out.read_text())
    cases = {c["variant"]: c for c in doc["cases"]}
    assert set(cases) == {"count_star", "len_all", "raw_driver"}
    assert all(c["status"] == "ok" and len(c["samples_ns"]) == 3 for c in cases.values())
    assert {c["params"]["rows"] for c in cases.values()} == {7}
    # Agreement was checked on the data, 7 rows counted by every variant.
    assert len({c["extra"]["result_digest"] for c in cases.values()}) == 1
