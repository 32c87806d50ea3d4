"""The postgresql+aiopg dialect against the real PostgreSQL server."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

from bench.db.dialects import aiopg as aiopg_dialect


class Base(DeclarativeBase):
    pass


class Owner(Base):
    __tablename__ = "sqlab_aiopg_owner"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)
    pets: Mapped[list[Pet]] = relationship(order_by="Pet.id")


class Pet(Base):
    __tablename__ = "sqlab_aiopg_pet"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("sqlab_aiopg_owner.id"))
    name: Mapped[str] = mapped_column(sa.String(50))


@pytest.fixture
def engine_url(postgres_url):
    return postgres_url.replace("postgresql://", "postgresql+aiopg://", 1)


def run(engine_url, work):
    """Create the tables, run `work(engine)`, drop the tables, dispose: all in one loop."""

    async def main():
        engine = create_async_engine(engine_url, connect_args={"timeout": 5})
        try:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
                await conn.run_sync(Base.metadata.create_all)
            return await work(engine)
        finally:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
            await engine.dispose()

    return asyncio.run(main())


def test_entry_point_resolves_to_our_dialect():
    assert sa.dialects.registry.load("postgresql.aiopg") is aiopg_dialect.dialect


def test_core_select_returns_values(engine_url):
    async def work(engine):
        async with engine.connect() as conn:
            row = (await conn.execute(sa.text("SELECT 1 + 1 AS two, 'x' || 'y' AS xy"))).one()
            version = await conn.scalar(sa.text("SHOW server_version"))
        return row, version, engine.dialect.dbapi_version

    row, version, dbapi_version = run(engine_url, work)
    assert tuple(row) == (2, "xy")
    assert version[0].isdigit()
    assert dbapi_version is not None and dbapi_version[0] >= 1  # aiopg's version, not psycopg2's


def test_insert_returning_and_executemany(engine_url):
    async def work(engine):
        table = Owner.__table__
        async with engine.begin() as conn:
            rows = [{"name": "a"}, {"name": "b"}, {"name": "c"}]
            ids = (await conn.execute(sa.insert(table).returning(table.c.id), rows)).scalars().all()
            await conn.execute(sa.insert(table), [{"name": f"n{i}"} for i in range(50)])
        async with engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(table))
        return ids, count

    ids, count = run(engine_url, work)
    assert len(ids) == 3 and len(set(ids)) == 3
    assert count == 53


def test_orm_add_commit_is_visible_from_another_connection(engine_url):
    async def work(engine):
        async with AsyncSession(engine) as session:
            session.add(Owner(id=1, name="ann", pets=[Pet(name="rex"), Pet(name="tom")]))
            await session.commit()
        other = create_async_engine(engine_url)
        try:
            async with other.connect() as conn:
                return await conn.scalar(sa.select(sa.func.count()).select_from(Pet.__table__))
        finally:
            await other.dispose()

    assert run(engine_url, work) == 2


def test_rollback_really_discards_the_write(engine_url):
    async def work(engine):
        async with AsyncSession(engine) as session:
            session.add(Owner(id=7, name="ghost"))
            await session.flush()  # the INSERT reached the server, inside the transaction
            inside = await session.scalar(sa.select(sa.func.count()).select_from(Owner))
            await session.rollback()
        async with engine.connect() as conn:
            after = await conn.scalar(sa.select(sa.func.count()).select_from(Owner.__table__))
        return inside, after

    inside, after = run(engine_url, work)
    assert (inside, after) == (1, 0)


def test_session_get_and_selectinload_use_two_statements(engine_url):
    async def work(engine):
        async with AsyncSession(engine) as session:
            session.add_all([
                Owner(id=i, name=f"o{i}", pets=[Pet(name=f"p{i}{j}") for j in range(3)])
                for i in range(1, 4)
            ])
            await session.commit()
        statements = []
        event.listen(engine.sync_engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        async with AsyncSession(engine) as session:
            owner = await session.get(Owner, 2)
            got = (owner.id, owner.name)
        statements.clear()
        async with AsyncSession(engine) as session:
            owners = (await session.scalars(sa.select(Owner).options(selectinload(Owner.pets))
                                            .order_by(Owner.id))).all()
            loaded = [(o.name, [p.name for p in o.pets]) for o in owners]
        return got, loaded, list(statements)

    got, loaded, statements = run(engine_url, work)
    assert got == (2, "o2")
    assert loaded == [(f"o{i}", [f"p{i}{j}" for j in range(3)]) for i in range(1, 4)]
    assert len(statements) == 2, statements


def test_integrity_error_is_wrapped_and_the_session_recovers(engine_url):
    async def work(engine):
        async with AsyncSession(engine) as session:
            session.add(Owner(id=1, name="dup"))
            await session.commit()
            session.add(Owner(id=2, name="dup"))
            with pytest.raises(IntegrityError):
                await session.commit()
            await session.rollback()
            session.add(Owner(id=3, name="fine"))
            await session.commit()
            return (await session.scalars(sa.select(Owner.name).order_by(Owner.id))).all()

    assert run(engine_url, work) == ["dup", "fine"]


def test_isolation_levels_and_autocommit(engine_url):
    async def work(engine):
        serial = engine.execution_options(isolation_level="SERIALIZABLE")
        async with serial.connect() as conn:
            level = await conn.scalar(sa.text("SHOW transaction_isolation"))
        auto = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with auto.connect() as conn:
            await conn.execute(sa.insert(Owner.__table__).values(id=5, name="auto"))
            # no commit: autocommit mode wrote it already
        async with engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(Owner.__table__))
            default = await conn.get_isolation_level()
        return level, count, default

    level, count, default = run(engine_url, work)
    assert level == "serializable"
    assert count == 1
    assert default == "READ COMMITTED"


def test_dispose_closes_the_connections(engine_url):
    async def work(engine):
        async with engine.connect() as conn:
            pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        await engine.dispose()
        checker = create_async_engine(engine_url)
        try:
            async with checker.connect() as conn:
                for _ in range(50):  # the server notices the closed socket almost at once
                    alive = await conn.scalar(
                        sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                        {"pid": pid})
                    if alive == 0:
                        return alive
                    await asyncio.sleep(0.05)
                return alive
        finally:
            await checker.dispose()

    assert run(engine_url, work) == 0
