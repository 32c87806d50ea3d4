"""The FastAPI service the fastapi_service family puts under load (not a family itself).

The seed's shape: an AsyncEngine and async_sessionmaker made at startup (lifespan), a
session per request through a dependency, and routes to create a user, get a user, get
a user with posts, list users a page at a time, and list a page of users with posts.
Settings come from the environment (the URL carries a password: never the command line):

  SQLAB_APP_URL           SQLAlchemy async URL, driver included (required)
  SQLAB_APP_CONNECT_ARGS  JSON object of connect_args (the harness's connect timeout)
  SQLAB_APP_POOL_SIZE     connections in the pool, a hard cap (max_overflow 0); default 5
  SQLAB_APP_LOADING       selectinload | lazy: how the with-posts routes load posts
                          (a request's X-Sqlab-Loading header chooses for itself: one
                          service run elsewhere serves every variant, --service-url)
  SQLAB_APP_STATS_DIR     a directory shared by the worker processes for /_stats
  SQLAB_APP_PARENT_PID    the harness: when it is gone, the server stops its process group
  SQLAB_APP_CAPTURE       a workload file: capture every statement, each request a unit
                          named by its route (bench.api.capturing; "{pid}" per worker)
  SQLAB_APP_CAPTURE_REDACT  1: redact the captured parameter values

GET /_stats answers the SQL statements executed since POST /_stats/reset, counted by a
before_cursor_execute listener, summed over every uvicorn worker process.

Run on its own: SQLAB_APP_URL=sqlite+aiosqlite:///db.sqlite3 uvicorn scenarios._fastapi_app:app
(the sqlab_users / sqlab_posts tables must exist: the family creates and seeds them).
`make_app(settings)` makes another instance, its settings given instead of read at startup.
"""

from __future__ import annotations

import asyncio
import json
import mmap
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload

from bench.api import CaptureMiddleware, capture
from scenarios.models import User

LOADING = ("selectinload", "lazy")
MAX_PAGE = 100


@dataclass(frozen=True)
class Settings:
    url: str
    connect_args: dict[str, Any]
    pool_size: int
    loading: str
    stats_dir: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """The settings from SQLAB_APP_* variables (the process's own by default), or
        ValueError naming the bad one (shown in the server's log)."""
        if not env.get("SQLAB_APP_URL"):
            raise ValueError("SQLAB_APP_URL is not set")
        loading = env.get("SQLAB_APP_LOADING", "selectinload")
        if loading not in LOADING:
            raise ValueError(f"SQLAB_APP_LOADING must be one of {', '.join(LOADING)}, "
                             f"not {loading!r}")
        pool_text = env.get("SQLAB_APP_POOL_SIZE", "5")
        if not pool_text.isdigit() or int(pool_text) < 1:
            raise ValueError(f"SQLAB_APP_POOL_SIZE must be a whole number >= 1, not {pool_text!r}")
        return cls(url=env["SQLAB_APP_URL"],
                   connect_args=json.loads(env.get("SQLAB_APP_CONNECT_ARGS") or "{}"),
                   pool_size=int(pool_text), loading=loading,
                   stats_dir=env.get("SQLAB_APP_STATS_DIR") or None)


class StatementCounter:
    """SQL statements since the last reset, summed over every worker process.

    uvicorn's workers are separate processes, and /_stats reaches only one of them. So
    each worker keeps its count in its own 8-byte file in a shared directory, memory
    mapped (counting one statement is one memory write), and /_stats adds the files up.
    Resets happen between rounds, when no request is running. Without a directory
    the count is this process's alone.
    """

    def __init__(self, directory: str | None) -> None:
        self._directory = Path(directory) if directory else None
        if self._directory is None:
            self._map = mmap.mmap(-1, 8)
        else:
            with open(self._directory / f"worker-{os.getpid()}.count", "w+b") as file:
                file.write(bytes(8))
                file.flush()
                self._map = mmap.mmap(file.fileno(), 8)
        self._cell = memoryview(self._map).cast("q")

    def add(self, *_args: Any) -> None:
        self._cell[0] += 1

    def _files(self) -> list[Path]:
        return sorted(self._directory.glob("worker-*.count")) if self._directory else []

    def workers(self) -> int:
        return len(self._files()) if self._directory else 1

    def total(self) -> int:
        if self._directory is None:
            return self._cell[0]
        return sum(int.from_bytes(path.read_bytes()[:8], sys.byteorder, signed=True)
                   for path in self._files())

    def reset(self) -> None:
        if self._directory is None:
            self._cell[0] = 0
        for path in self._files():
            with open(path, "r+b") as file:
                file.write(bytes(8))

    def close(self) -> None:
        self._cell.release()
        self._map.close()


async def stop_with_parent(pid: int) -> None:
    """Stop the whole server once the harness that started it is gone: killed outright,
    the harness could not stop it, and no server may outlive its benchmark. The family
    starts the server in a process group of its own, so the group is the server."""
    while True:
        await asyncio.sleep(1.0)
        try:
            os.kill(pid, 0)
        except OSError:  # gone, or its pid now another user's process: not our harness
            os.killpg(os.getpgrp(), signal.SIGTERM)
            return


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings or Settings.from_env()
    parent = os.environ.get("SQLAB_APP_PARENT_PID")
    engine = create_async_engine(settings.url, pool_size=settings.pool_size, max_overflow=0,
                                 pool_timeout=60, connect_args=settings.connect_args)
    counter = None
    watchdog = asyncio.create_task(stop_with_parent(int(parent))) if parent else None
    try:
        async with engine.connect():
            pass  # a wrong URL stops the server at start, not every request later
        counter = StatementCounter(settings.stats_dir)  # now this worker counts as started
        event.listen(engine.sync_engine, "before_cursor_execute", counter.add)
        app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        app.state.lazy = settings.loading == "lazy"
        app.state.counter = counter
        capture_path = os.environ.get("SQLAB_APP_CAPTURE")
        if capture_path:
            with capture(engine, capture_path,
                         redact=os.environ.get("SQLAB_APP_CAPTURE_REDACT") == "1"):
                yield
        else:
            yield
    finally:
        if watchdog is not None:
            watchdog.cancel()
        await engine.dispose()
        if counter is not None:
            counter.close()


router = APIRouter()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Query(ge=0)]


class NewUser(BaseModel):
    username: str
    email: str


def _user(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "email": user.email}


def _lazy(request: Request) -> bool:
    chosen = request.headers.get("x-sqlab-loading")
    if chosen not in LOADING:
        return bool(request.app.state.lazy)
    return chosen == "lazy"


def _users_with_posts_query(request: Request) -> Any:
    stmt = select(User).order_by(User.id)
    return stmt if _lazy(request) else stmt.options(selectinload(User.posts))


async def _with_posts(request: Request, users: list[User]) -> list[dict[str, Any]]:
    out = []
    for user in users:
        # Lazy mode: one SELECT per user, awaited (plain attribute access would raise
        # MissingGreenlet under asyncio). selectinload mode: already loaded.
        posts = await user.awaitable_attrs.posts if _lazy(request) else user.posts
        out.append({**_user(user), "posts": [{"id": p.id, "title": p.title} for p in posts]})
    return out


# -- diagnostics ---------------------------------------------------------------------

@router.get("/_health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/_stats")
async def stats(request: Request) -> dict[str, int]:
    counter: StatementCounter = request.app.state.counter
    return {"statements": counter.total(), "workers": counter.workers()}


@router.post("/_stats/reset")
async def reset_stats(request: Request) -> dict[str, int]:
    request.app.state.counter.reset()
    return {"statements": 0}


# -- the service ---------------------------------------------------------------------

@router.post("/users", status_code=201)
async def create_user(new: NewUser, session: Session) -> dict[str, Any]:
    user = User(username=new.username, email=new.email)
    session.add(user)
    await session.commit()
    return _user(user)  # expire_on_commit=False: no reload


@router.get("/users")
async def list_users(session: Session, limit: Limit = 20, offset: Offset = 0) -> list[dict]:
    stmt = select(User).order_by(User.id).limit(limit).offset(offset)
    return [_user(u) for u in (await session.scalars(stmt)).all()]


@router.get("/users/with-posts")  # before /users/{user_id}, which would take "with-posts"
async def list_users_with_posts(request: Request, session: Session, limit: Limit = 10,
                                offset: Offset = 0) -> list[dict]:
    stmt = _users_with_posts_query(request).limit(limit).offset(offset)
    return await _with_posts(request, list((await session.scalars(stmt)).all()))


@router.get("/users/{user_id}")
async def get_user(user_id: int, session: Session) -> dict[str, Any]:
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(404, "no such user")
    return _user(user)


@router.get("/users/{user_id}/with-posts")
async def get_user_with_posts(user_id: int, request: Request, session: Session) -> dict:
    stmt = _users_with_posts_query(request).where(User.id == user_id)
    user = (await session.scalars(stmt)).first()
    if user is None:
        raise HTTPException(404, "no such user")
    return (await _with_posts(request, [user]))[0]


def make_app(settings: Settings | None = None) -> FastAPI:
    """The service: its settings from the environment at startup (uvicorn), or given (the
    family serving in its own process while its rounds are counted)."""
    made = FastAPI(title="sqla-bench service", lifespan=lifespan)
    made.state.settings = settings
    made.include_router(router)
    if os.environ.get("SQLAB_APP_CAPTURE"):  # each request one unit of work, named by route
        made.add_middleware(CaptureMiddleware)
    return made


app = make_app()
