"""The pytest plug-in's per-driver engines against the real servers: the docs'
pytest-asyncio sample, run as a user runs it, gives one benchmark per async driver, each
with its server, statements per round and paired ratio, saved by --benchmark-autosave."""

from __future__ import annotations

import json
import re

from bench.db.drivers import async_drivers, get_driver
from tests.plugin_project import assert_measured, benchmarks, run, write_samples

pytest_plugins = ["pytester"]

PRODUCTS = {"postgresql": {"PostgreSQL"}, "mysql": {"MariaDB", "MySQL"}, "sqlite": {"SQLite"}}


def test_one_benchmark_per_driver_whose_server_answers(pytester, monkeypatch, postgres_url,
                                                       mysql_url):
    monkeypatch.setenv("BENCH_POSTGRES_URL", postgres_url)
    monkeypatch.setenv("BENCH_MYSQL_URL", mysql_url)
    write_samples(pytester, "models.py", "test_asyncio_strict.py")
    result = run(pytester, "-p", "no:anyio", "--benchmark-autosave",
                 "--benchmark-group-by=param:sqla_driver", "--benchmark-json=out.json")
    text = result.stdout.str()
    assert result.ret == 0, text
    found = {b["extra_info"]["driver"]: b for b in benchmarks(pytester)}
    assert set(found) == set(async_drivers())  # every async driver: all servers answer
    for name, bench in found.items():
        assert bench["name"] == f"test_item_by_id[{name}]"
        assert bench["params"] == {"sqla_driver": name}
        assert_measured(bench, driver=name, rounds=20, statements=1)
        info = bench["extra_info"]
        assert info["server"]["product"] in PRODUCTS[get_driver(name).backend]
        assert len(info["paired"]["ratios"]) == 20 and info["reference"] == "core_select"
        assert re.search(rf"^{re.escape(name)} on {info['server']['product']} ", text, re.M)
        assert re.search(rf"test_item_by_id\[{re.escape(name)}\]\s+1\s+\d+\s+[\d.]+× ", text)
    # a table per driver from pytest-benchmark, and the run saved for --benchmark-compare
    assert len(re.findall(r"benchmark 'sqla_driver=\w+': 1 tests", text)) == len(found)
    (saved,) = pytester.path.glob(".benchmarks/*/0001_*.json")
    assert {b["extra_info"]["driver"] for b in json.loads(saved.read_text())["benchmarks"]} \
        == set(found)


def test_named_drivers_comma_separated(pytester, monkeypatch, postgres_url, mysql_url):
    monkeypatch.setenv("BENCH_POSTGRES_URL", postgres_url)
    monkeypatch.setenv("BENCH_MYSQL_URL", mysql_url)
    write_samples(pytester, "models.py", "pytest.ini", "test_asyncio_auto.py")
    result = run(pytester, "-p", "no:anyio", "--sqla-driver", "asyncpg,aiomysql",
                 "--benchmark-json=out.json")
    assert result.ret == 0, result.stdout.str()
    assert [b["name"] for b in benchmarks(pytester)] == ["test_count_items[asyncpg]",
                                                        "test_count_items[aiomysql]"]
    assert "sqla_engine drivers: asyncpg, aiomysql" in result.stdout.str()


NAMESPACE_TESTS = """
import os

import pytest
from sqlalchemy import text


async def _note(engine):
    async with engine.connect() as conn:
        schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        owner = (await conn.execute(text("SELECT pid FROM public.sqlab_registry "
                                         "WHERE namespace = :s"), {"s": schema})).scalar_one()
    with open(os.environ["URLS_FILE"], "a") as handle:
        handle.write(f"{os.getpid()} {os.getppid()} {owner} {schema}\\n")


@pytest.mark.asyncio
async def test_one(sqla_engine):
    await _note(sqla_engine)


@pytest.mark.asyncio
async def test_two(sqla_engine):
    await _note(sqla_engine)
"""


def test_forked_groups_share_the_namespace_their_parent_claimed(pytester, monkeypatch,
                                                                postgres_url, tmp_path):
    """In a counting child each test runs in a forked process; the namespace on the server
    is claimed once, before the first fork (by a helper process, in the parent's name, under
    the label its own parent gave it), used by every group, and dropped at the end."""
    from sqlalchemy import make_url

    from bench.db import namespace, registry

    urls = tmp_path / "urls.txt"
    monkeypatch.setenv("BENCH_POSTGRES_URL", postgres_url)
    monkeypatch.setenv("SQLA_BENCH_CALLGRIND_OUT", str(tmp_path / "callgrind.%p.out"))
    monkeypatch.setenv("URLS_FILE", str(urls))
    monkeypatch.setenv("SQLA_BENCH_NAMESPACE", "forked_groups_test")  # as a parent sets it
    pytester.makepyfile(test_namespaces=NAMESPACE_TESTS)
    result = run(pytester, "-p", "no:anyio", "--sqla-driver", "asyncpg")
    assert result.ret == 0, result.stdout.str()
    seen = [line.split(" ") for line in urls.read_text().splitlines()]
    assert len(seen) == 2 and seen[0][0] != seen[1][0]  # two processes
    name = seen[0][3]
    assert seen[1][3] == name == namespace.named("forked_groups_test")  # the parent's
    for pid, parent, owner, _schema in seen:  # the registry names the parent as its owner,
        assert owner == parent != pid         # not the helper that wrote the row
    claims = {claim.namespace for claim, _alive in registry.runs(make_url(postgres_url))}
    assert name not in claims  # dropped when the session ended
