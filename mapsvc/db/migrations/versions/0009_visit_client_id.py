"""Household visits carry the phone's client id, so that a visit sent again after a lost
answer (a weak signal) is recorded once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE visit ADD COLUMN client_id uuid UNIQUE")


def downgrade() -> None:
    op.execute("ALTER TABLE visit DROP COLUMN client_id")
