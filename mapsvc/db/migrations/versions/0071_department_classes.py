"""The classes each department answers for in its region (负责类别, as its 权责清单 lists them):
a case whose dispatch names no department goes to the one answering for its class, or the
nearest class above it, that serves its place, a county's own before its city's; a class's
default department where none does.

Revision ID: 0071
Revises: 0070
Create Date: 2026-12-05
"""

from alembic import op

revision = "0071"
down_revision = "0070"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE department_class (
            department_code text NOT NULL REFERENCES department,
            category_code   text NOT NULL REFERENCES category,
            PRIMARY KEY (department_code, category_code)
        );
        CREATE INDEX department_class_category_idx ON department_class (category_code);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE department_class")
