"""The cases whose handler asked for more time, waiting on the centre to answer (延期申请待审批),
are read from an index of their own: they are a handful among a county's cases. A request
lapses once its handler has the case no more (handled, handed back, reassigned, closed): those
kept from before are cleared.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-02
"""

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE incident SET extension_request = NULL WHERE extension_request IS NOT NULL "
               "AND status NOT IN ('dispatched', 'in_progress')")
    op.execute("CREATE INDEX incident_extension_idx ON incident (id) "
               "WHERE extension_request IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX incident_extension_idx")
