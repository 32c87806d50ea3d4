"""The seed's User/Post models, on the harness's own prefixed tables.

Every scenario family that needs users and posts uses these, so a result from one
family reads against another. Tables are created and dropped by the runner
(bench.db.database), which only ever touches tables named sqlab_*.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import DateTime, ForeignKey, MetaData, String, Table, Text, func
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

USERS_TABLE = "sqlab_users"
POSTS_TABLE = "sqlab_posts"


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData()


class User(Base):
    __tablename__ = USERS_TABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    posts: Mapped[list[Post]] = relationship(back_populates="author", order_by="Post.id")


class Post(Base):
    __tablename__ = POSTS_TABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey(f"{USERS_TABLE}.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    author: Mapped[User] = relationship(back_populates="posts")


metadata = Base.metadata
users = cast(Table, User.__table__)
posts = cast(Table, Post.__table__)


def user_row(i: int) -> dict[str, Any]:
    """The i-th seeded user, the same on every driver so results compare."""
    return {"id": i, "username": f"user{i:07d}", "email": f"user{i:07d}@example.com"}


def post_row(post_id: int, user_id: int) -> dict[str, Any]:
    return {
        "id": post_id,
        "user_id": user_id,
        "title": f"post {post_id} of user {user_id}",
        "content": f"content of post {post_id}",
    }
