"""Standard addresses in the order one walks them: a collation comparing the numbers in an
address by their value (2号 before 10号, 9栋 before 12栋), the words as Chinese sorts them.

Revision ID: 0094
Revises: 0093
Create Date: 2026-12-06
"""

from alembic import op

revision = "0094"
down_revision = "0093"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE COLLATION address_order (provider = icu, locale = 'zh-u-kn-true')")


def downgrade() -> None:
    op.execute("DROP COLLATION address_order")
