"""A grid worker registers a newcomer to a household from the phone (流动人口登记): the person
is kept with who registered them, and the phone's client id, so that the registration sent again
is the one stored.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-03
"""

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE person
    ADD COLUMN client_id uuid UNIQUE,
    ADD COLUMN registered_by bigint REFERENCES account;
""")


def downgrade() -> None:
    op.execute("ALTER TABLE person DROP COLUMN registered_by, DROP COLUMN client_id")
