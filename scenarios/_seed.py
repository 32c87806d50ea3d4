"""Seeding the shared User/Post tables fast, in batches, through Core."""

from __future__ import annotations

from sqlalchemy import insert, text

from bench.api import Context
from scenarios import models

BATCH = 5_000


async def seed_users_and_posts(ctx: Context, users: int, posts_per_user: int = 0) -> None:
    """Users 1..users, each with posts_per_user posts (ids in user order)."""
    async with ctx.engine.begin() as conn:
        for start in range(1, users + 1, BATCH):
            stop = min(users, start + BATCH - 1)
            await conn.execute(insert(models.users),
                               [models.user_row(i) for i in range(start, stop + 1)])
        if posts_per_user:
            rows = []
            for user_id in range(1, users + 1):
                for k in range(posts_per_user):
                    rows.append(models.post_row((user_id - 1) * posts_per_user + k + 1, user_id))
                if len(rows) >= BATCH:
                    await conn.execute(insert(models.posts), rows)
                    rows = []
            if rows:
                await conn.execute(insert(models.posts), rows)
        if conn.dialect.name == "postgresql":
            # Explicit ids do not move PostgreSQL's sequences: move them, so rows the
            # scenarios insert later get fresh ids.
            for table in (models.USERS_TABLE, models.POSTS_TABLE):
                await conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
