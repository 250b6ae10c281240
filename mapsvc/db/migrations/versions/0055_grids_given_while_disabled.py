"""Grids given to a disabled account start no period (migration 0053): its periods start, for
the grids it holds, when it is enabled (migration 0054), so that it answers for no case of a
grid reported while it could not work it.

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-04
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0055"
down_revision = "0054"
branch_labels = None
depends_on = None

_PERIODS = earlier_migration("0053_grid_work_periods")


def upgrade() -> None:
    op.execute(_PERIODS.given_function(
        "CREATE OR REPLACE", "given g JOIN account a ON a.id = g.account_id AND a.active"))


def downgrade() -> None:
    op.execute(_PERIODS.given_function("CREATE OR REPLACE"))
