"""The harness never touches a table it did not create: not `users` or `posts`, not a
name just outside its prefix, and not a prefixed table it did not register (issue 7)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench.api.family import load_families
from bench.results import file as results
from tests.reliability.clihelp import cli
from tests.reliability.scratch import scratch_database

# Small sizes for every family, so all of them run in seconds.
SMALL = ["users=200", "ops=5", "rows=100", "parents=10", "children=2", "concurrency=2",
         "requests=4", "units=2", "pool_size=2", "query=pk_lookup"]
DRIVER_FOR = {"postgresql": "asyncpg", "mysql": "aiomysql", "sqlite": "aiosqlite"}
FOREIGN = ("users", "posts", "sqlabusers", "sqla_users")  # the last two: just outside sqlab_


def _plant(url: sa.URL) -> dict[str, tuple]:
    """Tables of 'someone else', with rows; returns their definitions and contents."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    for name in FOREIGN:
        sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("payload", sa.String(40)))
    meta.create_all(engine)
    with engine.begin() as conn:
        for name in FOREIGN:
            conn.execute(meta.tables[name].insert(),
                         [{"id": i, "payload": f"{name} row {i}"} for i in range(1, 6)])
    snapshot = _snapshot(engine)
    engine.dispose()
    return snapshot


def _snapshot(engine: sa.Engine) -> dict[str, tuple]:
    inspector = sa.inspect(engine)
    out = {}
    with engine.connect() as conn:
        for name in FOREIGN:
            columns = tuple((c["name"], str(c["type"])) for c in inspector.get_columns(name))
            rows = tuple(conn.execute(sa.text(f"SELECT id, payload FROM {name} ORDER BY id")))
            out[name] = (columns, rows)
    return out


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
def planted_database(request, tmp_path):
    backend = request.param
    if backend == "sqlite":
        url = sa.make_url(f"sqlite:///{tmp_path / 'shared.sqlite3'}")
        yield backend, url, _plant(url)
        return
    server = request.getfixturevalue("postgres_url" if backend == "postgresql" else "mysql_url")
    with scratch_database(server) as url:
        sync_url = url.set(drivername="postgresql+psycopg" if backend == "postgresql"
                           else "mysql+pymysql")
        yield backend, sync_url, _plant(sync_url)


def test_every_family_leaves_other_tables_alone(planted_database, tmp_path):
    backend, url, before = planted_database
    out = tmp_path / "run.json"
    params = [arg for pair in SMALL for arg in ("--param", pair)]
    proc = cli("run", "--driver", DRIVER_FOR[backend], "--url",
               url.set(drivername=backend).render_as_string(False), "--rounds", "1",
               "--warmup", "0", *params, "--output", str(out), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = results.load(out)
    assert {c["scenario"] for c in doc["cases"]} == set(load_families())  # every family ran
    engine = sa.create_engine(url)
    try:
        assert _snapshot(engine) == before
        # and ours are gone again: only the registry of our own tables stays behind
        leftover = {n for n in sa.inspect(engine).get_table_names() if n.startswith("sqlab_")}
        assert leftover <= {"sqlab_registry"}
    finally:
        engine.dispose()


def test_a_prefixed_table_we_did_not_create_stops_the_run(planted_database, tmp_path):
    backend, url, _ = planted_database
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE sqlab_users (id INTEGER PRIMARY KEY, note TEXT)"))
        conn.execute(sa.text("INSERT INTO sqlab_users (id, note) VALUES (1, 'not yours')"))
    proc = cli("run", "--driver", DRIVER_FOR[backend], "--url",
               url.set(drivername=backend).render_as_string(False), "--scenario", "loading",
               "--rounds", "1", "--warmup", "0", "--output", str(tmp_path / "run.json"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "sqlab_users exists in this database but was not created by sqla-bench" in proc.stderr
    with engine.connect() as conn:  # still there, rows and all
        assert conn.execute(sa.text("SELECT note FROM sqlab_users")).scalar_one() == "not yours"
    engine.dispose()
