"""Apply the Alembic migrations: the only way the schema changes."""

import importlib.util
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config


VERSIONS = Path(__file__).parent / "migrations" / "versions"


@cache
def earlier_migration(name: str):
    """The module of migration ``name`` (its file's name, as "0006_clocks_and_tallies"), for a
    later one that builds on what it wrote or puts it back; read once (each reads those it
    builds on in turn)."""
    spec = importlib.util.spec_from_file_location(f"migration_{name}", VERSIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if url:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def schema_problem(url: str) -> str | None:
    """Why this mapsvc cannot serve the database at ``url`` (its schema is not the one the
    migrations here end at: not yet upgraded, or a newer mapsvc's), or None when it can."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, pool

    script = ScriptDirectory.from_config(alembic_config())
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            at = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    head = script.get_current_head()
    if at == head:
        return None
    if at is None:
        return "the database has no schema yet: run `mapsvc db upgrade`"
    if at in {s.revision for s in script.walk_revisions()}:
        return (f"the database's schema is at migration {at} and this mapsvc needs {head}: "
                "run `mapsvc db upgrade`")
    return (f"the database's schema is at migration {at}, which this mapsvc does not know "
            "(a newer mapsvc upgraded it): serve it with that one")
