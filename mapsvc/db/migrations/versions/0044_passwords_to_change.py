"""A password an administrator set (a new account's, one reset) is the account's to change
before it signs in (等保 2.0: 初始口令首次登录修改).

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-02
"""

from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE account ADD COLUMN password_to_change boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE account DROP COLUMN password_to_change")
