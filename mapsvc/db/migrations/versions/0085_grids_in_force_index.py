"""The grids in force found by their ids alone: a region's grids in force (the wall's panel
counting them patrolled and divided into micro-grids, the coverage and campaign figures) join
each grid to its open version, which read every version's row, geometry and all, where this
index answers from itself.

Revision ID: 0085
Revises: 0084
Create Date: 2026-12-06
"""

from alembic import op

revision = "0085"
down_revision = "0084"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX grid_version_in_force_idx ON grid_version (grid_id) "
               "WHERE valid_to IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX grid_version_in_force_idx")
