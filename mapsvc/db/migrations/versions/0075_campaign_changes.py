"""A campaign's due date moved, or the campaign ended before all was checked (the region's
centre's call, with why): the campaign keeps when it ended, and each change is logged, never
changed or deleted. Checks done before the end are still taken (sent late from a phone with no
signal); none done since.

Revision ID: 0075
Revises: 0074
Create Date: 2026-12-05
"""

from alembic import op

revision = "0075"
down_revision = "0074"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE campaign ADD COLUMN ended_at timestamptz;

CREATE TABLE campaign_log (
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaign,
    at          timestamptz NOT NULL DEFAULT now(),
    account_id  bigint NOT NULL REFERENCES account,
    action      text NOT NULL CHECK (action IN ('due', 'end')),
    due_before  date NOT NULL,
    due         date NOT NULL,
    reason      text NOT NULL CHECK (length(trim(reason)) BETWEEN 1 AND 200)
);
CREATE INDEX campaign_log_campaign_idx ON campaign_log (campaign_id, at);

CREATE TRIGGER campaign_log_kept BEFORE UPDATE OR DELETE ON campaign_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change('a campaign''s log is a record of what was done');
""")


def downgrade() -> None:
    op.execute("DROP TABLE campaign_log")
    op.execute("ALTER TABLE campaign DROP COLUMN ended_at")
