"""A scratch database per test on the real servers, so a test that plants tables or
kills connections touches nothing but its own (dropped afterwards)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import psycopg
import pymysql
from sqlalchemy.engine import URL, make_url


@contextlib.contextmanager
def scratch_database(server_url: str) -> Iterator[URL]:
    """A new, empty database on the server of `server_url` (a driverless URL)."""
    url = make_url(server_url)
    name = f"sqlab_scratch_{uuid.uuid4().hex[:8]}"
    if url.get_backend_name() == "postgresql":
        dsn = dict(host=url.host, port=url.port or 5432, user=url.username,
                   password=url.password, dbname=url.database)
        with psycopg.connect(**dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name)
        finally:
            with psycopg.connect(**dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        admin = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                                password=url.password or "", autocommit=True)
        try:
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}`")
            yield url.set(database=name)
        finally:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            admin.close()
