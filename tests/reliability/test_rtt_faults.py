"""--rtt on the command line: bad values and SQLite refused in one line, and the proxy
dying mid-run (issue 18): the case in flight is an error that says so, the run stops, or
goes on direct only with --rtt-fallback, and no proxy process outlives the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results import file as results
from tests.reliability.clihelp import REPO, SECRET, assert_one_line_error, cli
from tests.reliability.test_faults import _wait_for_finished_cases

# Long points (200 rounds of at least 5 loads x 1 ms RTT each): a kill sent once the first
# point is written lands in the second one.
LONG_RUN = ["--scenario", "loading", "--param", "parents=5,6,7", "--param", "children=2",
            "--rtt", "1ms", "--rounds", "200", "--warmup", "0", "--quiet"]


@pytest.mark.parametrize(("value", "expected"), [
    ("-1ms", "--rtt takes durations such as 0, 500us, 1ms or 2.5ms, not '-1ms'"),
    ("fast", "not 'fast'"),
    ("10s", "--rtt 10s is beyond 1s"),
    ("2", "--rtt 2: give a unit, e.g. 2ms or 2us"),
    ("1ms,1ms", "--rtt 1ms is given twice"),
])
def test_bad_rtt_values_are_one_line_errors(value, expected, postgres_url):
    assert_one_line_error(cli("run", "--driver", "asyncpg", "--url", postgres_url,
                              "--scenario", "loading", "--rtt", value), expected)


def test_sqlite_refuses_rtt_and_fallback_needs_rtt(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert_one_line_error(cli("run", "--driver", "aiosqlite", "--url", url, "--rtt", "1ms"),
                          "--rtt needs a database server: SQLite has no network")
    assert_one_line_error(cli("run", "--driver", "aiosqlite", "--url", url, "--rtt-fallback"),
                          "--rtt-fallback goes with --rtt")
    assert not (tmp_path / "db.sqlite3").exists()  # refused before anything ran


def test_a_server_that_is_down_is_named_before_the_proxy_starts():
    proc = cli("run", "--driver", "asyncpg", "--url", "postgresql://postgres@127.0.0.1:1/x",
               "--rtt", "1ms")
    assert_one_line_error(proc, "cannot connect to postgresql at 127.0.0.1:1 as 'postgres'",
                          "refused")


def test_a_wrong_password_through_the_proxy_names_the_real_server(postgres_url):
    parsed = postgres_url.replace("postgres@", f"sqlab_nobody:{SECRET}@")
    proc = cli("run", "--driver", "asyncpg", "--url", parsed, "--scenario", "loading",
               "--rtt", "1ms")
    line = assert_one_line_error(proc, "cannot connect to postgresql at 127.0.0.1:5432")
    assert "sqlab_nobody" in line


def _start(output: Path, url: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.cli", "run", "--driver", "asyncpg",
                             "--url", url, *LONG_RUN, *extra, "--output", str(output)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def _proxy_of(proc: subprocess.Popen) -> int:
    """The pid of the run's proxy process: its child running bench.rtt.proxy."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == proc.pid and b"bench.rtt.proxy" in command:
            return int(stat.parent.name)
    raise AssertionError("the run has no proxy process")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"


def test_a_killed_proxy_is_an_error_case_and_stops_the_run(postgres_url, tmp_path):
    out = tmp_path / "run.json"
    proc = _start(out, postgres_url)
    _wait_for_finished_cases(out, 5, proc)
    proxy = _proxy_of(proc)
    os.kill(proxy, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("sqla-bench: error:")]
    assert errors == [f"sqla-bench: error: the --rtt proxy died (killed by SIGKILL): no output; "
                      f"the run stopped, finished cases are in {out} (--rtt-fallback goes on "
                      f"without the proxy, recording those cases as direct)"]
    doc = results.load(out)
    assert doc["run_status"] == "interrupted"
    first, second = doc["cases"][:5], doc["cases"][5:]
    assert [c["status"] for c in first] == ["ok"] * 5
    assert len(second) == 5  # the point in flight; the third never started
    for case in second:
        assert case["status"] == "error"
        assert case["error"].startswith("the --rtt proxy died during this case "
                                        "(killed by SIGKILL): ")
        assert case["rtt_ms"] == 1.0


def test_with_fallback_the_rest_is_measured_direct_and_says_so(postgres_url, tmp_path):
    out = tmp_path / "run.json"
    proc = _start(out, postgres_url, "--rtt-fallback")
    _wait_for_finished_cases(out, 5, proc)
    os.kill(_proxy_of(proc), signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr  # the cases the proxy cut off failed
    doc = results.load(out)
    assert doc["run_status"] == "complete"
    by_point = {}
    for case in doc["cases"]:
        by_point.setdefault(case["params"]["parents"], []).append(case)
    assert {c.get("rtt_ms") for c in by_point[5]} == {1.0}
    assert all(c["status"] == "error" and "proxy died during this case" in c["error"]
               for c in by_point[6])
    assert all(c["status"] == "ok" and c.get("rtt_ms") is None for c in by_point[7])
    assert "with --rtt-fallback the rest of the rtt=1ms pass was measured direct" in (
        doc["network"]["fell_back"])
    assert any("proxy died" in warning for warning in doc["warnings"])
    assert "warning: the --rtt proxy died (killed by SIGKILL)" in stderr


def test_ctrl_c_stops_the_proxy_too(postgres_url, tmp_path):
    out = tmp_path / "run.json"
    proc = _start(out, postgres_url)
    _wait_for_finished_cases(out, 5, proc)
    proxy = _proxy_of(proc)
    proc.send_signal(signal.SIGINT)  # the proxy, in a session of its own, is not signalled
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert results.load(out)["run_status"] == "interrupted"
    assert _gone(proxy)
