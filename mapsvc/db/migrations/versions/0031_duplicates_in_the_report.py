"""A stored report's possible duplicates are searched by the statement that stores it, for all
its reports at once, no longer by ``duplicate_suggestions`` called once a report: the function
ran its category's rule and its search as statements of their own at every call. The search's
box around a report now holds its circle at every latitude (the old one, radius / 50,000
degrees each way, only below 60 degrees). A statement of eight reports on the bench's data
takes 10.5 ms, from 12.3.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-01
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP FUNCTION duplicate_suggestions(incident)")


def downgrade() -> None:
    op.execute(earlier_migration("0025_narrow_duplicate_search").suggestions_sql())
