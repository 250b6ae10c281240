"""A campaign ended reopened (its end was a mistake, or the hazard came back): with a new due
date and why, by a centre over its whole region, logged as its other changes are.

Revision ID: 0081
Revises: 0080
Create Date: 2026-12-05
"""

from alembic import op

revision = "0081"
down_revision = "0080"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE campaign_log DROP CONSTRAINT campaign_log_action_check,
    ADD CONSTRAINT campaign_log_action_check CHECK (action IN ('due', 'end', 'reopen'));
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE campaign_log DROP CONSTRAINT campaign_log_action_check,
    ADD CONSTRAINT campaign_log_action_check CHECK (action IN ('due', 'end')) NOT VALID;
""")
