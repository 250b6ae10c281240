"""The cell index also carries each case's village, and the open cases have a cell index of
their own.

- With the village, the aggregated tiles of a region's command centre (or planner) count the
  region's cases from the index alone, as the whole deployment's are counted: a test on the
  village read from the table took one to two thirds more time per tile.
- The open cases' index serves the incident bins of open or overdue cases (the wall's view) at
  the cost of the open backlog, which stays about the same from year to year, instead of every
  case ever reported (about a sixth of them in the benchmark).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

CARRIED = ("status, reported_at, category_code, suspended_at, dispatch_deadline, "
           "handling_deadline, check_deadline, case_deadline")
OPEN = "('reported', 'verifying', 'filed', 'dispatched', 'in_progress', 'handled', 'checking')"


def upgrade() -> None:
    op.execute(f"""
        DROP INDEX incident_cell_idx;
        CREATE INDEX incident_cell_idx ON incident (cell) INCLUDE ({CARRIED}, village_code);
        CREATE INDEX incident_open_cell_idx ON incident (cell) INCLUDE ({CARRIED}, village_code)
            WHERE status IN {OPEN}""")


def downgrade() -> None:
    op.execute(f"""
        DROP INDEX incident_open_cell_idx;
        DROP INDEX incident_cell_idx;
        CREATE INDEX incident_cell_idx ON incident (cell) INCLUDE ({CARRIED})""")
