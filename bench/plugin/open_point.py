"""The scenario point a pytest session is measuring, kept open from one test to the next.

The benchmark grid runs a point's variants one after another (family, driver, variant), so
the tests of a point can share its tables and seeded data, set up once, as `sqla-bench run`
shares them between the variants it interleaves. One point is open at a time: families
use the same table names, and a point's tables are dropped before the next one's are
made. The session's plug-in loop owns the point's connections; the last point of a test
module is closed when the module's tests are done.
"""

from __future__ import annotations

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.db.database import DEFAULT_CONNECT_TIMEOUT, server_info
from bench.db.drivers import Driver
from bench.measure.lifecycle import PointSession, hooks_engine
from bench.measure.plan import Point


class OpenPoint:
    """At most one open PointSession, with its setup engine and the server it met."""

    def __init__(self) -> None:
        self.key: tuple[str, ...] | None = None
        self.session: PointSession | None = None
        self.engine: AsyncEngine | None = None
        self.server: dict[str, str] = {}

    async def enter(self, point: Point, driver: Driver, url: URL, seed: int
                    ) -> tuple[PointSession, dict[str, str]]:
        """The session of this point, opened now unless it is the one already open."""
        key = (point.family.name, repr(sorted(point.params.items())), driver.name,
               url.render_as_string(hide_password=True), str(seed))
        if key == self.key and self.session is not None:
            return self.session, self.server
        await self.close()
        engine = hooks_engine(driver, url, DEFAULT_CONNECT_TIMEOUT)
        try:
            async with engine.connect() as conn:
                server: dict[str, str] = await conn.run_sync(server_info)
            session = PointSession(point.family, point.params, driver, url,
                                   setup_engine=engine,
                                   connect_timeout=DEFAULT_CONNECT_TIMEOUT, seed=seed)
            await session.__aenter__()
        except BaseException:
            await engine.dispose()
            raise
        self.key, self.session, self.engine, self.server = key, session, engine, server
        return session, server

    async def close(self) -> None:
        """Tear the open point down (its teardown, its tables dropped), if there is one."""
        session, engine = self.session, self.engine
        self.key = self.session = self.engine = None
        self.server = {}
        try:
            if session is not None:
                await session.__aexit__(None, None, None)
        finally:
            if engine is not None:
                await engine.dispose()

    def __repr__(self) -> str:
        return f"<OpenPoint {self.key!r}>"
