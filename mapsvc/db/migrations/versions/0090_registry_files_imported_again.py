"""Registry files imported again update what they hold instead of storing it twice: an
organisation known by its unified social credit code (统一社会信用代码), a place by its code
(场所编码), a component by its ID; a component's day of removal kept; each organisation and
place imported from a file, or changed by one, kept in its record with the file and who
imported it (an account, or the system user at the shell).

Revision ID: 0090
Revises: 0089
Create Date: 2026-12-06
"""

from alembic import op

revision = "0090"
down_revision = "0089"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE organisation ADD COLUMN code text UNIQUE;
ALTER TABLE place ADD COLUMN code text UNIQUE;
ALTER TABLE thing ADD COLUMN removed_on date;
CREATE INDEX thing_removed_idx ON thing (removed_on) WHERE removed_on IS NOT NULL;
ALTER TABLE registry_change ALTER COLUMN account_id DROP NOT NULL,
    ADD COLUMN origin text, ADD COLUMN file text,
    DROP CONSTRAINT registry_change_action_check, DROP CONSTRAINT registry_change_check,
    ADD CONSTRAINT registry_change_action_check
        CHECK (action IN ('recorded', 'imported', 'changed')),
    ADD CONSTRAINT registry_change_check
        CHECK ((action IN ('recorded', 'imported')) = (before IS NULL)),
    ADD CONSTRAINT registry_change_by_check CHECK (account_id IS NOT NULL OR origin IS NOT NULL);
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE registry_change DISABLE TRIGGER registry_change_append_only;
DELETE FROM registry_change WHERE action = 'imported' OR account_id IS NULL;
ALTER TABLE registry_change ENABLE TRIGGER registry_change_append_only;
ALTER TABLE registry_change DROP CONSTRAINT registry_change_by_check,
    DROP CONSTRAINT registry_change_check, DROP CONSTRAINT registry_change_action_check,
    DROP COLUMN file, DROP COLUMN origin, ALTER COLUMN account_id SET NOT NULL,
    ADD CONSTRAINT registry_change_action_check CHECK (action IN ('recorded', 'changed')),
    ADD CONSTRAINT registry_change_check CHECK ((action = 'recorded') = (before IS NULL));
DROP INDEX thing_removed_idx;
ALTER TABLE thing DROP COLUMN removed_on;
ALTER TABLE place DROP COLUMN code;
ALTER TABLE organisation DROP COLUMN code;
""")
