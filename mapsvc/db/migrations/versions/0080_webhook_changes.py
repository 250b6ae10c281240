"""A webhook's record (webhook_event): each time an administrator made, changed, paused,
resumed, gave a new secret to or removed a webhook, who did and what changed, kept after the
webhook is gone (what it followed, where it sent, and what it had queued when it was removed).
A webhook is a flow of the cases out of the deployment: who opened it, and where to, stays
known.

Revision ID: 0080
Revises: 0079
Create Date: 2026-12-05
"""

from alembic import op

revision = "0080"
down_revision = "0079"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE webhook_event (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    webhook_id bigint NOT NULL,          -- no reference: kept when the webhook is removed
    name       text NOT NULL,            -- the webhook's name then
    account_id bigint NOT NULL REFERENCES account,
    event      text NOT NULL CHECK (event IN ('made', 'changed', 'paused', 'resumed',
                                              'new_secret', 'removed')),
    -- made or removed: what it followed and where it sent (removed: and what it had queued);
    -- changed: each field changed, from and to
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX webhook_event_webhook_idx ON webhook_event (webhook_id, id);

CREATE TRIGGER webhook_event_kept BEFORE UPDATE OR DELETE ON webhook_event
    FOR EACH ROW EXECUTE FUNCTION refuse_change('the webhooks'' record is append-only');
CREATE TRIGGER webhook_event_no_truncate BEFORE TRUNCATE ON webhook_event
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the webhooks'' record is append-only');
""")


def downgrade() -> None:
    op.execute("DROP TABLE webhook_event")
