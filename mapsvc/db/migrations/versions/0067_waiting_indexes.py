"""The cases sent whose time to be taken on (签收), or to have their caller told (响应), has not
yet come nor been met: an index of each, by that time, so that the figures find the few waiting
now without reading every case being handled.

Revision ID: 0067
Revises: 0066
Create Date: 2026-12-05
"""

from alembic import op

revision = "0067"
down_revision = "0066"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE INDEX incident_accept_waiting_idx ON incident (accept_deadline)
            WHERE status = 'dispatched' AND accepted_at IS NULL AND accept_deadline IS NOT NULL;
        CREATE INDEX incident_response_waiting_idx ON incident (response_deadline)
            WHERE status IN ('filed', 'dispatched', 'in_progress') AND contacted_at IS NULL
              AND exempted_at IS NULL AND response_deadline IS NOT NULL""")


def downgrade() -> None:
    op.execute("DROP INDEX incident_accept_waiting_idx, incident_response_waiting_idx")
