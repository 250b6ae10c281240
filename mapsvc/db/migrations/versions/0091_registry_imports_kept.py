"""Each registry file imported kept: when, by whom (an account and its region, or the system
user at a shell), of what kind, its name, and what became of its rows.

Revision ID: 0091
Revises: 0090
Create Date: 2026-12-06
"""

from alembic import op

revision = "0091"
down_revision = "0090"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE registry_import (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    account_id  bigint REFERENCES account,
    origin      text,
    region_code text,
    kind        text NOT NULL
                CHECK (kind IN ('addresses', 'people', 'organisations', 'things', 'places')),
    file        text,
    rows        integer NOT NULL CHECK (rows >= 0),
    stored      integer NOT NULL CHECK (stored >= 0),
    updated     integer NOT NULL CHECK (updated >= 0),
    rejected    integer NOT NULL CHECK (rejected >= 0),
    CHECK (account_id IS NOT NULL OR origin IS NOT NULL)
);
CREATE INDEX registry_import_at_idx ON registry_import (at DESC, id DESC);
CREATE TRIGGER registry_import_append_only BEFORE UPDATE OR DELETE ON registry_import
    FOR EACH ROW EXECUTE FUNCTION refuse_change('the registry import log is append-only');
CREATE TRIGGER registry_import_no_truncate BEFORE TRUNCATE ON registry_import
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the registry import log is append-only');
""")


def downgrade() -> None:
    op.execute("DROP TABLE registry_import;")
