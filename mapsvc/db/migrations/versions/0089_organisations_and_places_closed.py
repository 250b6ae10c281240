"""An organisation or place closed (注销、停业) keeps its record and history but leaves the lists,
the map and the counts; reopened, it is back.

Revision ID: 0089
Revises: 0088
Create Date: 2026-12-06
"""

from alembic import op

revision = "0089"
down_revision = "0088"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE organisation ADD COLUMN closed_on date;
ALTER TABLE place ADD COLUMN closed_on date;
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE place DROP COLUMN closed_on;
ALTER TABLE organisation DROP COLUMN closed_on;
""")
