"""Alembic environment: migrations run on the database the settings point at."""

from alembic import context
from sqlalchemy import create_engine, pool

from mapsvc.db.schema import metadata
from mapsvc.settings import database_url

config = context.config
url = config.attributes.get("url") or database_url()

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
