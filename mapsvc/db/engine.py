"""Engines on psycopg 3: async for the service, sync for migrations and scripts."""

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from mapsvc.settings import DatabaseSettings, database_url

# Statements are prepared after a few runs; a generic plan then saves replanning the inlined
# locate_grid or a tile's statement on every request, which costs more than running it.
SESSION_OPTIONS = "-c plan_cache_mode=force_generic_plan"


def database_said(error: Exception) -> str:
    """What the database (or the way to it) said: the driver's error under SQLAlchemy's, its
    first line, for a log line or an answer."""
    said = str(getattr(error, "orig", None) or error).strip()
    return said.splitlines()[0] if said else type(error).__name__


def async_engine(url: str | None = None, *, autocommit: bool = False) -> AsyncEngine:
    """The service's engine. With ``autocommit`` each statement commits by itself: its
    connections are made so once, and are neither switched nor rolled back at each use (for
    reads and single-statement writes; never for work that needs a transaction)."""
    settings = DatabaseSettings()
    mode = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if autocommit else {}
    return create_async_engine(url or database_url(), pool_size=settings.pool_size,
                               max_overflow=settings.pool_size,
                               connect_args={"options": SESSION_OPTIONS}, **mode)


def conninfo(url: str | URL | None = None) -> str:
    """The database's address for psycopg itself: the live feed's listener, the tiles' pool."""
    return make_url(url or database_url()).set(drivername="postgresql").render_as_string(
        hide_password=False)


def sync_engine(url: str | None = None) -> Engine:
    return create_engine(url or database_url())


async def tried(conn: AsyncConnection, work):
    """``work(conn)`` run in a savepoint rolled back after it: what it would do, and nothing of
    it kept (a file checked before it is imported)."""
    savepoint = await conn.begin_nested()
    try:
        return await work(conn)
    finally:
        await savepoint.rollback()


async def in_transaction(work, url: str | None = None):
    """Run ``work(conn)`` in one transaction on a short-lived engine (commands and scripts)."""
    engine = async_engine(url)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()
