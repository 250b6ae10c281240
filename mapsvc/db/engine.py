"""Engines on psycopg 3: async for the service, sync for migrations and scripts."""

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mapsvc.settings import DatabaseSettings, database_url


def async_engine(url: str | None = None) -> AsyncEngine:
    settings = DatabaseSettings()
    return create_async_engine(url or database_url(), pool_size=settings.pool_size,
                               max_overflow=settings.pool_size, pool_pre_ping=True)


def sync_engine(url: str | None = None) -> Engine:
    return create_engine(url or database_url())
