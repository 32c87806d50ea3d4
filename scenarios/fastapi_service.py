"""fastapi_service: a real FastAPI + async SQLAlchemy service under HTTP load.

The application (scenarios/_fastapi_app.py) runs under uvicorn in its own process group
on 127.0.0.1 and a free port. One server per *case*: the variant is the server's
configuration (its loading strategy), so each case starts its server before the first
round and stops it after the last, also when the case fails; the port is free again
and no worker is left. The cases' servers boot side by side (a case waits for its own
before its first round, not when it opens): a point pays for one start-up, not two.
The database URL reaches the server by environment variable, never on its command line.

The load comes from the runner's own event loop: `concurrency` workers taking
`requests` requests per round from one shared queue, each worker with its own
httpx.AsyncClient keeping one connection alive. (One client shared by 64 workers spends
more CPU in its pool than the service spends serving: on a 2-core machine, 74 req/s
through one shared client against 191 through per-worker clients, same server.)
One load process is often the ceiling (about 250 requests/s here), so the load may come
from several (--processes N, --cluster): the service still starts once per case, on
the coordinator, and each load process sends its share of the requests (bench.api.drive) with
its own clients; --rate R sends them at a fixed rate. With --service-url the load goes to
a service already running this app (on another host, say) instead, the variant's loading
strategy sent with each request (the X-Sqlab-Loading header).
`route` chooses what they ask for:
- page_with_posts (default): GET /users/with-posts?limit=10&offset=k, a page of ten
  users with their posts; where N+1 shows (2 statements a request with selectinload,
  1 + 10 with lazy loading);
- user_with_posts: GET /users/{id}/with-posts (2 statements either way: one user);
- mix: those two, GET /users/{id} and GET /users?limit=10&offset=k in turn.
Variants: selectinload vs lazy_n_plus_1 (each user's posts awaited one by one); both
return the same JSON, which the runner compares. selectinload is the reference.

Schedule: interleaved, as every family: both variants' servers run for the whole point
(two uvicorn processes, each with its pool), so rounds of the two alternate; an idle
server costs nothing while the other one is loaded.

Counted under callgrind (--measure instructions), the case serves in its own process
instead: the same app (make_app), its lifespan entered at case setup, reached through
httpx's ASGI transport. Callgrind counts one process, so a uvicorn server would leave the
service's work out of the count and only the load's would be judged; in-process, a
round's count is the load's requests and the service's routes, FastAPI, SQLAlchemy and
the driver, and what changes in the service is what moves it (no uvicorn or HTTP parsing).

Recorded per case (timed rounds only): requests/s of the load alone (the case's
throughput), latency p50 ... p99.99 and max of every request, errors (non-2xx answers
and transport errors are counted, not raised; a round in which every request failed,
or in which the server died, fails the case), and SQL statements per request, counted
inside the server and read from GET /_stats after each round (reset before each round;
both untimed). A raw-driver floor does not fit an HTTP service.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import httpx

from bench.api import Comparison, Context, Family, Param, Service, drive
from scenarios import models
from scenarios._seed import seed_users_and_posts

PAGE = 10
POSTS_PER_USER = 3
ROUTES = ("page_with_posts", "user_with_posts", "mix")
REQUEST_TIMEOUT = 60.0
CLIENT_KEEP_ALIVE = 60.0  # let go of idle connections well before the server does
APP = "scenarios._fastapi_app:app"
IN_PROCESS_URL = "http://in-process.service"  # the base URL of a service served here
LOADING_HEADER = "X-Sqlab-Loading"  # the app's per-request choice of loading strategy

family = Family(
    name="fastapi_service",
    question="What does my FastAPI + async SQLAlchemy service sustain, and where does the "
             "time go?",
    unit="requests",
    serves=True,
    params=[
        Param("concurrency", int, quick=[16], counted=[4], standard=[1, 16, 64],
              help="requests in flight at once (HTTP client workers)"),
        Param("requests", int, quick=[32], counted=[8], standard=[256], full=[1_024],
              help="requests per round (keep it several times concurrency)"),
        Param("pool_size", int, quick=[5], standard=[5, 20],
              help="the service's connection pool (max_overflow 0)"),
        Param("workers", int, quick=[1], help="uvicorn worker processes"),
        Param("users", int, quick=[200], counted=[20], standard=[1_000],
              help=f"users seeded, {POSTS_PER_USER} posts each"),
        Param("route", str, quick=["page_with_posts"], full=["page_with_posts", "mix"],
              choices=ROUTES, help="what the load asks for"),
    ],
    ops=lambda p: p["requests"],
    tables=models.metadata,
    reference="selectinload",  # an HTTP service has no raw-driver floor
    scales=True,
    comparisons=[
        Comparison("selectinload", "lazy_n_plus_1",
                   "selectinload instead of lazy loading in the service"),
    ],
)


@family.setup
async def seed(ctx: Context) -> None:
    await seed_users_and_posts(ctx, ctx.params["users"], POSTS_PER_USER)


# -- the server process ------------------------------------------------------------

def server_settings(ctx: Context, **overrides: str) -> dict[str, str]:
    """The server's environment from the case: the driver's async URL (in the run's
    namespace) and the params."""
    url, connect_args = ctx.engine_settings()
    return {
        "SQLAB_APP_URL": url.render_as_string(hide_password=False),
        "SQLAB_APP_CONNECT_ARGS": json.dumps(connect_args),
        "SQLAB_APP_POOL_SIZE": str(ctx.params["pool_size"]),
        "SQLAB_APP_LOADING": "lazy" if ctx.variant == "lazy_n_plus_1" else "selectinload",
        **overrides,
    }


async def start_server(ctx: Context, *, wait: bool = True, **overrides: str) -> None:
    """Start the case's server (or take --service-url's) and a client to control it;
    stop_server undoes both. The load processes reach it at case_shared["base_url"].
    wait=False: return once it is started; wait_started waits for it to answer."""
    service = None
    transport = None
    if ctx.service_url:
        base_url = ctx.service_url.rstrip("/")
    elif ctx.counted:
        transport = await _serve_in_process(ctx)
        base_url = IN_PROCESS_URL
    else:
        service = Service(APP, server_settings(ctx, **overrides), ctx.params["workers"],
                          [ctx.url.password])
        ctx.case_state["service"] = service  # first: stop_server finds it whatever fails next
        pgid = service.start()
        ctx.extra.update(server_port=service.port, server_pgid=pgid)
        base_url = service.base_url
    ctx.case_state["control"] = httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT,
                                                  transport=transport)
    if service is None:
        await _service_call(ctx, "GET", "/_stats")  # it answers, and is this app
    elif wait:
        await wait_started(ctx)
    ctx.case_shared["base_url"] = base_url


async def _serve_in_process(ctx: Context) -> httpx.ASGITransport:
    """The case's service in this process (counted rounds), its lifespan entered until
    stop_server; returns the transport that reaches it."""
    from scenarios._fastapi_app import Settings, make_app  # FastAPI: only when serving here

    app = make_app(Settings.from_env(server_settings(ctx)))  # a server's settings, given
    stack = ctx.case_state["in_process"] = AsyncExitStack()
    await stack.enter_async_context(app.router.lifespan_context(app))
    # Every connection the load can hold at once, opened now: a counted round that opened
    # one (a pool grows when requests first overlap) would count its connect.
    sessions = [app.state.sessionmaker()
                for _ in range(min(ctx.params["pool_size"], ctx.params["concurrency"]))]
    await asyncio.gather(*(session.connection() for session in sessions))
    await asyncio.gather(*(session.close() for session in sessions))
    transport = httpx.ASGITransport(app=app)
    ctx.case_state["transport"] = transport
    return transport


async def wait_started(ctx: Context) -> None:
    """Once, before the case's first round: until its server answers, every worker up."""
    service: Service | None = ctx.case_state.get("service")
    if service is not None and not ctx.case_state.get("ready"):
        await service.wait_ready(ctx.case_state["control"])
        ctx.case_state["ready"] = True


async def stop_server(ctx: Context) -> None:
    control: httpx.AsyncClient | None = ctx.case_state.pop("control", None)
    service: Service | None = ctx.case_state.pop("service", None)
    in_process: AsyncExitStack | None = ctx.case_state.pop("in_process", None)
    try:
        if control is not None:
            await control.aclose()
    finally:
        if service is not None:
            await service.stop()
        if in_process is not None:
            await in_process.aclose()  # the app's lifespan: its engine disposed


@family.case_setup
async def start_case_server(ctx: Context) -> None:
    """The case's server, waited for before its first round (reset_statement_count): the
    point's servers boot side by side, the second case opening while the first one boots."""
    await start_server(ctx, wait=False)


family.case_teardown(stop_server)


@family.before_round
async def reset_statement_count(ctx: Context) -> None:
    await wait_started(ctx)
    await _service_call(ctx, "POST", "/_stats/reset")


@family.after_round
async def count_server_statements(ctx: Context, _data: object) -> None:
    """The statements the server ran for the round's requests, counted inside it."""
    stats = await _service_call(ctx, "GET", "/_stats")
    ctx.count_statements(stats["statements"])
    if ctx.timed:
        totals = ctx.case_state.setdefault("totals", {"requests": 0, "statements": 0})
        totals["requests"] += ctx.params["requests"]
        totals["statements"] += stats["statements"]
        ctx.extra["statements_per_request"] = round(totals["statements"] / totals["requests"],
                                                    3)
        ctx.extra["server_workers_seen"] = stats["workers"]


async def _service_call(ctx: Context, method: str, path: str) -> dict[str, Any]:
    """A diagnostic request; a dead server is named as such, with its last output."""
    try:
        response = await ctx.case_state["control"].request(method, path)
        response.raise_for_status()
        return response.json()
    except httpx.HTTPError:
        _raise_if_stopped(ctx)
        raise


def _raise_if_stopped(ctx: Context) -> None:
    service: Service | None = ctx.case_state.get("service")  # the process that started it
    if service is not None and not service.running():
        raise RuntimeError(f"the service stopped during the round ({service.exit_status()}): "
                           f"{service.log_tail()}")


# -- the load --------------------------------------------------------------------

def _targets(params: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
    """The request i of every round, the same for every variant (the data must agree)."""
    users, route = params["users"], params["route"]
    targets = []
    for i in range(params["requests"]):
        user_id = i % users + 1
        page = {"limit": PAGE, "offset": (i * PAGE) % max(1, users - PAGE + 1)}
        kind = route if route != "mix" else ("user", "user_with_posts", "page",
                                             "page_with_posts")[i % 4]
        targets.append({
            "user": (f"/users/{user_id}", {}),
            "user_with_posts": (f"/users/{user_id}/with-posts", {}),
            "page": ("/users", page),
            "page_with_posts": ("/users/with-posts", page),
        }[kind])
    return targets


def _clients(ctx: Context) -> asyncio.Queue[httpx.AsyncClient]:
    """This process's HTTP clients, one per virtual user, each keeping its one connection
    alive: one client shared by all costs more CPU per request the more connections its
    pool holds (httpcore scans them), and at 64 the load generator, not the service, is
    measured. Made at the first round, closed with the case."""
    idle: asyncio.Queue[httpx.AsyncClient] | None = ctx.case_state.get("clients")
    if idle is None:
        idle = ctx.case_state["clients"] = asyncio.Queue()
        made = [httpx.AsyncClient(
            base_url=ctx.case_shared["base_url"], timeout=REQUEST_TIMEOUT,
            transport=ctx.case_state.get("transport"),  # the in-process service's, if any
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1,
                                keepalive_expiry=CLIENT_KEEP_ALIVE))
            for _ in range(ctx.load.users(max(1, ctx.params["concurrency"])))]
        for client in made:
            idle.put_nowait(client)

        async def close() -> None:
            await asyncio.gather(*(client.aclose() for client in made), return_exceptions=True)

        ctx.on_close(close)
    return idle


async def _load(ctx: Context) -> list[Any]:
    """One round: this process's share of `requests` requests by its share of
    `concurrency` users; returns the answers (None for a failed request)."""
    clients = _clients(ctx)
    loading = {LOADING_HEADER: "lazy" if ctx.variant == "lazy_n_plus_1" else "selectinload"}
    errors: list[str] = []

    async def request(target: tuple[str, dict[str, int]]) -> Any:
        path, query = target
        client = await clients.get()
        try:
            response = await client.get(path, params=query, headers=loading)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
            return None
        finally:
            clients.put_nowait(client)
        if not response.is_success:
            errors.append(f"HTTP {response.status_code}")
            return None
        return response.json()

    answers = await drive(ctx, _targets(ctx.params), request, users=ctx.params["concurrency"])
    _raise_if_stopped(ctx)
    if answers and len(errors) == len(answers):
        service: Service | None = ctx.case_state.get("service")
        tail = f": {service.log_tail()}" if service is not None else ""
        raise RuntimeError(f"every request of the round failed ({errors[0]}){tail}")
    if ctx.timed:
        ctx.extra["errors"] = ctx.extra.get("errors", 0) + len(errors)
        if errors and "first_error" not in ctx.extra:
            ctx.extra["first_error"] = errors[0]
    return answers


@family.variant("selectinload")
async def selectinload_route(ctx: Context) -> list[Any]:
    """The service loads posts with selectinload (2 statements per page)."""
    return await _load(ctx)


@family.variant("lazy_n_plus_1")
async def lazy_route(ctx: Context) -> list[Any]:
    """The service awaits each user's posts (1 + users statements per page)."""
    return await _load(ctx)
