"""The working calendar: public holidays and make-up working days (调休) as data.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE calendar_day (
            day  date PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('holiday', 'workday')),
            name text NOT NULL DEFAULT ''
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE calendar_day")
