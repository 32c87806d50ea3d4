"""Capture a workload from the real fastapi_service app under HTTP load (used by the
replay tests and by the capture-overhead measurement in docs/replay.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.api.service import Service
from scenarios import models

APP = "scenarios._fastapi_app:app"
USERS = 60
POSTS_PER_USER = 3
CREATED_PREFIX = "replaytest-"


@contextlib.contextmanager
def seeded(sync_url: str) -> Iterator[None]:
    """The application's own tables (scenarios.models' sqlab_users and sqlab_posts, made
    here as an application makes its schema, not by sqla-bench's runs), fresh with USERS
    users and their posts, dropped when the block ends: a staging database to capture
    from and replay against."""
    engine = sa.create_engine(sync_url)
    try:
        models.metadata.drop_all(engine)
        models.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.insert(models.users), [models.user_row(i)
                                                   for i in range(1, USERS + 1)])
            conn.execute(sa.insert(models.posts), [
                models.post_row((u - 1) * POSTS_PER_USER + k + 1, u)
                for u in range(1, USERS + 1) for k in range(POSTS_PER_USER)])
            if conn.dialect.name == "postgresql":  # ids were given: move the sequence on
                conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('sqlab_users', "
                                     "'id'), (SELECT max(id) FROM sqlab_users))")
        yield
    finally:
        models.metadata.drop_all(engine)
        engine.dispose()


def forget_created(sync_url: str) -> None:
    """Delete the users the load created: the database is as it was before the capture,
    as a staging copy of the moment the capture began would be."""
    engine = sa.create_engine(sync_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(models.users).where(
                models.users.c.username.like(f"{CREATED_PREFIX}%")))
    finally:
        engine.dispose()


def requests_for(count: int) -> list[tuple[str, str, Any]]:
    """A mix over every route: lists, a user, a user with posts, a page with posts, and
    a new user now and then."""
    out: list[tuple[str, str, Any]] = []
    for i in range(count):
        user = i % USERS + 1
        kind = i % 5
        if kind == 0:
            out.append(("GET", f"/users?limit=10&offset={i % 40}", None))
        elif kind == 1:
            out.append(("GET", f"/users/{user}", None))
        elif kind == 2:
            out.append(("GET", f"/users/{user}/with-posts", None))
        elif kind == 3:
            out.append(("GET", f"/users/with-posts?limit=5&offset={i % 40}", None))
        else:
            out.append(("POST", "/users", {"username": f"{CREATED_PREFIX}{i}-{time.time_ns()}",
                                           "email": f"{CREATED_PREFIX}{i}-{time.time_ns()}@x"}))
    return out


async def load(base_url: str, requests: list[tuple[str, str, Any]], concurrency: int) -> float:
    """Send the requests from `concurrency` clients; requests per second."""
    queue = list(reversed(requests))

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            while queue:
                method, path, body = queue.pop()
                answer = await client.request(method, path, json=body)
                answer.raise_for_status()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(requests) / (time.perf_counter() - start)


async def serve_and_load(async_url: str, requests: list[tuple[str, str, Any]],
                         concurrency: int, capture: Path | None,
                         pool_size: int = 5) -> float:
    """Start the app (capturing into `capture` when given), load it, stop it (the
    capture's file is closed by the app's shutdown); requests per second."""
    settings = {"SQLAB_APP_URL": async_url, "SQLAB_APP_POOL_SIZE": str(pool_size),
                "SQLAB_APP_CONNECT_ARGS": json.dumps({})}
    if capture is not None:
        settings["SQLAB_APP_CAPTURE"] = str(capture)
    service = Service(APP, settings, 1, [make_url(async_url).password])
    service.start()
    try:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=60) as control:
            await service.wait_ready(control)
        return await load(service.base_url, requests, concurrency)
    finally:
        await service.stop()
