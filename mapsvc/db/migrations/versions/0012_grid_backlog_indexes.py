"""A grid's backlog straight from two indexes: its open cases with what decides whether they
are overdue (the grid tiles count a whole tile's grids with index-only scans), and its cases by
report time (which also serves every lookup by grid).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "('reported', 'verifying', 'filed', 'dispatched', 'in_progress', 'handled', 'checking')"
# what incident_overdue (migration 0011) reads
OVERDUE_COLUMNS = ("status, suspended_at, dispatch_deadline, handling_deadline, check_deadline, "
                   "case_deadline")


def upgrade() -> None:
    op.execute(f"""
        CREATE INDEX incident_grid_open_idx ON incident (grid_id)
            INCLUDE ({OVERDUE_COLUMNS}) WHERE status IN {OPEN};
        CREATE INDEX incident_grid_reported_idx ON incident (grid_id, reported_at);
        DROP INDEX incident_grid_idx""")


def downgrade() -> None:
    op.execute("""
        CREATE INDEX incident_grid_idx ON incident (grid_id);
        DROP INDEX incident_grid_reported_idx, incident_grid_open_idx""")
