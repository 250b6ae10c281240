"""Cases by the time they were closed (closed cases only: a new report adds nothing to it), for
the wall screen's "closed today" without reading every case.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX incident_closed_at_idx ON incident (closed_at) "
               "WHERE closed_at IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX incident_closed_at_idx")
