"""A registry file imported again corrects the people it names: the audit log takes a change
made at a shell, by the system user (``origin``), as it takes one made by an account.

Revision ID: 0093
Revises: 0092
Create Date: 2026-12-06
"""

from alembic import op

revision = "0093"
down_revision = "0092"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE audit_log ALTER COLUMN account_id DROP NOT NULL,
    ADD COLUMN IF NOT EXISTS origin text,  -- kept by a downgrade
    DROP CONSTRAINT IF EXISTS audit_log_account_check,
    ADD CONSTRAINT audit_log_who_check CHECK (account_id IS NOT NULL OR origin IS NOT NULL);
CREATE INDEX audit_log_origin_idx ON audit_log (origin, id) WHERE origin IS NOT NULL;
""")


def downgrade() -> None:
    # the corrections made at a shell stay in the log, with who made them
    op.execute("""
DROP INDEX audit_log_origin_idx;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_who_check,
    ADD CONSTRAINT audit_log_account_check CHECK (account_id IS NOT NULL) NOT VALID;
""")
