"""``coverage_visited`` takes the moment it counts visits from as a visit second
(``visit_second``, migration 0028), not as a time: a statement works that second out once,
where the function worked it out again for every grid (an epoch extracted as a numeric). A
grid tile at zoom 12 took a tenth longer for it.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-01
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_COVERAGE = earlier_migration("0016_grid_coverage")


def upgrade() -> None:
    op.execute("""
        DROP FUNCTION coverage_visited(integer[], timestamptz);
        CREATE FUNCTION coverage_visited(last_visits integer[], since integer) RETURNS integer
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            RETURN cardinality(last_visits) - width_bucket(since, last_visits);""")


def downgrade() -> None:
    op.execute("DROP FUNCTION coverage_visited(integer[], integer);"
               + _COVERAGE.visited_function("integer[]", "visit_second({})"))
