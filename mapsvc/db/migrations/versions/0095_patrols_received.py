"""Patrols by when they came to the service: the wall back from a lost feed asks for those that
came meanwhile, however long before they ended.

Revision ID: 0095
Revises: 0094
Create Date: 2026-12-07
"""

from alembic import op

revision = "0095"
down_revision = "0094"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX patrol_received_idx ON patrol (received_at)")


def downgrade() -> None:
    op.execute("DROP INDEX patrol_received_idx")
