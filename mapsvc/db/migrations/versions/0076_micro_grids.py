"""Micro-grids (微网格, 联户): under a grid, the households of a stairwell or a lane, some
twenty or thirty, each group with a resident who knows them (联户长, its leader). A standard
address, and so its households, is in at most one; one of a grid counts for that grid only
(an address a redrawn grid moved is in none of its new grid's until placed again).

Revision ID: 0076
Revises: 0075
Create Date: 2026-12-05
"""

from alembic import op

revision = "0076"
down_revision = "0075"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE micro_grid (
    id         bigserial PRIMARY KEY,
    grid_id    bigint NOT NULL REFERENCES grid,
    serial     int NOT NULL CHECK (serial BETWEEN 1 AND 999),  -- its code: the grid's and this
    name       text NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 100),
    leader_id  bigint REFERENCES person ON DELETE SET NULL,   -- 联户长: one of its residents
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (grid_id, serial)
);
ALTER TABLE address ADD COLUMN micro_grid_id bigint REFERENCES micro_grid;
CREATE INDEX address_micro_grid_idx ON address (micro_grid_id);
""")


def downgrade() -> None:
    op.execute("ALTER TABLE address DROP COLUMN micro_grid_id")
    op.execute("DROP TABLE micro_grid")
