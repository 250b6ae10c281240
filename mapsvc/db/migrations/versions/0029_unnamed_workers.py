"""A grid worker with no display name is named by their username among their grids' workers
(the grid tiles' ``workers``): with no name, their grids showed no worker, and the wall's
coverage layer marked them as grids with no worker.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-01
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

_WORKERS = earlier_migration("0015_grid_workers")
_REFRESH = "SELECT grid_workers_refresh(ARRAY(SELECT DISTINCT grid_id FROM account_grid));"


def upgrade() -> None:
    op.execute(_WORKERS.refresh_function("coalesce(nullif(a.display_name, ''), a.username)")
               + _REFRESH)


def downgrade() -> None:
    op.execute(_WORKERS.refresh_function("a.display_name") + _REFRESH)
