"""A person's details corrected (信息更正): each field changed written to the audit log.

Revision ID: 0092
Revises: 0091
Create Date: 2026-12-06
"""

from alembic import op

revision = "0092"
down_revision = "0091"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check,
    ADD CONSTRAINT audit_log_action_check
        CHECK (action IN ('reveal', 'export', 'departure', 'departure withdrawn', 'lookup',
                          'correct'));
""")


def downgrade() -> None:
    # the corrections audited stay in the log
    op.execute("""
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check,
    ADD CONSTRAINT audit_log_action_check
        CHECK (action IN ('reveal', 'export', 'departure', 'departure withdrawn', 'lookup'))
        NOT VALID;
""")
