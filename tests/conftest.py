"""Shared fixtures: where the real database servers are, and whether they must be there.

Server tests skip with a reason when a server does not answer, unless
BENCH_REQUIRE_SERVERS=1 (CI), where a missing server fails the test instead.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

from bench.db.database import DEFAULT_URLS


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port), timeout=2):
            return True
    except OSError:
        return False


def _server_url(env_var: str, default: str, backend: str) -> str:
    url = os.environ.get(env_var, default)
    if not _answers(url):
        where = f"{urlsplit(url).hostname}:{urlsplit(url).port}"
        message = f"{backend} server at {env_var} ({where}) does not answer"
        if os.environ.get("BENCH_REQUIRE_SERVERS") == "1":
            pytest.fail(message + " and BENCH_REQUIRE_SERVERS=1", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Driverless URL of the PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/test."""
    return _server_url(*DEFAULT_URLS["postgresql"], "PostgreSQL")


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """Driverless URL of the MySQL/MariaDB server."""
    return _server_url(*DEFAULT_URLS["mysql"], "MySQL/MariaDB")
