"""A password never appears in any output, and a results file's strings are escaped in the
report (issue 7: secrets and escaping)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bench.db.drivers import get_driver
from bench.results import file as results
from tests.reliability.clihelp import SECRET, SERVER_DRIVERS, assert_one_line_error, cli


def _every_file_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _assert_secret_nowhere(proc, root: Path) -> None:
    assert SECRET not in proc.stdout and SECRET not in proc.stderr
    files = _every_file_under(root)
    assert files
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path


def _secret_url(postgres_url: str) -> str:
    # PostgreSQL here trusts loopback connections: the password is sent and ignored,
    # so the run succeeds and every output can be searched for it.
    url = make_url(postgres_url).set(password=SECRET)
    return url.render_as_string(hide_password=False)


@pytest.mark.parametrize("source", ["--url", "environment"])
def test_password_never_in_stdout_stderr_results_report_or_profiles(source, postgres_url,
                                                                    tmp_path):
    out = tmp_path / "run.json"
    url = _secret_url(postgres_url)
    args = ["run", "--driver", "psycopg" if source == "environment" else "asyncpg",
            "--scenario", "raw_queries", "--scenario", "loading", "--param", "ops=5",
            "--param", "users=200", "--param", "query=pk_lookup", "--param", "parents=5",
            "--param", "children=2", "--rounds", "2", "--warmup", "0", "--profile-code",
            "--output", str(out)]
    if source == "--url":
        args[3:3] = ["--url", url]
        proc = cli(*args)
    else:
        proc = cli(*args, env={"BENCH_POSTGRES_URL": url})
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = results.load(out)
    assert "***" in doc["config"]["url"]
    assert any(c["extra"].get("profile") for c in doc["cases"])  # profiles were written
    report = cli("report", str(out), "--output", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    compare = cli("compare", str(out), str(out))
    for proc_ in (proc, report, compare):
        _assert_secret_nowhere(proc_, tmp_path)
    assert (tmp_path / "report" / "index.html").exists()


@pytest.mark.parametrize("driver", SERVER_DRIVERS)
def test_password_not_in_a_failed_connection_message(driver, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    scheme = get_driver(driver).backend
    url = f"{scheme}://someone:{SECRET}@127.0.0.1:{port}/db?password={SECRET}"
    proc = cli("run", "--driver", driver, "--url", url)
    assert proc.returncode == 2
    assert SECRET not in proc.stderr + proc.stdout


def test_doctor_does_not_print_the_password(postgres_url):
    proc = cli("doctor", env={"BENCH_POSTGRES_URL": _secret_url(postgres_url)})
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert "***" in proc.stdout


HOSTILE = "<script>alert('x')</script>\"quoted\" & 'single'"


def test_report_escapes_names_params_and_errors_from_a_doctored_file(tmp_path):
    out = tmp_path / "run.json"
    proc = cli("run", "--driver", "sqlite3", "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}",
               "--scenario", "loading", "--param", "parents=5", "--param", "children=1",
               "--rounds", "3", "--warmup", "0", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    doc["families"][HOSTILE] = {"question": HOSTILE, "unit": HOSTILE}
    for case in doc["cases"]:
        case["scenario"] = HOSTILE
        case["variant"] = case["variant"] + HOSTILE
        case["params"] = {HOSTILE: HOSTILE}
    doc["cases"][0]["status"], doc["cases"][0]["error"] = "error", HOSTILE
    doc["environment"]["cpu_model"] = HOSTILE
    out.write_text(json.dumps(doc))
    report = cli("report", str(out), "--output", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report" / "index.html").read_text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    assert "\"quoted\" & 'single'" not in html  # quotes and ampersands escaped as well


def test_a_url_with_a_password_is_masked_in_bad_url_messages():
    proc = cli("run", "--driver", "asyncpg", "--url", f"postgresql://u:{SECRET}@h:bad/db")
    assert_one_line_error(proc, "not a valid database URL")
