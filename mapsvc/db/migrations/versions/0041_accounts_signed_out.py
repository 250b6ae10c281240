"""An account signed out everywhere (disabled, or its password changed): the tokens issued to
it before ``signed_out_at`` no longer count.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-02
"""

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE account ADD COLUMN signed_out_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE account DROP COLUMN signed_out_at")
