"""Accounts bound to a scope (a region, a set of grids or a department); who reported what.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = r"""
CREATE TABLE account (
    id              bigserial PRIMARY KEY,
    username        text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    password_hash   text NOT NULL,
    display_name    text NOT NULL DEFAULT '',
    role            text NOT NULL CHECK (role IN ('grid_worker', 'grid_chief', 'command',
                                                  'department', 'planner', 'admin')),
    region_code     text REFERENCES region,
    department_code text REFERENCES department,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'department') = (department_code IS NOT NULL)),
    CHECK (region_code IS NULL OR role IN ('command', 'planner'))
);

CREATE TABLE account_grid (
    account_id bigint NOT NULL REFERENCES account,
    grid_id    bigint NOT NULL REFERENCES grid,
    PRIMARY KEY (account_id, grid_id)
);
CREATE INDEX account_grid_grid_idx ON account_grid (grid_id);

-- who reported an incident, when an account did (the reporter may always read it)
DROP VIEW incident_doc;
ALTER TABLE incident ADD COLUMN reporter_id bigint;
CREATE INDEX incident_reporter_idx ON incident (reporter_id) WHERE reporter_id IS NOT NULL;
CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("DROP VIEW incident_doc")
    op.execute("ALTER TABLE incident DROP COLUMN reporter_id")
    op.execute("CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i")
    op.execute("DROP TABLE account_grid, account")
