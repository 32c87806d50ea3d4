"""Every mistake a user can make on the command line: one line saying what is wrong and
what to do, exit status 2, no traceback, never the password (issue 7, items 1-11)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pymysql
import pytest
from sqlalchemy.engine import make_url

from bench.db.drivers import DRIVERS, async_drivers, get_driver
from tests.reliability.clihelp import SECRET, SERVER_DRIVERS, assert_one_line_error, cli


def _sqlite(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'bench.sqlite3'}"


def _with_password(url: str, user: str | None = None, database: str | None = None) -> str:
    parsed = make_url(url)
    parsed = parsed.set(username=user or parsed.username, password=SECRET,
                        database=database or parsed.database)
    return parsed.render_as_string(hide_password=False)


# 1 -------------------------------------------------------------------------------------
def test_unknown_driver_lists_the_known_ones():
    line = assert_one_line_error(cli("run", "--driver", "asyncpgg"), "unknown driver 'asyncpgg'")
    for known in DRIVERS:
        assert known in line


# 2 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "expected"), [
    (["--scenario", "nosuch"], ["unknown scenario 'nosuch'", "raw_queries"]),
    (["--scenario", "raw_queries", "--variant", "nosuch"], ["unknown variant 'nosuch'", "orm_get"]),
    (["--scenario", "raw_queries", "--param", "nosuch=1"], ["unknown parameter 'nosuch'", "ops"]),
    (["--scenario", "raw_queries", "--param", "ops=many"], ["ops takes int", "'many'"]),
    (["--scenario", "raw_queries", "--param", "query=nosuch"], ["query takes one of", "pk_lookup"]),
    (["--scenario", "raw_queries", "--param", "ops"], ["--param takes KEY=VALUE"]),
])
def test_unknown_scenario_variant_parameter_or_bad_value(args, expected, tmp_path):
    proc = cli("run", "--driver", "aiosqlite", "--url", _sqlite(tmp_path), *args)
    assert_one_line_error(proc, *expected)


# 3 -------------------------------------------------------------------------------------
def test_malformed_url():
    proc = cli("run", "--driver", "asyncpg", "--url", f"postgresql://u:{SECRET}@h:port/db")
    assert_one_line_error(proc, "not a valid database URL", "expected e.g.")


def test_url_of_another_backend_than_the_driver():
    proc = cli("run", "--driver", "asyncpg", "--url", "mysql://root@127.0.0.1:3306/test")
    assert_one_line_error(proc, "mysql URL", "asyncpg talks to postgresql")


def test_url_that_names_a_driver_itself():
    proc = cli("run", "--driver", "asyncpg", "--url", "postgresql+psycopg://u@h/db")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


# 4 -------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("driver", ["asyncpg", "aiomysql"])
def test_closed_port_is_refused_at_once(driver):
    port = _free_port()  # bound, then closed: nothing listens there
    scheme = "postgresql" if driver == "asyncpg" else "mysql"
    proc = cli("run", "--driver", driver, "--url", f"{scheme}://u:{SECRET}@127.0.0.1:{port}/db")
    assert_one_line_error(proc, "cannot connect", f"127.0.0.1:{port}")


@pytest.mark.parametrize("driver", SERVER_DRIVERS)
def test_a_server_that_never_answers_fails_after_the_connect_timeout(driver):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    scheme = get_driver(driver).backend
    try:
        started = time.monotonic()
        proc = cli("run", "--driver", driver, "--connect-timeout", "2",
                   "--url", f"{scheme}://u:{SECRET}@127.0.0.1:{port}/db", timeout=60)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    assert_one_line_error(proc, "cannot connect", f"127.0.0.1:{port}")
    assert accepted, "the driver never reached the silent server"
    assert elapsed >= 2  # it waited for the timeout: the server did accept
    assert elapsed < 30  # and not much longer (a hang guard, not a speed claim)


# 5 -------------------------------------------------------------------------------------
@pytest.fixture
def mariadb_user_with_password(mysql_url):
    """A MariaDB account whose password is 'right' (dropped afterwards)."""
    url = make_url(mysql_url)
    admin = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                            password=url.password or "")
    hosts = ("127.0.0.1", "localhost", "%")
    try:
        with admin.cursor() as cur:
            for host in hosts:
                cur.execute(f"CREATE USER IF NOT EXISTS 'sqlab_pw_user'@'{host}' "
                            "IDENTIFIED BY 'right'")
        yield url.set(username="sqlab_pw_user")
    finally:
        with admin.cursor() as cur:
            for host in hosts:
                cur.execute(f"DROP USER IF EXISTS 'sqlab_pw_user'@'{host}'")
        admin.close()


@pytest.mark.parametrize("driver", async_drivers("mysql"))
def test_wrong_password(driver, mariadb_user_with_password):
    url = _with_password(mariadb_user_with_password.render_as_string(hide_password=False))
    proc = cli("run", "--driver", driver, "--url", url)
    assert_one_line_error(proc, "cannot connect", "sqlab_pw_user", "Access denied")


@pytest.mark.parametrize("driver", async_drivers("postgresql"))
def test_unknown_postgres_role(driver, postgres_url):
    url = _with_password(postgres_url, user="sqlab_no_such_role")
    proc = cli("run", "--driver", driver, "--url", url)
    assert_one_line_error(proc, "cannot connect", "sqlab_no_such_role")


# 6 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_postgres_database_that_does_not_exist(driver, postgres_url):
    url = _with_password(postgres_url, database="sqlab_no_such_db")
    assert_one_line_error(cli("run", "--driver", driver, "--url", url), "sqlab_no_such_db")


def test_mariadb_database_that_does_not_exist(mysql_url):
    url = make_url(mysql_url).set(database="sqlab_no_such_db").render_as_string(False)
    assert_one_line_error(cli("run", "--driver", "aiomysql", "--url", url), "sqlab_no_such_db")


# 7 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("driver", "module"), [("asyncmy", "asyncmy"), ("aiosqlite", "aiosqlite")])
def test_driver_package_not_installed(driver, module, tmp_path):
    proc = cli("run", "--driver", driver, "--url",
               _sqlite(tmp_path) if driver == "aiosqlite" else "mysql://root@127.0.0.1/test",
               block_import=module)
    assert_one_line_error(proc, f"driver {driver} is not installed", f"pip install {module}")


# 8 -------------------------------------------------------------------------------------
def _results_files(tmp_path):
    good = {"schema_version": 1}
    not_json = tmp_path / "not_json.json"
    not_json.write_text("hello, I am a text file\n")
    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps({**good, "cases": [{"scenario": "x"}] * 50})[:300])
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"schema_version": 99, "cases": []}))
    return {"not JSON": not_json, "truncated": truncated, "newer": newer}


@pytest.mark.parametrize("kind", ["not JSON", "truncated", "newer"])
def test_bad_results_file_for_report_and_compare(kind, tmp_path):
    path = _results_files(tmp_path)[kind]
    expected = "newer than this sqla-bench reads" if kind == "newer" else "not valid JSON"
    assert_one_line_error(cli("report", str(path), "--output", str(tmp_path / "r")),
                          str(path), expected)
    assert_one_line_error(cli("compare", str(path), str(path)), str(path), expected)


def test_results_file_that_does_not_exist(tmp_path):
    assert_one_line_error(cli("report", str(tmp_path / "nope.json")), "nope.json")


# 9 -------------------------------------------------------------------------------------
def test_output_in_a_missing_directory(tmp_path):
    out = tmp_path / "missing" / "run.json"
    proc = cli("run", "--driver", "aiosqlite", "--url", _sqlite(tmp_path), "--output", str(out))
    assert_one_line_error(proc, "cannot write", "does not exist")


def test_output_in_a_directory_that_is_not_writable(tmp_path):
    # /proc refuses new files even to root, whose permission bits never say no.
    proc = cli("run", "--driver", "aiosqlite", "--url", _sqlite(tmp_path),
               "--output", "/proc/sqla-bench-run.json")
    assert_one_line_error(proc, "cannot write", "not writable")


def test_output_under_a_file(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    proc = cli("run", "--driver", "aiosqlite", "--url", _sqlite(tmp_path),
               "--output", str(blocker / "run.json"))
    assert_one_line_error(proc, "cannot write", "is not a directory")


# 10 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("flag", "value"), [
    ("--rounds", "0"), ("--rounds", "-3"), ("--rounds", "99999999"), ("--warmup", "-1"),
    ("--connect-timeout", "0"), ("--connect-timeout", "-5"),
])
def test_rounds_and_limits_out_of_range(flag, value, tmp_path):
    proc = cli("run", "--driver", "aiosqlite", "--url", _sqlite(tmp_path), flag, value)
    assert_one_line_error(proc, flag, "must be between", value)


def test_a_number_that_is_not_a_number(tmp_path):
    proc = cli("run", "--driver", "aiosqlite", "--url", _sqlite(tmp_path), "--rounds", "ten")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--rounds" in proc.stderr and "'ten'" in proc.stderr


# 11 ------------------------------------------------------------------------------------
def test_compare_of_files_with_no_case_in_common(tmp_path):
    outputs = []
    for scenario in ("loading", "bulk_insert"):
        out = tmp_path / f"{scenario}.json"
        proc = cli("run", "--driver", "sqlite3", "--url", _sqlite(tmp_path), "--scenario",
                   scenario, "--variant", "raw_driver", "--rounds", "1", "--warmup", "0",
                   "--param", "rows=10" if scenario == "bulk_insert" else "parents=5",
                   "--output", str(out))
        assert proc.returncode == 0, proc.stderr
        outputs.append(str(out))
    assert_one_line_error(cli("compare", *outputs), "no case in common")
