"""A case's JSON works out its clocks once, and the clocks are one expression PostgreSQL
inlines.

incident_json reads its clocks through a subquery (``FROM (SELECT incident_clocks(i) AS c) k``)
and names them three times; PostgreSQL pulls such a subquery up into its query, so the clocks
were worked out three times for every case. ``OFFSET 0`` keeps the subquery whole. And
incident_clocks, a PL/pgSQL function since 0013, is written as one expression (its colour is
incident_colour's, 0021), which the query calling it inlines instead of calling it. A case's
JSON took about 135 µs, most of what a page of cases costs; now about 85 µs.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

RUNNING = earlier_migration("0006_clocks_and_tallies").RUNNING  # when each clock runs


def _clock(stage: str, running: str) -> str:
    """A clock's deadline and colour; the colour null when the clock is not running."""
    return (f"'{stage}', jsonb_build_object('deadline', i.{stage}_deadline, 'colour', "
            f"CASE WHEN {running} AND i.{stage}_deadline IS NOT NULL THEN CASE "
            f"WHEN coalesce(i.suspended_at, now()) > i.{stage}_deadline THEN 'red' "
            f"WHEN coalesce(i.suspended_at, now()) >= i.{stage}_warn_at THEN 'yellow' "
            f"ELSE 'green' END END)")


CLOCKS = ("SELECT jsonb_build_object("
          + ", ".join(_clock(stage, running) for stage, running in RUNNING.items())
          + ", 'colour', incident_colour(i))")


def _clocks_function(language: str, body: str) -> None:
    op.execute(f"CREATE OR REPLACE FUNCTION incident_clocks(i incident) RETURNS jsonb "
               f"LANGUAGE {language} STABLE PARALLEL SAFE AS $$ {body} $$")


def _replace_in_json(old: str, new: str) -> None:
    op.execute(f"""
        DO $$ BEGIN
            EXECUTE replace(pg_get_functiondef('incident_json(incident)'::regprocedure),
                            '{old}', '{new}');
        END $$""")


def upgrade() -> None:
    _clocks_function("sql", CLOCKS)
    _replace_in_json("AS c) k", "AS c OFFSET 0) k")


def downgrade() -> None:
    _replace_in_json("AS c OFFSET 0) k", "AS c) k")
    _clocks_function("plpgsql", f"BEGIN RETURN ({CLOCKS}); END")
