"""Failed sign-ins in a row, by the account name tried: past a few within a while, that name's
sign-ins are refused until the while is over (a password cannot be guessed at speed).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-02
"""

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE sign_in_failure (
            username  text PRIMARY KEY,
            failures  integer NOT NULL,
            first_at  timestamptz NOT NULL
        )""")
    op.execute("CREATE INDEX sign_in_failure_first_at ON sign_in_failure (first_at)")


def downgrade() -> None:
    op.execute("DROP TABLE sign_in_failure")
