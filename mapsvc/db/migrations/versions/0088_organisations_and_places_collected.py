"""Organisations and places recorded and corrected one at a time from the field (动态采集):
each sent once however often (its client id), with who recorded it; every recording and change
kept with what it was before and after.

Revision ID: 0088
Revises: 0087
Create Date: 2026-12-06
"""

from alembic import op

revision = "0088"
down_revision = "0087"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE organisation ADD COLUMN client_id uuid UNIQUE,
    ADD COLUMN recorded_by bigint REFERENCES account;
ALTER TABLE place ADD COLUMN client_id uuid UNIQUE,
    ADD COLUMN recorded_by bigint REFERENCES account;
CREATE TABLE registry_change (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    account_id bigint NOT NULL REFERENCES account,
    layer      text NOT NULL CHECK (layer IN ('organisation', 'place')),
    entity_id  bigint NOT NULL,
    action     text NOT NULL CHECK (action IN ('recorded', 'changed')),
    before     jsonb,
    after      jsonb NOT NULL,
    CHECK ((action = 'recorded') = (before IS NULL))
);
CREATE INDEX registry_change_entity_idx ON registry_change (layer, entity_id, id);
CREATE TRIGGER registry_change_append_only BEFORE UPDATE OR DELETE ON registry_change
    FOR EACH ROW EXECUTE FUNCTION refuse_change('the registry change log is append-only');
CREATE TRIGGER registry_change_no_truncate BEFORE TRUNCATE ON registry_change
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the registry change log is append-only');
""")


def downgrade() -> None:
    op.execute("""
DROP TABLE registry_change;
ALTER TABLE place DROP COLUMN recorded_by, DROP COLUMN client_id;
ALTER TABLE organisation DROP COLUMN recorded_by, DROP COLUMN client_id;
""")
