"""Test-only: the fastapi_service server around cases that fail, to prove the server is
stopped (its workers too, its port freed) whichever way a case fails."""

import asyncio
import os
import signal

from bench.api import Context, Family, Param
from scenarios import fastapi_service, models

# A URL the server cannot connect to, with a password that must never be shown.
UNREACHABLE_URL = "postgresql+asyncpg://bench:hidden-pw-8d1f@127.0.0.1:1/nowhere"

family = Family(
    name="broken_service",
    question="Is the service stopped when its case fails?",
    unit="requests",
    params=[Param(name, int, quick=[value]) for name, value in
            (("concurrency", 2), ("requests", 40), ("pool_size", 2), ("workers", 2),
             ("users", 20))] + [Param("route", str, quick=["page_with_posts"])],
    ops=lambda p: p["requests"],
    tables=models.metadata,
)
family.setup(fastapi_service.seed)
family.case_teardown(fastapi_service.stop_server)


@family.case_setup
async def start(ctx: Context) -> None:
    broken = {"broken_setting": {"SQLAB_APP_LOADING": "eager-ish"},
              "unreachable_database": {"SQLAB_APP_URL": UNREACHABLE_URL}}
    await fastapi_service.start_server(ctx, **broken.get(ctx.variant, {}))


@family.variant("fails_while_serving")
async def fails_while_serving(ctx: Context) -> list:
    answers = await fastapi_service._load(ctx)
    assert all(answer is not None for answer in answers)
    cmdline = open(f"/proc/{ctx.extra['server_pgid']}/cmdline", "rb").read().decode()
    assert str(ctx.url.database) not in cmdline, "the database URL is on the command line"
    raise RuntimeError("deliberate failure while the service runs")


@family.variant("killed_mid_round")
async def killed_mid_round(ctx: Context) -> list:
    """SIGKILL the uvicorn master while requests run: its workers become orphans."""
    load = asyncio.ensure_future(fastapi_service._load(ctx))
    await asyncio.sleep(0.005)  # 40 requests two at a time take far longer than this
    os.kill(ctx.extra["server_pgid"], signal.SIGKILL)
    return await load


@family.variant("broken_setting")
async def broken_setting(ctx: Context) -> list:
    return await fastapi_service._load(ctx)  # never reached: the server does not start


@family.variant("unreachable_database")
async def unreachable_database(ctx: Context) -> list:
    return await fastapi_service._load(ctx)  # never reached: the server does not start
