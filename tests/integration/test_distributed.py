"""Load on Dask workers against the real PostgreSQL, everything on 127.0.0.1: a
LocalCluster's merged counts and histograms, the multi-host path through `dask
scheduler` and `dask worker` processes and --cluster, a worker killed mid-case, an
unreachable scheduler, workers of another version, the max_connections check, and
families that refuse to scale. Loads are small and every wait is bounded."""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.api.family import load_families
from bench.db.database import resolve_url
from bench.db.drivers import get_driver
from bench.measure import hdr
from bench.report import write_report
from bench.run.runner import RunConfig, Runner
from tests.integration.runhelp import cases_by_variant, run_family
from tests.reliability.clihelp import assert_one_line_error, cli

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = str(ROOT / "tests" / "fixtures_scenarios")
DASK = str(Path(sys.executable).parent / "dask")
START_TIMEOUT = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nearest_rank(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, int(percent * len(ordered) / 100 + 0.5)) - 1]


def _run(postgres_url: str, tmp_path: Path, family: str, **config) -> dict:
    driver = get_driver("asyncpg")
    families = load_families([FIXTURES])
    run = RunConfig(driver=driver, url=resolve_url(driver, postgres_url),
                    families=[families[family]], warmup=1, rounds=2,
                    output=tmp_path / "run.json", scenarios_path=[FIXTURES], **config)
    return asyncio.run(Runner(run).run())


def test_two_local_workers_add_up_to_one_load(postgres_url, tmp_path):
    doc = _run(postgres_url, tmp_path, "load_probe", processes=2)
    assert doc["config"]["processes"] == 2 and doc["config"]["count_calls"] is False
    case = doc["cases"][0]
    assert case["status"] == "ok", case["error"]
    extra = case["extra"]
    workers = extra["workers"]
    assert len(workers) == 2 and extra["load_processes"] == 2
    assert len({w["worker"] for w in workers}) == 2  # two processes, one share each
    # merged operation count = the sum of the workers' = every request of every round
    assert sum(w["operations"] for w in workers) == 40 * 2
    assert sorted(extra["share_sizes"]) == [20, 20, 20, 20]
    # the merged histogram's percentiles are those of every raw latency pooled
    pooled = extra["raw_ns"]
    assert len(pooled) == 80
    merged = hdr.decode(case["histograms"]["probe_ns"])
    assert merged.get_total_count() == 80
    for percent in (50, 90, 99, 99.9):
        exact = _nearest_rank(pooled, percent)
        assert exact <= extra["probe_ns"][f"p{percent:g}"] <= exact * 1.001 + 1
    assert hdr.decode(case["histograms"]["latency_ns"]).get_total_count() == 80
    # the merged data is what one process returns: the answers in request order
    assert extra["result_items"] == 40
    assert all(0 <= w["cpu_share"] for w in workers)
    # the report draws the merged histogram's spectrum, up to what 80 requests support:
    # p98.75 has one request beyond it, so p90 is drawn and p99 is not
    page = write_report([tmp_path / "run.json"], tmp_path / "report").read_text()
    (spectrum,) = re.findall(r'<div class="chart load" data-family="load_probe">(.*?)</div>',
                             page, re.S)
    assert "latency percentiles" in spectrum
    assert all(f">{tick}</text>" in spectrum for tick in ("p50", "p90"))
    assert not any(f">{tick}</text>" in spectrum for tick in ("p99", "p99.9", "p99.99"))
    assert "(n=80)</text>" in spectrum


def test_pool_sizing_app_processes_each_with_a_pool(postgres_url, tmp_path):
    doc = run_family("asyncpg", postgres_url, "pool_sizing", tmp_path, overrides={
        "app_processes": [1, 2], "concurrency": [4], "units": [2]}, variants=["queue_pool"])
    by_processes = {c["params"]["app_processes"]: c for c in doc["cases"]}
    assert by_processes[1]["status"] == "ok", by_processes[1]["error"]
    # in one process there is one app process: two need a cluster, and say so
    assert by_processes[2]["status"] == "skipped"
    assert "--processes 2" in by_processes[2]["error"]
    doc = _run(postgres_url, tmp_path, "load_probe", processes=1, rate=400.0)
    case = doc["cases"][0]
    assert case["status"] == "ok", case["error"]
    assert doc["config"]["rate"] == 400.0
    # open loop: latency from the due time, never below the time from the send
    assert case["extra"]["latency_ns"]["p99"] >= case["extra"]["service_time_ns"]["p50"]


def test_pool_sizing_checks_max_connections_before_the_case_runs(postgres_url, tmp_path):
    doc = run_family("asyncpg", postgres_url, "pool_sizing", tmp_path, overrides={
        "pool_size": [5000], "concurrency": [2], "units": [1]}, rounds=1)
    cases = cases_by_variant(doc)
    for name in ("queue_pool", "pre_ping", "raw_driver"):
        assert cases[name]["status"] == "skipped", cases[name]
        assert "needs 5000 connections" in cases[name]["error"]
        assert "max_connections" in cases[name]["error"]
        assert cases[name]["samples_ns"] == []  # not run
    assert cases["null_pool"]["status"] == "ok"  # one connection per user: 2 fit
    assert doc["run_status"] == "complete"


def test_a_worker_killed_mid_case_fails_its_cases_and_the_run_goes_on(postgres_url, tmp_path):
    output = tmp_path / "killed.json"
    proc = cli("run", "--driver", "asyncpg", "--url", postgres_url, "--scenarios-path",
               FIXTURES, "--scenario", "load_probe", "--param", "kill=true,false",
               "--processes", "2", "--rounds", "2", "--warmup", "0", "--quiet",
               "--output", str(output), timeout=240)
    assert proc.returncode == 1, proc.stderr  # failed cases, not a crash
    assert "Traceback" not in proc.stderr
    doc = json.loads(output.read_text())
    assert doc["run_status"] == "complete"
    killed = [c for c in doc["cases"] if c["params"]["kill"]]
    after = [c for c in doc["cases"] if not c["params"]["kill"]]
    assert killed and all(c["status"] == "error" for c in killed)
    assert "load worker tcp://127.0.0.1:" in killed[0]["error"]
    assert "died" in killed[0]["error"]
    assert after and all(c["status"] == "ok" for c in after), after[0]["error"]
    assert len(after[0]["extra"]["workers"]) == 2  # the nanny restarted the dead worker


def test_the_password_reaches_workers_and_no_output(postgres_url, tmp_path):
    from sqlalchemy.engine import make_url

    from tests.reliability.clihelp import SECRET

    url = make_url(postgres_url).set(password=SECRET).render_as_string(hide_password=False)
    output = tmp_path / "secret.json"
    proc = cli("run", "--driver", "asyncpg", "--url", url, "--scenarios-path", FIXTURES,
               "--scenario", "load_probe", "--param", "fail=false,true", "--processes", "2",
               "--rounds", "1", "--warmup", "0", "--output", str(output), timeout=240)
    assert proc.returncode == 1, proc.stderr  # the failing point
    doc = json.loads(output.read_text())
    by_fail = {c["params"]["fail"]: c for c in doc["cases"]}
    assert by_fail[False]["status"] == "ok", by_fail[False]["error"]  # it connected
    assert "cannot go on with" in by_fail[True]["error"] and "***" in by_fail[True]["error"]
    assert SECRET not in proc.stdout + proc.stderr + output.read_text()


class _DaskProcesses:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, all stopped at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.tmp_path = tmp_path

    def start(self, *command: str) -> None:
        log = open(self.tmp_path / f"dask-{len(self.procs)}.log", "wb")
        self.procs.append(subprocess.Popen([DASK, *command], stdout=log, stderr=log,
                                           env=self.env, cwd=self.tmp_path))

    def scheduler(self) -> None:
        self.start("scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                   "--no-dashboard", "--no-show")

    def worker(self, *extra: str) -> None:
        self.start("worker", self.address, "--nthreads", "1", "--nworkers", "1",
                   "--host", "127.0.0.1", "--no-dashboard", *extra)

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_TIMEOUT) as client:
            client.wait_for_workers(count, timeout=START_TIMEOUT)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def dask_processes(tmp_path):
    processes = _DaskProcesses(tmp_path)
    try:
        yield processes
    finally:
        processes.stop()


def test_a_scheduler_and_two_workers_through_cluster(postgres_url, tmp_path, dask_processes):
    dask_processes.scheduler()
    dask_processes.worker()
    dask_processes.worker()
    dask_processes.wait_for_workers(2)
    output = tmp_path / "cluster.json"
    proc = cli("run", "--driver", "asyncpg", "--url", postgres_url, "--scenario",
               "concurrent_sessions", "--variant", "shared_engine_one_session_each",
               "--variant", "raw_driver", "--param", "requests=12", "--param", "concurrency=4",
               "--cluster", dask_processes.address, "--rounds", "2", "--warmup", "1",
               "--quiet", "--output", str(output), timeout=240)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(output.read_text())
    assert doc["config"]["cluster"] == dask_processes.address
    for case in doc["cases"]:
        assert case["status"] == "ok", case["error"]
        assert len(case["extra"]["workers"]) == 2
        assert sum(w["operations"] for w in case["extra"]["workers"]) == 12 * 2
        assert hdr.decode(case["histograms"]["latency_ns"]).get_total_count() == 24
    # the same data from both variants, each merged from two workers' shares
    digests = {c["extra"]["result_digest"] for c in doc["cases"]}
    assert len(digests) == 1


def test_workers_of_another_version_are_refused(postgres_url, tmp_path, dask_processes):
    preload = tmp_path / "old_version.py"
    preload.write_text("import bench\nbench.__version__ = '0.0.1-old'\n")
    dask_processes.scheduler()
    dask_processes.worker("--preload", str(preload))
    dask_processes.wait_for_workers(1)
    proc = cli("run", "--driver", "asyncpg", "--url", postgres_url, "--scenario",
               "concurrent_sessions", "--cluster", dask_processes.address, "--quiet",
               "--output", str(tmp_path / "refused.json"), timeout=120)
    assert_one_line_error(proc, "runs sqla-bench 0.0.1-old", "this run has sqla-bench",
                          "install the same versions")
    assert not (tmp_path / "refused.json").exists()  # refused before anything was measured


def test_an_unreachable_scheduler_is_one_line(postgres_url, tmp_path):
    port = _free_port()  # nothing listens there
    started = time.monotonic()
    proc = cli("run", "--driver", "asyncpg", "--url", postgres_url, "--scenario",
               "concurrent_sessions", "--cluster", f"tcp://127.0.0.1:{port}",
               "--connect-timeout", "2", "--output", str(tmp_path / "none.json"), timeout=120)
    assert_one_line_error(proc, f"127.0.0.1:{port}", "no Dask scheduler answers")
    assert time.monotonic() - started < 100


@pytest.mark.parametrize(("args", "expected"), [
    (["--processes", "0"], ["--processes must be between 1"]),
    (["--processes", "-3"], ["--processes must be between 1"]),
    (["--processes", "two"], ["--processes", "invalid int value: 'two'"]),
    (["--processes", "2", "--cluster", "tcp://127.0.0.1:8786"], ["not allowed with"]),
    (["--cluster", "127.0.0.1"], ["--cluster takes a scheduler address like tcp://"]),
    (["--rate", "0"], ["--rate must be between"]),
    (["--scenario", "loading", "--processes", "2"], ["loading measures a cost per operation",
                                                     "--processes"]),
    (["--scenario", "raw_queries", "--rate", "100"], ["raw_queries", "mode=throughput"]),
    (["--scenario", "concurrent_sessions", "--processes", "2", "--profile-code"],
     ["--profile-code"]),
    (["--scenario", "concurrent_sessions", "--service-url", "http://127.0.0.1:1"],
     ["--service-url is for families that load a running service (fastapi_service)"]),
])
def test_bad_load_options_are_one_line(args, expected, tmp_path):
    proc = cli("run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'db'}",
               *args, "--output", str(tmp_path / "out.json"))
    assert_one_line_error(proc, *expected)


def _worker_sampling() -> tuple[bool, bool]:
    import dask

    return (dask.config.get("distributed.worker.profile.enabled"),
            dask.config.get("distributed.admin.system-monitor.gil.enabled"))


def test_local_workers_run_without_dask_stack_sampling():
    """The workers of --processes do not sample their own stacks (every 10 ms by default)
    nor knock on the GIL: both would take CPU from the load they run."""
    from bench.scale.cluster import LoadCluster

    async def sampling() -> dict:
        cluster = await asyncio.wait_for(LoadCluster.start(1), START_TIMEOUT)
        try:
            return await cluster.client.run(_worker_sampling)
        finally:
            await cluster.close()

    per_worker = asyncio.run(sampling())
    assert len(per_worker) == 1
    assert list(per_worker.values()) == [(False, False)]
