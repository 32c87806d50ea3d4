"""--rtt on the real servers: every connection of a run goes through the delaying proxy,
the data is the data a direct run gets, large results and COPY arrive byte for byte, and
the server settings that change results are recorded and reported (issue 18).

Timings are checked only from below, which noise cannot break: a round whose statements
each crossed the proxy cannot take less than statements x RTT.
"""

from __future__ import annotations

import asyncio
import hashlib
import re

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bench.db.database import RESULT_SETTINGS
from bench.report import write_report
from bench.rtt.control import DelayProxy, parse_rtts
from tests.integration.runhelp import cases_by_variant, run_family, url_for

MS = 1_000_000
SERVER_DRIVERS = ("asyncpg", "asyncmy")  # one per backend: the proxy does not care which


def _digests(doc, rtt_ms):
    return {c["variant"]: c["extra"]["result_digest"] for c in doc["cases"]
            if c.get("rtt_ms") == rtt_ms and c["status"] == "ok"}


@pytest.mark.parametrize("driver", SERVER_DRIVERS)
def test_a_run_through_the_proxy_reads_the_same_data_and_every_statement_crosses_it(
        driver, request, tmp_path):
    url = url_for(driver, request, tmp_path)
    params = {"parents": [10], "children": [3]}
    direct = run_family(driver, url, "loading", tmp_path, overrides=params, rounds=2)
    delayed = run_family(driver, url, "loading", tmp_path, overrides=params, rounds=2,
                         rtt="0,1ms")
    assert [c["status"] for c in delayed["cases"]] == ["ok"] * 10, [
        (c["variant"], c["error"]) for c in delayed["cases"]]
    expected = {c["variant"]: c["extra"]["result_digest"] for c in direct["cases"]}
    assert _digests(delayed, 0.0) == expected
    assert _digests(delayed, 1.0) == expected
    assert delayed["config"]["rtt_ms"] == [0.0, 1.0]
    assert delayed["config"]["url"] == direct["config"]["url"]  # the real one, masked
    at_1ms = {c["variant"]: c for c in delayed["cases"] if c["rtt_ms"] == 1.0}
    for case in at_1ms.values():  # engines and the raw connection alike
        assert min(case["samples_ns"]) >= case["statements_per_op"] * MS, case["variant"]
        assert case["extra"]["proxy"]["releases"] > 0
    assert at_1ms["lazy_n_plus_1"]["statements_per_op"] == 11
    calibration = {c["rtt_ms"]: c for c in delayed["network"]["calibration"]}
    assert calibration[1.0]["through_proxy_us"] >= 1000
    assert delayed["network"]["proxy_cpu_ms"] > 0
    # the settings that change results, in the results file and in the report
    backend = "postgresql" if driver == "asyncpg" else "mysql"
    settings = delayed["environment"]["server_settings"]
    assert set(settings) == set(RESULT_SETTINGS[backend])
    assert delayed["environment"]["load_start"]["loadavg"] is not None
    page = write_report([tmp_path / f"loading_{driver}_rtt.json"], tmp_path / "report").read_text()
    for name, value in settings.items():
        assert f"{name} = {value}" in page
    assert "Across RTT at parents=10 children=3: lazy_n_plus_1 / selectinload" in page
    charts = re.findall(r'<div class="chart rtt-sweep" data-family="loading">(.*?)</div>', page,
                        re.S)
    assert len(charts) == 2  # each variant's time, the declared comparisons' ratios
    assert "<title>lazy_n_plus_1 / selectinload: " in charts[1]
    assert re.search(r"faster than lazy_n_plus_1 at parents=10 children=3 rtt=1ms;", page)


def test_a_large_result_and_copy_cross_the_proxy_byte_for_byte(postgres_url):
    url = make_url(postgres_url)
    query = "SELECT g, md5(g::text) FROM generate_series(1, 100000) AS g ORDER BY g"
    rows = [(i, f"user{i:07d}", f"user{i:07d}@example.com") for i in range(1, 50_001)]

    async def check(port: int | None) -> tuple[str, str]:
        conn = await asyncpg.connect(host=url.host, port=port or url.port, user=url.username,
                                     password=url.password, database=url.database)
        try:
            fetched = hashlib.sha256(repr([tuple(r) for r in await conn.fetch(query)]).encode())
            await conn.execute("CREATE TEMP TABLE sqlab_copy_check "
                               "(id int PRIMARY KEY, username text, email text)")
            await conn.copy_records_to_table("sqlab_copy_check", records=rows)
            stored = await conn.fetchval("SELECT md5(string_agg(id || username || email, ',' "
                                         "ORDER BY id)) FROM sqlab_copy_check")
            return fetched.hexdigest(), stored
        finally:
            await conn.close()  # the temporary table goes with the session

    expected_copy = hashlib.md5(",".join(f"{i}{u}{e}" for i, u, e in rows).encode()).hexdigest()
    with DelayProxy(url, parse_rtts(["1ms"])) as proxy:
        through = asyncio.run(check(proxy.ports[MS]))
    direct = asyncio.run(check(None))
    assert through == direct
    assert through[1] == expected_copy


def test_copy_and_bulk_inserts_of_the_family_through_the_proxy(postgres_url, tmp_path):
    doc = run_family("asyncpg", postgres_url, "bulk_insert", tmp_path, rtt="0.5ms",
                     overrides={"rows": [2_000]}, rounds=1,
                     variants=["raw_driver", "raw_copy", "core_executemany"])
    cases = cases_by_variant(doc)
    for case in cases.values():  # after each round the family counts what landed
        assert case["status"] == "ok", (case["variant"], case["error"])
        assert case["rtt_ms"] == 0.5
    assert len({c["extra"]["result_digest"] for c in cases.values()}) == 1


def test_a_hundred_concurrent_tasks_through_the_proxy(postgres_url, tmp_path):
    doc = run_family("asyncpg", postgres_url, "pool_sizing", tmp_path, rtt="1ms",
                     overrides={"concurrency": [100], "pool_size": [20], "units": [2]},
                     rounds=1, variants=["queue_pool", "raw_driver"])
    for case in doc["cases"]:  # every unit checks the row it got is the user it asked for
        assert case["status"] == "ok", (case["variant"], case["error"])
        assert case["extra"]["pool_timeouts"] == 0
        assert case["extra"]["proxy"]["connections"] >= 20


def test_the_service_of_fastapi_service_connects_through_the_proxy(postgres_url, tmp_path):
    doc = run_family("asyncpg", postgres_url, "fastapi_service", tmp_path, rtt="1ms",
                     overrides={"requests": [8], "concurrency": [2], "users": [20]},
                     rounds=1, variants=["selectinload"])
    (case,) = doc["cases"]
    assert case["status"] == "ok", case["error"]
    # the setup engine's one connection, and the service's own pool beside it
    assert case["extra"]["proxy"]["connections"] >= 2
    # each request's two statements crossed the proxy: a round cannot beat 8 x 2 ms / 2
    assert min(case["samples_ns"]) >= 8 * 2 * MS / 2
