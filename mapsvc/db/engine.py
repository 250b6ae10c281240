"""Engines on psycopg 3: async for the service, sync for migrations and scripts."""

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mapsvc.settings import DatabaseSettings, database_url


def async_engine(url: str | None = None) -> AsyncEngine:
    settings = DatabaseSettings()
    # Statements are prepared after a few runs; a generic plan then saves replanning the
    # inlined locate_grid on every request, which costs more than running it.
    return create_async_engine(url or database_url(), pool_size=settings.pool_size,
                               max_overflow=settings.pool_size,
                               connect_args={"options": "-c plan_cache_mode=force_generic_plan"})


def sync_engine(url: str | None = None) -> Engine:
    return create_engine(url or database_url())


async def in_transaction(work, url: str | None = None):
    """Run ``work(conn)`` in one transaction on a short-lived engine (commands and scripts)."""
    engine = async_engine(url)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()
