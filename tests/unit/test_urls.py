"""URL resolution (driver + driverless URL + environment defaults) and password masking."""

import pytest

from bench.db.database import DatabaseError, mask, resolve_url
from bench.db.drivers import DRIVERS, UnknownDriver, get_driver
from bench.db.masking import mask_text


def test_driverless_url_gets_the_driver_scheme():
    url = resolve_url(get_driver("asyncpg"), "postgresql://u:pw@db.example:5433/app")
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.database, url.username) == ("db.example", 5433, "app", "u")


def test_environment_default_per_backend():
    env = {"BENCH_MYSQL_URL": "mysql://bench@10.0.0.1:3307/b"}
    url = resolve_url(get_driver("asyncmy"), None, env=env)
    assert url.drivername == "mysql+asyncmy" and url.port == 3307
    url = resolve_url(get_driver("psycopg"), None, env={})
    assert url.render_as_string() == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_sqlite_default_is_a_file_under_results():
    url = resolve_url(get_driver("aiosqlite"), None, env={})
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database.startswith("results/")


def test_aliases_postgres_and_mariadb_are_accepted():
    url = resolve_url(get_driver("asyncpg"), "postgres://u@h/db")
    assert url.drivername == "postgresql+asyncpg"
    assert resolve_url(get_driver("aiomysql"), "mariadb://u@h/db").drivername == "mysql+aiomysql"


@pytest.mark.parametrize("driver, url, message", [
    ("asyncpg", "mysql://root@127.0.0.1/test", "is a mysql URL but driver asyncpg"),
    ("asyncpg", "postgresql+psycopg://u@h/db", "names driver 'psycopg'"),
    ("asyncpg", "not a url", "not a valid database URL"),
    ("asyncpg", "oracle://u@h/db", "unknown database"),
    ("asyncmy", "mysql://root@127.0.0.1", "names no database"),
])
def test_bad_urls_are_one_line_errors(driver, url, message):
    with pytest.raises(DatabaseError, match=message) as info:
        resolve_url(get_driver(driver), url)
    assert "\n" not in str(info.value)


def test_mask_hides_the_password_everywhere():
    url = resolve_url(get_driver("asyncpg"), "postgresql://bob:S3cr3t-pw@h:5432/db")
    assert "S3cr3t-pw" not in mask(url) and "***" in mask(url)
    text = 'connect to postgresql://bob:S3cr3t-pw@h/db failed: password=S3cr3t-pw host=h'
    cleaned = mask_text(text, ["S3cr3t-pw"])
    assert "S3cr3t-pw" not in cleaned
    assert "bob" in cleaned  # the user is not a secret and helps the reader


def test_malformed_url_error_does_not_echo_the_password():
    with pytest.raises(DatabaseError) as info:
        resolve_url(get_driver("asyncpg"), "postgresql://bob:Pw-42@h:notaport/db")
    assert "Pw-42" not in str(info.value)


def test_unknown_driver_lists_the_known_ones():
    with pytest.raises(UnknownDriver) as info:
        get_driver("oracledb")
    for name in DRIVERS:
        assert name in str(info.value)


@pytest.mark.parametrize("name, text, expected", [
    ("asyncpg", "SELECT ? , ?", "SELECT $1 , $2"),
    ("psycopg", "SELECT ? WHERE a LIKE '1%'", "SELECT %s WHERE a LIKE '1%%'"),
    ("aiosqlite", "SELECT ?", "SELECT ?"),
])
def test_raw_sql_placeholders_per_driver(name, text, expected):
    assert get_driver(name).sql(text) == expected
