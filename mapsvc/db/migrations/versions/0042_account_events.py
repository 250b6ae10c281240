"""What befell each account, and from where: created, a new password, new grids, disabled,
enabled, and each sign-in, right, wrong or held back (等保 2.0's 安全审计). Append-only.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-02
"""

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE account_event (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    -- the name signed in with or administered: a failed sign-in's may be no account's
    username text NOT NULL,
    event    text NOT NULL CHECK (event IN ('created', 'new_password', 'new_grids', 'disabled',
                                            'enabled', 'signed_in', 'wrong_password',
                                            'held_back')),
    -- who administered it ('mapsvc accounts', by which system user), or the address a
    -- sign-in came from
    origin   text NOT NULL,
    detail   text NOT NULL DEFAULT ''
);
CREATE INDEX account_event_username_idx ON account_event (username, id);
CREATE TRIGGER account_event_append_only BEFORE UPDATE OR DELETE ON account_event
    FOR EACH ROW EXECUTE FUNCTION refuse_change('the account events are append-only');
CREATE TRIGGER account_event_no_truncate BEFORE TRUNCATE ON account_event
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the account events are append-only');
""")


def downgrade() -> None:
    op.execute("DROP TABLE account_event")
