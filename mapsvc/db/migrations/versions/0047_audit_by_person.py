"""The audit log read by person (who looked at them, and why) and by account, newest first.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-03
"""

from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, id);
""")


def downgrade() -> None:
    op.execute("DROP INDEX audit_log_entity_idx, audit_log_account_idx")
