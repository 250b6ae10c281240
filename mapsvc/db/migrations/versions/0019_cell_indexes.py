"""The cell index also carries each case's village; the open cases have a cell index of their
own; and the cases are indexed by the local day of their report and their cell.

- With the village, the aggregated tiles of a region's command centre (or planner) count the
  region's cases from the index alone, as the whole deployment's are counted: a test on the
  village read from the table took one to two thirds more time per tile.
- The open cases' index serves the incident bins of open or overdue cases (the wall's view) at
  the cost of the open backlog, which stays about the same from year to year, instead of every
  case ever reported (about a sixth of them in the benchmark).
- By day and cell, heat over a window of days reads the cases of those days in the tile, one
  range of the index a day, instead of every case in the tile. The day is a number (days since
  1970-01-01, local time), not a date: a generic plan would otherwise take the index for any
  range of report dates (the statistics' "overdue now" read a whole year of it).

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
            WHERE status IN {OPEN};
        CREATE INDEX incident_day_cell_idx ON incident
            (((reported_at AT TIME ZONE 'Asia/Shanghai')::date - DATE '1970-01-01'), cell)
            INCLUDE (reported_at, category_code, village_code)""")


def downgrade() -> None:
    op.execute(f"""
        DROP INDEX incident_day_cell_idx, incident_open_cell_idx;
        DROP INDEX incident_cell_idx;
        CREATE INDEX incident_cell_idx ON incident (cell) INCLUDE ({CARRIED})""")
