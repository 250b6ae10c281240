"""The cell index also carries each case's village, so that the aggregated tiles of a region's
command centre (or planner) count the region's cases from the index alone, as the whole
deployment's are counted: a test on the village read from the table took one to two thirds
more time per tile.

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


def _cell_index(carried: str) -> None:
    op.execute("DROP INDEX incident_cell_idx")
    op.execute(f"CREATE INDEX incident_cell_idx ON incident (cell) INCLUDE ({carried})")


def upgrade() -> None:
    _cell_index(f"{CARRIED}, village_code")


def downgrade() -> None:
    _cell_index(CARRIED)
