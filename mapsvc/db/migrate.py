"""Apply the Alembic migrations: the only way the schema changes."""

import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config


VERSIONS = Path(__file__).parent / "migrations" / "versions"


def earlier_migration(name: str):
    """The module of migration ``name`` (its file's name, as "0006_clocks_and_tallies"), for a
    later one that builds on what it wrote or puts it back."""
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
